import Engine
import Foundation
import HTTPTypes
import Hummingbird

// The operations page: how far the log has come, how far each view follows it, and the mail
// outbox's pending and refused mails, a refused one sent again at the press of a button.
extension WebConsole {
    static let outboxRows = 100

    func operationsPage(_ visit: Visit, notice: String? = nil, error: String? = nil) async throws -> Response {
        let labels = visit.labels
        let head = try await fetchHead()
        let views: [[String: Any]] = (operations?.lags() ?? []).map { view in
            [
                "name": view.view, "checkpoint": head >= view.lag ? head - view.lag : 0, "lag": view.lag,
                "behind": view.lag > 0,
            ]
        }
        var context: [String: Any] = [
            "head": head, "views": views, "hasViews": !views.isEmpty,
            "hasNotice": notice != nil, "notice": notice ?? "", "hasError": error != nil, "error": error ?? "",
        ]
        if let outbox = operations?.outbox {
            let counts = try outbox.counts()
            func rows(_ states: Set<OutboxEntry.Status>) throws -> [[String: Any]] {
                try outbox.entries(in: states, limit: Self.outboxRows).map { entry in
                    [
                        "id": entry.id, "to": (entry.to + entry.cc).joined(separator: ", "), "subject": entry.subject,
                        "attempts": entry.attempts, "lastError": entry.lastError ?? "",
                        "trigger": entry.trigger, "time": Self.millisText(entry.eventMillis),
                        "resendable": entry.trigger != Outbox.signInLinkTrigger
                            && !(entry.subject == "(purged)" && entry.body.isEmpty),
                    ]
                }
            }
            let pending = try rows([.pending, .sending])
            let failed = try rows([.failed])
            context["outbox"] =
                [
                    "pendingCount": counts.pending + counts.sending, "failedCount": counts.failed,
                    "deliveredCount": counts.delivered, "pending": pending, "failed": failed,
                    "hasPending": !pending.isEmpty, "hasFailed": !failed.isEmpty,
                ] as [String: Any]
        }
        return page("operations", title: labels["operations"], context, visit)
    }

    func resendMail(_ id: String, _ visit: Visit) async throws -> Response {
        let labels = visit.labels
        guard let outbox = operations?.outbox else { throw ConsoleRefusal.notFound }
        switch try await outbox.resend(id: id) {
        case .requeued(let entry):
            logger.info("outbox entry requeued", metadata: ["entry": "\(entry.id)"])
            return try await operationsPage(visit, notice: labels["ops_requeued"])
        case .notFound: throw ConsoleRefusal.notFound
        case .notFailed: return try await operationsPage(visit, error: labels["ops_not_failed"])
        case .notResendable: return try await operationsPage(visit, error: labels["ops_not_resendable"])
        }
    }

    /// Milliseconds since 1970 as `2026-12-06 20:30 UTC`.
    static func millisText(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return shortTime(formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000)))
    }
}
