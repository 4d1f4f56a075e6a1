import Foundation

extension LMDBEventStore: GroupCommitTarget {
    package func publish(head: UInt64, groupSize: Int) {
        notifier.publish(head, groupSize: groupSize)
    }

    package func writerIdle() {
        noticeForeignAppends()
    }

    /// Wakes waiting tails for what other processes appended (the writer thread calls it when idle).
    func noticeForeignAppends() {
        guard notifier.hasWaiters, let last = try? lastPosition(), last > notifier.head else { return }
        notifier.publish(last, groupSize: 0)
    }

    public func waitForAppend(after position: UInt64) async throws {
        if committer != nil {
            try await notifier.wait(beyond: position)
        } else {
            // Another process writes: follow by polling the head, which is one cheap read.
            while try lastPosition() <= position {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    public func subscribe(after position: UInt64) -> EventSubscription {
        EventSubscription(
            after: position, fetch: { [self] from, limit in try read(from: from, limit: limit) },
            waitBeyond: { [self] position in try await waitForAppend(after: position) })
    }
}
