import Engine
import ServiceLifecycle
import Subscriptions

/// The read side the HTTP service answers from: the queries, the services that keep them current
/// (run and stopped with the server), and how far each view lags behind the log (for `/metrics`).
public struct ReadSide: Sendable {
    public var queries: any ReadQueries
    var services: [any Service]
    var lag: @Sendable () -> [(view: String, lag: UInt64)]
    /// Consumer groups and webhooks; without them their routes answer 503 `not_configured`.
    public var subscriptions: Subscriptions? = nil
    /// The notification outbox; without it the outbox routes answer 503 `not_configured`.
    public var outbox: Outbox? = nil

    /// Folds threads straight from the log (`LogFoldQueries`): always current, no views to run.
    public static func logFold(handler: CommandHandler) -> ReadSide {
        ReadSide(queries: LogFoldQueries(handler: handler), services: [], lag: { [] })
    }

    /// The same read side with more services to run and stop with the server (retention, mail).
    public func adding(_ extra: [any Service]) -> ReadSide {
        ReadSide(queries: queries, services: services + extra, lag: lag, subscriptions: subscriptions, outbox: outbox)
    }

    /// The same read side with consumer groups and webhooks.
    public func with(_ subscriptions: Subscriptions) -> ReadSide {
        var side = self
        side.subscriptions = subscriptions
        return side
    }

    /// The same read side reporting one more projection's lag (the notification outbox).
    public func reporting(_ name: String, lag extra: @escaping @Sendable () throws -> UInt64) -> ReadSide {
        let lag = self.lag
        return ReadSide(
            queries: queries, services: services,
            lag: { lag() + ((try? extra()).map { [(view: name, lag: $0)] } ?? []) }, subscriptions: subscriptions,
            outbox: outbox)
    }

    /// The same read side with the notification outbox (its routes and the console's operations page).
    public func with(_ outbox: Outbox) -> ReadSide {
        var side = self
        side.outbox = outbox
        return side
    }

    /// How far each view (and the outbox's derivation) lags behind the log.
    public func lags() -> [(view: String, lag: UInt64)] { lag() }

    /// The projection-backed read models; their runner runs beside the server.
    public static func projected(_ models: ReadModels) -> ReadSide {
        ReadSide(
            queries: models, services: [models],
            lag: { ((try? models.status()) ?? []).map { (view: $0.name.rawValue, lag: $0.lag) } })
    }
}
