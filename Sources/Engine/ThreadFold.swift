import EventLog
import Messaging
import Synchronization

/// A thread's state folded from its stream's recorded events: the one fold every reader of threads
/// uses (the command handler, the notification projector, the log-fold read side, the read models'
/// rebuild and runner through `RecordedEvent.decodedUnlessPurged`).
///
/// The one rule for records retention erased: they are skipped, though their version still counts;
/// the `thread.purged` record that follows them carries what remains of the thread, so a fold over the
/// erased stream reaches the same state as a fold over the stream before the erasure.
public struct ThreadFold: Sendable {
    /// The thread as folded so far; `nil` before its `thread.opened` (or `thread.purged`).
    public private(set) var state: ThreadState?
    /// The stream version of the last record folded (erased records included).
    public private(set) var version: UInt64 = 0
    /// The log position of the last record folded.
    public private(set) var position: UInt64 = 0

    public init() {}

    /// Folds the stream's next record in.
    public mutating func apply(_ record: RecordedEvent) throws {
        version = record.version
        position = record.position
        guard let decoded = try record.decodedUnlessPurged() else { return }
        state = ThreadState.evolve(state.take(), decoded)
    }

    /// Folds the stream's next event in, already decoded (one just appended, say).
    public mutating func apply(_ recorded: Recorded<Event>) {
        version = recorded.version
        position = recorded.position
        state = ThreadState.evolve(state.take(), recorded)
    }

    /// The state after `records`, a stream's records in order.
    public static func fold(_ records: some Sequence<RecordedEvent>) throws -> ThreadState? {
        // Decoded first, then folded by `ThreadState.fold`: a fold through a local `ThreadFold` here
        // is miscompiled by the optimizer (Swift 6.3, ownership of the state handed to `evolve`).
        var decoded: [Recorded<Event>] = []
        for record in records {
            if let event = try record.decodedUnlessPurged() { decoded.append(event) }
        }
        return ThreadState.fold(decoded)
    }
}

/// What a `FoldCache` keeps per stream: a fold that knows how far it got.
protocol CachedFold {
    init()
    /// The stream version the fold reached.
    var version: UInt64 { get }
}

/// Folds kept between uses, by stream, so each use reads only what its stream gained since. The one
/// cache policy of the folds: at most `capacity` streams; when it is full every entry is dropped (a
/// dropped fold is rebuilt from its stream at its next use), which needs no bookkeeping per use.
final class FoldCache<Fold: CachedFold>: Sendable {
    static var capacity: Int { 4096 }

    /// A fold held by reference, so the map moves a pointer rather than a folded thread.
    ///
    /// `@unchecked Sendable`: a slot is only touched under the map's lock or by the one caller that
    /// took it out of the map.
    private final class Slot: @unchecked Sendable {
        var fold = Fold()
    }

    private let slots = Mutex<[String: Slot]>([:])

    /// The fold of `stream` after `refresh` brought it forward. The fold is taken out of the cache while
    /// it grows (in place, outside the lock), and put back unless another caller cached a longer one.
    func load(_ stream: String, refresh: (inout Fold) throws -> Void) rethrows -> Fold {
        let slot = slots.withLock { $0.removeValue(forKey: stream) } ?? Slot()
        try refresh(&slot.fold)
        // Copied before the slot is shared again.
        let result = slot.fold
        slots.withLock { slots in
            if slots.count >= Self.capacity { slots.removeAll(keepingCapacity: true) }
            if (slots[stream]?.fold.version ?? 0) <= result.version { slots[stream] = slot }
        }
        return result
    }

    /// `load(_:refresh:)` for a refresh that awaits its reads.
    func load(_ stream: String, refresh: (inout Fold) async throws -> Void) async throws -> Fold {
        let slot = slots.withLock { $0.removeValue(forKey: stream) } ?? Slot()
        var fold = slot.fold
        try await refresh(&fold)
        slot.fold = fold
        slots.withLock { slots in
            if slots.count >= Self.capacity { slots.removeAll(keepingCapacity: true) }
            if (slots[stream]?.fold.version ?? 0) <= fold.version { slots[stream] = slot }
        }
        return fold
    }

    /// Changes the cached fold of `stream` in place, when there is one.
    func update(_ stream: String, _ body: (inout Fold) -> Void) {
        slots.withLock { slots in
            guard let slot = slots[stream] else { return }
            body(&slot.fold)
        }
    }

    /// Drops the cached fold of `stream`.
    func forget(_ stream: String) {
        _ = slots.withLock { $0.removeValue(forKey: stream) }
    }
}
