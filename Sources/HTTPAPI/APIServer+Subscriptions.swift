import Engine
import Foundation
import Hummingbird
import Messaging
import ServiceLifecycle
import Subscriptions
import Synchronization

struct CreateGroupBody: Codable {
    var name: String
    var types: [String]?
    var from: UInt64?
    var ackTimeoutMs: Int?
    var maxInFlight: Int?
}

struct AckBody: Codable {
    var positions: [UInt64]
    var member: String?
}

struct CreateWebhookBody: Codable {
    var url: String
    var secret: String
    var types: [String]?
    var from: UInt64?
    var timeoutMs: Int?
    var maxFailures: Int?
}

/// A webhook as answered: everything but its secret.
struct WebhookAnswer: Codable {
    var id: String
    var url: String
    var types: [String]
    var state: String
    var createdAt: String
    var delivered: UInt64
    var failures: Int
    var maxFailures: Int
    var timeoutMs: Int
    var lastError: String?
    var pausedAt: String?

    init(_ hook: WebhookRecord) {
        id = hook.id
        url = hook.url
        types = hook.types
        state = hook.state.rawValue
        createdAt = hook.createdAt
        delivered = hook.delivered
        failures = hook.failures
        maxFailures = hook.maxFailures
        timeoutMs = hook.timeoutMillis
        lastError = hook.lastError
        pausedAt = hook.pausedAt
    }
}

struct GroupList: Codable { var groups: [GroupStatus] }
struct WebhookList: Codable { var webhooks: [WebhookAnswer] }
struct DeliveryList: Codable { var deliveries: [DeliveryRecord] }
struct Deleted: Codable { var id: String; var deleted: Bool }

// Consumer groups (`/v1/consumer-groups`) and webhooks (`/v1/webhooks`): their records, checkpoints
// and delivery state live beside the views of this node, not in the log.
extension APIServer {
    private var subscriptions: Subscriptions {
        get throws {
            guard let subscriptions = readSide.subscriptions else {
                throw APIError(
                    status: .serviceUnavailable, code: "not_configured",
                    message: "Consumer groups and webhooks need the service's view store.")
            }
            return subscriptions
        }
    }

    private static let knownTypes = EventType.allCases.map(\.rawValue)

    private func validTypes(_ types: [String]?) throws -> [String] {
        let types = types ?? []
        guard types.count <= 100 else { throw APIError.unprocessable("invalid_field", "types holds at most 100 entries.") }
        for type in types where !EventTypeFilter.isValid(type, known: Self.knownTypes) {
            throw APIError.unprocessable(
                "invalid_field", "types: '\(type.prefix(100))' is not an event type or a family such as 'thread.*'.")
        }
        return types
    }

    private func bounded(_ value: Int?, _ name: String, _ range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let value else { return fallback }
        guard range.contains(value) else {
            throw APIError.unprocessable("invalid_field", "\(name) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return value
    }

    private static func isName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }

    private static func now() -> String { ISOTime.format(millis: Int64(Date().timeIntervalSince1970 * 1000)) }

    private static let groupNotFound = APIError(
        status: .notFound, code: "group_not_found", message: "There is no consumer group of that name.")
    private static let webhookNotFound = APIError(
        status: .notFound, code: "webhook_not_found", message: "There is no webhook with that id.")

    // MARK: Consumer groups

    func createGroup(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreateGroupBody.self, request)
        guard Self.isName(body.name) else {
            throw APIError.unprocessable("invalid_id", "A group name has 1 to 64 letters, digits, '.', '-' or '_'.")
        }
        let types = try validTypes(body.types)
        let head = try await log.lastPosition()
        let from = body.from ?? 1
        guard from >= 1, from <= head + 1 else {
            throw APIError.unprocessable("invalid_field", "from must be a position from 1 to \(head + 1).")
        }
        let record = ConsumerGroupRecord(
            name: body.name, types: types, start: from, checkpoint: from - 1,
            ackTimeoutMillis: try bounded(body.ackTimeoutMs, "ackTimeoutMs", 100...3_600_000, default: 30_000),
            maxInFlight: try bounded(body.maxInFlight, "maxInFlight", 1...10_000, default: 100), createdAt: Self.now())
        let groups = try subscriptions.groups
        guard try await groups.create(record) else {
            throw APIError(status: .conflict, code: "duplicate_id", message: "A consumer group '\(body.name)' exists.")
        }
        guard let dispatcher = try groups.dispatcher(record.name) else { throw Self.groupNotFound }
        return try json(await dispatcher.status(), status: .created)
    }

