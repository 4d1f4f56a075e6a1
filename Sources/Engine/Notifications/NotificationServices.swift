import EventLog
import Foundation
import Logging
import ServiceLifecycle

/// The notification services of the server, in one call: the outbox projector, the SMTP sender (only
/// when mail is configured; otherwise entries wait in the outbox, and this says so) and the digest
/// scheduler.
public enum NotificationServices {
    /// The outbox projector alone, for callers that must bring the outbox up to the log (retention
    /// before it compacts).
    public static func projector(
        log: any EventStore, views: ViewStore, environment: [String: String], dataRoot: String? = nil, logger: Logger
    ) throws -> NotificationProjector {
        let configuration = try NotificationConfiguration(environment: environment, dataRoot: dataRoot)
        return NotificationProjector(log: log, outbox: try Outbox(views: views), configuration: configuration, logger: logger)
    }

    public static func make(
        log: any EventStore, views: ViewStore, readModels: ReadModels, handler: CommandHandler,
        environment: [String: String], dataRoot: String? = nil, logger: Logger
    ) throws -> [any Service] {
        let configuration = try NotificationConfiguration(environment: environment, dataRoot: dataRoot)
        return try make(
            log: log, views: views, readModels: readModels, handler: handler, configuration: configuration,
            logger: logger
        )
    }

    public static func make(
        log: any EventStore, views: ViewStore, readModels: ReadModels, handler: CommandHandler,
        configuration: NotificationConfiguration, logger: Logger
    ) throws -> [any Service] {
        let outbox = try Outbox(views: views)
        var services: [any Service] = [
            NotificationProjector(log: log, outbox: outbox, configuration: configuration, logger: logger),
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
        return services
    }
}
