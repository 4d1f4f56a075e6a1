import EventLog
import Foundation
import Logging
import ServiceLifecycle

/// The notification side of the server, built once: one outbox, the one projector that derives it, the
/// SMTP sender (only when mail is configured; otherwise entries wait in the outbox) and the digest
/// scheduler. The outbox routes, the operations page and `/metrics` use the same outbox and projector.
public struct NotificationServices: Sendable {
    /// The outbox the projector derives and the sender delivers.
    public let outbox: Outbox
    /// The outbox projector (its lag for `/metrics`; retention brings it up to the log before compacting).
    public let projector: NotificationProjector
    /// What runs beside the server: the projector, the digest scheduler and, with mail, the sender.
    public let services: [any Service]

    /// The outbox projector alone, for callers that must bring the outbox up to the log (retention
    /// before it compacts).
    public static func projector(
        log: any EventStore, views: ViewStore, configuration: NotificationConfiguration, logger: Logger
    ) throws -> NotificationProjector {
        NotificationProjector(log: log, outbox: try Outbox(views: views), configuration: configuration, logger: logger)
    }

    public init(
        log: any EventStore, views: ViewStore, readModels: ReadModels, handler: CommandHandler,
        configuration: NotificationConfiguration, logger: Logger
    ) throws {
        outbox = try Outbox(views: views)
        projector = NotificationProjector(log: log, outbox: outbox, configuration: configuration, logger: logger)
        var services: [any Service] = [
            projector,
            DigestService(
                digests: Digests(models: readModels, handler: handler, logger: logger),
                checkInterval: configuration.digestCheckInterval),
        ]
        if let smtp = configuration.smtp {
            services.append(
                OutboxSender(outbox: outbox, handler: handler, smtp: smtp, configuration: configuration, logger: logger)
            )
            logger.info("mail goes out through \(smtp)")
        } else {
            // The caller says so to the operator; this is for the logs.
            logger.debug("no SMTP sender: notifications wait in the outbox")
        }
        self.services = services
    }
}
