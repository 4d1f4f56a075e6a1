import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle
import Synchronization

extension ReadModels: Service {
    /// Rebuilds views of an older version, catches up, then follows the log until shutdown.
    public func run() async throws {
        try preparePointers()
        let stale = try staleViews()
        if !stale.isEmpty {
            logger.info("rebuilding views of an older version", metadata: ["views": "\(stale.map(\.rawValue).sorted())"])
            try rebuild(stale)
        }
        await cancelWhenGracefulShutdown {
            let lane = SerialThread.catchUp("threadlog.views")
            // A failed batch (a full disk, say) is retried every second: logged when it starts and ends.
            var failing: String?
            following: while !Task.isCancelled {
                do {
                    let started = ContinuousClock.now
                    let reached = try await lane.run { try self.catchUp() }
                    if failing != nil {
                        self.logger.notice("projection resumed", metadata: ["position": "\(reached)"])
                        failing = nil
                    }
                    try await self.log.waitForAppend(after: reached)
                    await self.pacer.pause(since: started)
                } catch is CancellationError {
                    break following
                } catch let error as EventLogError where error.code == .closed {
                    return
                } catch {
                    if failing != "\(error)" {
                        self.logger.error("projection failed; retrying every second", metadata: ["error": "\(error)"])
                        failing = "\(error)"
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            // Stopping: whatever the pacing held back is applied, so the views stop at the log's head.
            do {
                try await lane.run { _ = try self.catchUp() }
            } catch {
                self.logger.error("the last catch-up before stopping failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
