import Dispatch

/// A serial queue of its own for a projector's catch-up. A catch-up runs LMDB transactions and folds
/// for as long as the log grows, which would hold one of the few threads that serve requests; on its
/// own lane it takes turns with them through the kernel's scheduler instead.
final class BlockingLane: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
