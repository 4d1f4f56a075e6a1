import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle
import Synchronization

extension ReadModels: Service {
    /// Rebuilds views of an older version, catches up, then follows the log until shutdown, under the
    /// projectors' one failure policy (`ProjectorService`).
    public func run() async throws {
        try await service().run()
    }

    /// The runner as a `ProjectorService` named `views`; `catchUp` wraps the views' catch-up (the
    /// tests make it fail on purpose).
    func service(
        backoff: ProjectorService.Backoff = ProjectorService.Backoff(),
        catchUp: @escaping @Sendable (ReadModels) throws -> UInt64 = { try $0.catchUp() }
    ) -> ProjectorService {
        ProjectorService(
            name: "views", log: log, pacer: pacer, backoff: backoff, logger: logger,
            prepare: {
                try self.preparePointers()
                let stale = try self.staleViews()
                if !stale.isEmpty {
                    self.logger.info(
                        "rebuilding views of an older version", metadata: ["views": "\(stale.map(\.rawValue).sorted())"])
                    try self.rebuild(stale)
                }
            },
            catchUp: { try catchUp(self) })
    }
}
