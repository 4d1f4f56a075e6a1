import Engine
import Foundation
import Hummingbird

// The administrator's view of the notification outbox: its entries by state, and sending a refused
// mail again.
extension APIServer {
    var outbox: Outbox {
        get throws {
            guard let outbox = readSide.outbox else {
                throw APIError(
                    status: .serviceUnavailable, code: "not_configured",
                    message: "The outbox needs the service's view store.")
            }
            return outbox
        }
    }

    /// `GET /v1/outbox?state=pending|failed|delivered|all&limit=N`: entries newest first, with the
    /// counts per state. `pending` includes those a sender is delivering right now.
    func listOutbox(_ request: Request) throws -> Response {
        let outbox = try outbox
        let parameters = request.uri.queryParameters
        let states: Set<OutboxEntry.Status>
        switch parameters.get("state") ?? "all" {
        case "pending": states = [.pending, .sending]
        case "failed": states = [.failed]
        case "delivered": states = [.delivered]
        case "all": states = [.pending, .sending, .failed, .delivered]
        default:
            throw APIError.unprocessable("invalid_parameter", "state is pending, failed, delivered or all.")
        }
        var limit = 100
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.unprocessable("invalid_parameter", "limit is an integer from 1 to 1000.")
            }
            limit = value
        }
        return try json(
            OutboxAnswer(
                items: try outbox.entries(in: states, limit: limit).map(OutboxItem.init), counts: try outbox.counts()))
    }

    /// `POST /v1/outbox/{id}/resend`: a failed entry back to pending, its attempts reset.
    func resendOutbox(_ route: MatchedRoute) async throws -> Response {
        let id = try parameter("id", route)
        switch try await outbox.resend(id: id) {
        case .requeued(let entry):
            logger.info("outbox entry requeued", metadata: ["entry": "\(entry.id)"])
            return try json(OutboxItem(entry))
        case .notFound:
            throw APIError.notFound
        case .notFailed(let status):
            throw APIError(
                status: .conflict, code: "not_failed",
                message: "Only a failed mail is sent again; this one is \(status.rawValue).")
        case .notResendable:
            throw APIError(
                status: .conflict, code: "not_resendable",
                message: "This mail's content is gone (a purged thread or a spent sign-in link).")
        }
    }
}

struct OutboxItem: Codable, Sendable {
    var id: String
    var trigger: String
    var thread: String?
    var to: [String]
    var cc: [String]
    var subject: String
    var status: String
    var attempts: Int
    var lastError: String?
    var eventTime: String

    init(_ entry: OutboxEntry) {
        id = entry.id
        trigger = entry.trigger
        thread = entry.thread?.rawValue
        to = entry.to
        cc = entry.cc
        subject = entry.subject
        // A claimed entry is still pending from the outside: it has not gone out yet.
        status = entry.status == .sending ? OutboxEntry.Status.pending.rawValue : entry.status.rawValue
        attempts = entry.attempts
        lastError = entry.lastError
        eventTime = OutboxItem.iso(entry.eventMillis)
    }

    static func iso(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

struct OutboxAnswer: Codable, Sendable {
    var items: [OutboxItem]
    var counts: Outbox.Counts
}