    func listGroups(_ caller: Caller) async throws -> Response {
        let groups = try subscriptions.groups
        var answers: [GroupStatus] = []
        for record in try groups.store.groups() {
            if let dispatcher = try groups.dispatcher(record.name) { answers.append(await dispatcher.status()) }
        }
        return try json(GroupList(groups: answers))
    }

    private func dispatcher(_ route: MatchedRoute) throws -> GroupDispatcher {
        guard let dispatcher = try subscriptions.groups.dispatcher(try parameter("id", route)) else {
            throw Self.groupNotFound
        }
        return dispatcher
    }

    func getGroup(_ caller: Caller, _ route: MatchedRoute) async throws -> Response {
        try json(await dispatcher(route).status())
    }

    func deleteGroup(_ caller: Caller, _ route: MatchedRoute) async throws -> Response {
        let name = try parameter("id", route)
        guard try await subscriptions.groups.delete(name) else { throw Self.groupNotFound }
        return try json(Deleted(id: name, deleted: true))
    }

    func ackGroup(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let body = try await body(AckBody.self, request)
        guard body.positions.count <= 10_000 else {
            throw APIError.unprocessable("invalid_field", "positions holds at most 10000 entries.")
        }
        if let member = body.member, !Self.isName(member) {
            throw APIError.unprocessable("invalid_field", "member has 1 to 64 letters, digits, '.', '-' or '_'.")
        }
        do {
            return try json(try await dispatcher(route).ack(body.positions, member: body.member))
        } catch GroupFailure.deleted {
            throw Self.groupNotFound
        }
    }

    /// A member's events: with `Accept: text/event-stream` a stream (the member leaves when it
    /// closes), else one long poll answering `{events, member}` once some are there or after `wait`
    /// seconds.
    func groupEvents(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let dispatcher = try dispatcher(route)
        let parameters = request.uri.queryParameters
        let member = parameters.get("member") ?? (request.headers[.accept]?.contains("text/event-stream") == true
            ? "m-" + Tokens.generate().prefix(12) : "default")
        guard Self.isName(member) else {
            throw APIError.unprocessable("invalid_parameter", "member has 1 to 64 letters, digits, '.', '-' or '_'.")
        }
        func integer(_ name: String, _ range: ClosedRange<Int>, _ fallback: Int) throws -> Int {
            guard let text = parameters.get(name) else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw APIError.unprocessable(
                    "invalid_parameter", "\(name) must be between \(range.lowerBound) and \(range.upperBound).")
            }
            return value
        }
        let max = try integer("max", 1...1000, 100)
        let wait = try integer("wait", 0...30, 0)
        if request.headers[.accept]?.contains("text/event-stream") == true {
            // Refuses a second stream under one member's name before the stream's head is sent.
            do {
                try await dispatcher.connect(member: member)
            } catch GroupFailure.memberStreaming {
                throw APIError(
                    status: .conflict, code: "member_connected", message: "Member '\(member)' already has a stream open.")
            }
            return groupStream(request: request, dispatcher: dispatcher, member: member, max: max)
        }
        do {
            let events = try await dispatcher.next(member: member, max: max, wait: .seconds(wait))
            var out: [UInt8] = Array(#"{"events":["#.utf8)
            for (index, event) in events.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                event.appendEnvelope(to: &out)
            }
            out.append(contentsOf: #"],"member":"#.utf8)
            JSONText.appendString(member, to: &out)
            out.append(UInt8(ascii: "}"))
            return bytes(out)
        } catch GroupFailure.deleted {
            throw Self.groupNotFound
        }
    }

