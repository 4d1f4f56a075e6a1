/// A log whose payloads retention can erase in place: the records keep their envelopes and payload
/// digests (the hash chain still verifies), and `compact()` rewrites the storage so that no old copy of
/// an erased payload remains in its files.
public protocol ErasableLog: EventStore {
    /// Erases the payloads of the events at `positions`; returns how many records changed.
    func erase(positions: [UInt64]) throws -> Int
    /// Rewrites the storage without the erased bytes; false when it must wait (another process has it open).
    @discardableResult
    func compact() throws -> Bool
}

extension LMDBEventStore: ErasableLog {}