    private func groupStream(request: Request, dispatcher: GroupDispatcher, member: String, max: Int) -> Response {
        let heartbeat = configuration.heartbeat
        let body = ResponseBody { writer in
            let stopping = Atomic<Bool>(false)
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withGracefulShutdownHandler {
                        try await writer.write(ByteBuffer(string: ": threadlog group \(dispatcher.name) member \(member)\n\n"))
                        var frames: [UInt8] = []
                        var idleSince = ContinuousClock.now
                        while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
                            let events = try await dispatcher.next(
                                member: member, max: max, wait: min(heartbeat, .seconds(1)))
                            guard !events.isEmpty else {
                                if ContinuousClock.now - idleSince >= heartbeat {
                                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                                    idleSince = ContinuousClock.now
                                }
                                continue
                            }
                            idleSince = ContinuousClock.now
                            frames.removeAll(keepingCapacity: true)
                            for event in events { event.appendFrame(to: &frames) }
                            try await writer.write(ByteBuffer(bytes: frames))
                        }
                    } onGracefulShutdown: {
                        stopping.store(true, ordering: .relaxed)
                    }
                }
            } catch {
                // The member left, the group was deleted, or the service is stopping.
            }
            await dispatcher.leave(member: member)
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    // MARK: Webhooks

    func createWebhook(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreateWebhookBody.self, request)
        guard body.url.utf8.count <= 2000, let url = URL(string: body.url),
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw APIError.unprocessable("invalid_field", "url must be an absolute http:// or https:// URL.")
        }
        guard (16...256).contains(body.secret.utf8.count) else {
            throw APIError.unprocessable("invalid_field", "secret has 16 to 256 bytes.")
        }
        let types = try validTypes(body.types)
        let head = try await log.lastPosition()
        let from = body.from ?? head + 1
        guard from >= 1, from <= head + 1 else {
            throw APIError.unprocessable("invalid_field", "from must be a position from 1 to \(head + 1).")
        }
        let hook = WebhookRecord(
            id: "wh-" + String(Tokens.generate().prefix(16)), url: body.url, types: types, secret: body.secret,
            createdAt: Self.now(), delivered: from - 1,
            maxFailures: try bounded(body.maxFailures, "maxFailures", 1...1000, default: 8),
            timeoutMillis: try bounded(body.timeoutMs, "timeoutMs", 100...60_000, default: 10_000))
        try await subscriptions.store.save(hook)
        return try json(WebhookAnswer(hook), status: .created)
    }

    func listWebhooks(_ caller: Caller) throws -> Response {
        try json(WebhookList(webhooks: try subscriptions.store.webhooks().map(WebhookAnswer.init)))
    }

    func getWebhook(_ caller: Caller, _ route: MatchedRoute) throws -> Response {
        guard let hook = try subscriptions.store.webhook(try parameter("id", route)) else {
            throw Self.webhookNotFound
        }
        return try json(WebhookAnswer(hook))
    }

    func webhookDeliveries(_ caller: Caller, _ request: Request, _ route: MatchedRoute) throws -> Response {
        let id = try parameter("id", route)
        let store = try subscriptions.store
        guard try store.webhook(id) != nil else { throw Self.webhookNotFound }
        var limit = 50
        if let text = request.uri.queryParameters.get("limit") {
            guard let value = Int(text), (1...SubscriptionStore.keptDeliveries).contains(value) else {
                throw APIError.unprocessable(
                    "invalid_parameter", "limit must be between 1 and \(SubscriptionStore.keptDeliveries).")
            }
            limit = value
        }
        return try json(DeliveryList(deliveries: try store.deliveries(webhook: id, limit: limit)))
    }

    /// Pauses or resumes a webhook; resuming starts again at the event that failed, with a clean count.
    func setWebhookState(_ caller: Caller, _ route: MatchedRoute, active: Bool) async throws -> Response {
        let now = Self.now()
        let updated = try await subscriptions.store.update(webhook: try parameter("id", route)) { hook in
            if active {
                hook.state = .active
                hook.failures = 0
                hook.pausedAt = nil
            } else if hook.state == .active {
                hook.state = .paused
                hook.pausedAt = now
            }
        }
        guard let updated else { throw Self.webhookNotFound }
        return try json(WebhookAnswer(updated))
    }

    func deleteWebhook(_ caller: Caller, _ route: MatchedRoute) async throws -> Response {
        let id = try parameter("id", route)
        guard try await subscriptions.store.deleteWebhook(id) else { throw Self.webhookNotFound }
        return try json(Deleted(id: id, deleted: true))
    }
}
