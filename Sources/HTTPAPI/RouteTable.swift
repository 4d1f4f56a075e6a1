/// Who may call a route. A request is authenticated first (401 without a known token); a known
/// principal whose role is not listed gets 403.
public enum CallerRole: String, Sendable, Hashable, CaseIterable {
    case anyone, admin, user, service
}

/// Every route the service answers, in one table: requests are matched against it, the OpenAPI test
/// compares it with `Schemas/openapi.json`, and the 404/405 answers consult it.
public struct RouteSpec: Sendable, Hashable {
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case createParty, createUser, updateUser, deactivateUser, replaceUserToken, createServiceToken, revokeServiceToken, createStructure,
            addStructureMember,
            removeStructureMember, createCategory, declareSubject, putSettings, getSettings, listTemplates, putTemplate, deleteTemplate, openThread, getThread,
            postMessage, postNote, moveReadMarker, assignHandler, changeStatus, blockThread, unblockThread, changeAttributes, changeMessageKind,
            placeLegalHold, releaseLegalHold, setCategoryRetention, inbox,
            unread, events, feed, uploadBlob, getBlob, health, metrics,
            createConsumerGroup, listConsumerGroups, getConsumerGroup, deleteConsumerGroup, consumerGroupEvents,
            ackConsumerGroup, createWebhook, listWebhooks, getWebhook, deleteWebhook, webhookDeliveries, pauseWebhook,
            resumeWebhook, listOutbox, resendOutbox
    }

    public var name: Name
    public var method: String
    /// OpenAPI style: `/v1/threads/{id}`.
    public var path: String
    public var roles: Set<CallerRole>
    /// Whether a successful call appends to the log (and so answers `X-Threadlog-Position`).
    public var writes: Bool
}

public enum RouteTable {
    public static let all: [RouteSpec] = [
        .init(name: .createParty, method: "POST", path: "/v1/parties", roles: [.admin], writes: true),
        .init(name: .createUser, method: "POST", path: "/v1/users", roles: [.admin], writes: true),
        .init(name: .updateUser, method: "PATCH", path: "/v1/users/{id}", roles: [.admin], writes: true),
        .init(name: .deactivateUser, method: "DELETE", path: "/v1/users/{id}", roles: [.admin], writes: true),
        .init(
            name: .replaceUserToken, method: "POST", path: "/v1/users/{id}/token", roles: [.admin], writes: true),
        .init(name: .createServiceToken, method: "POST", path: "/v1/service-tokens", roles: [.admin], writes: true),
        .init(
            name: .revokeServiceToken, method: "DELETE", path: "/v1/service-tokens/{id}", roles: [.admin],
            writes: true),
        .init(name: .createStructure, method: "POST", path: "/v1/structures", roles: [.admin], writes: true),
        .init(
            name: .addStructureMember, method: "POST", path: "/v1/structures/{id}/members", roles: [.admin],
            writes: true),
        .init(
            name: .removeStructureMember, method: "DELETE", path: "/v1/structures/{id}/members/{user}",
            roles: [.admin], writes: true),
        .init(name: .createCategory, method: "POST", path: "/v1/categories", roles: [.admin], writes: true),
        .init(name: .declareSubject, method: "POST", path: "/v1/subjects", roles: [.admin, .service], writes: true),
        .init(name: .putSettings, method: "PUT", path: "/v1/settings", roles: [.admin], writes: true),
        .init(name: .getSettings, method: "GET", path: "/v1/settings", roles: [.admin], writes: false),
        .init(name: .listTemplates, method: "GET", path: "/v1/templates", roles: [.user, .service, .admin], writes: false),
        .init(name: .putTemplate, method: "PUT", path: "/v1/templates/{name}", roles: [.user, .admin], writes: true),
        .init(name: .deleteTemplate, method: "DELETE", path: "/v1/templates/{name}", roles: [.user, .admin], writes: true),
        .init(name: .openThread, method: "POST", path: "/v1/threads", roles: [.user], writes: true),
        .init(name: .getThread, method: "GET", path: "/v1/threads/{id}", roles: [.user], writes: false),
        .init(name: .postMessage, method: "POST", path: "/v1/threads/{id}/messages", roles: [.user], writes: true),
        .init(name: .postNote, method: "POST", path: "/v1/threads/{id}/notes", roles: [.user], writes: true),
        .init(name: .moveReadMarker, method: "POST", path: "/v1/threads/{id}/read", roles: [.user], writes: true),
        .init(name: .assignHandler, method: "POST", path: "/v1/threads/{id}/assign", roles: [.user], writes: true),
        .init(name: .changeStatus, method: "POST", path: "/v1/threads/{id}/status", roles: [.user], writes: true),
        .init(name: .blockThread, method: "POST", path: "/v1/threads/{id}/block", roles: [.user], writes: true),
        .init(name: .unblockThread, method: "POST", path: "/v1/threads/{id}/unblock", roles: [.user], writes: true),
        .init(name: .changeAttributes, method: "PATCH", path: "/v1/threads/{id}", roles: [.user], writes: true),
        .init(
            name: .changeMessageKind, method: "POST", path: "/v1/threads/{id}/messages/{number}/kind", roles: [.user],
            writes: true),
        .init(
            name: .placeLegalHold, method: "POST", path: "/v1/threads/{id}/legal-hold", roles: [.admin], writes: true),
        .init(
            name: .releaseLegalHold, method: "DELETE", path: "/v1/threads/{id}/legal-hold", roles: [.admin],
            writes: true),
        .init(
            name: .setCategoryRetention, method: "PUT", path: "/v1/categories/{id}/retention", roles: [.admin],
            writes: true),
        .init(name: .listOutbox, method: "GET", path: "/v1/outbox", roles: [.admin], writes: false),
        .init(
            name: .resendOutbox, method: "POST", path: "/v1/outbox/{id}/resend", roles: [.admin], writes: false),
        .init(name: .inbox, method: "GET", path: "/v1/inbox", roles: [.user], writes: false),
        .init(name: .unread, method: "GET", path: "/v1/unread", roles: [.user], writes: false),
        .init(name: .events, method: "GET", path: "/v1/events", roles: [.service, .admin], writes: false),
        .init(name: .feed, method: "GET", path: "/v1/feed", roles: [.user], writes: false),
        .init(
            name: .createConsumerGroup, method: "POST", path: "/v1/consumer-groups", roles: [.service, .admin],
            writes: false),
        .init(
            name: .listConsumerGroups, method: "GET", path: "/v1/consumer-groups", roles: [.service, .admin],
            writes: false),
        .init(
            name: .getConsumerGroup, method: "GET", path: "/v1/consumer-groups/{id}", roles: [.service, .admin],
            writes: false),
        .init(
            name: .deleteConsumerGroup, method: "DELETE", path: "/v1/consumer-groups/{id}", roles: [.service, .admin],
            writes: false),
        .init(
            name: .consumerGroupEvents, method: "GET", path: "/v1/consumer-groups/{id}/events",
            roles: [.service, .admin], writes: false),
        .init(
            name: .ackConsumerGroup, method: "POST", path: "/v1/consumer-groups/{id}/ack", roles: [.service, .admin],
            writes: false),
        .init(name: .createWebhook, method: "POST", path: "/v1/webhooks", roles: [.admin], writes: false),
        .init(name: .listWebhooks, method: "GET", path: "/v1/webhooks", roles: [.admin], writes: false),
        .init(name: .getWebhook, method: "GET", path: "/v1/webhooks/{id}", roles: [.admin], writes: false),
        .init(name: .deleteWebhook, method: "DELETE", path: "/v1/webhooks/{id}", roles: [.admin], writes: false),
        .init(
            name: .webhookDeliveries, method: "GET", path: "/v1/webhooks/{id}/deliveries", roles: [.admin],
            writes: false),
        .init(name: .pauseWebhook, method: "POST", path: "/v1/webhooks/{id}/pause", roles: [.admin], writes: false),
        .init(name: .resumeWebhook, method: "POST", path: "/v1/webhooks/{id}/resume", roles: [.admin], writes: false),
        .init(name: .uploadBlob, method: "POST", path: "/v1/blobs", roles: [.user], writes: true),
        .init(name: .getBlob, method: "GET", path: "/v1/blobs/{sha256}", roles: [.user], writes: false),
        .init(name: .health, method: "GET", path: "/healthz", roles: [.anyone], writes: false),
        .init(name: .metrics, method: "GET", path: "/metrics", roles: [.anyone], writes: false),
    ]
}

/// Finds a request's route: its path's segments (empty ones skipped, as `/a//b/` is `/a/b`) compared
/// byte for byte with each route's pattern, `{name}` segments taken as parameters.
struct RouteMatcher: Sendable {
    private enum Segment: Sendable {
        case literal([UInt8])
        case parameter
    }

    private struct Pattern: Sendable {
        var spec: RouteSpec
        var segments: [Segment]
        var parameterNames: [Substring]
    }

    static let table = RouteMatcher(RouteTable.all)

    private let patterns: [Pattern]

    init(_ specs: [RouteSpec]) {
        patterns = specs.map { spec in
            let parts = spec.path.split(separator: "/")
            let isParameter = { (part: Substring) in part.hasPrefix("{") && part.hasSuffix("}") }
            return Pattern(
                spec: spec,
                segments: parts.map { isParameter($0) ? .parameter : .literal(Array($0.utf8)) },
                parameterNames: parts.filter(isParameter).map { $0.dropFirst().dropLast() })
        }
    }

    /// The route for `method` (a `HEAD` is answered as the `GET` of its path) and the path's parameters.
    func match(method: String, path: String) -> MatchedRoute? {
        let method = method == "HEAD" ? "GET" : method
        let parts = Self.segments(path)
        for pattern in patterns where pattern.spec.method == method {
            if let values = Self.match(pattern, parts) {
                return MatchedRoute(spec: pattern.spec, names: pattern.parameterNames, values: values)
            }
        }
        return nil
    }

    /// The methods a path answers to, empty for a path no route has.
    func methods(forPath path: String) -> [String] {
        let parts = Self.segments(path)
        return patterns.filter { Self.match($0, parts) != nil }.map(\.spec.method)
    }

    /// Whether the API owns the path: its first segment is `v1`, `healthz` or `metrics`.
    static func isAPIPath(_ path: String) -> Bool {
        guard let first = path.utf8.split(separator: UInt8(ascii: "/")).first else { return false }
        return first.elementsEqual("v1".utf8) || first.elementsEqual("healthz".utf8)
            || first.elementsEqual("metrics".utf8)
    }

    private static func segments(_ path: String) -> [Substring] {
        var parts: [Substring] = []
        parts.reserveCapacity(6)
        for part in path.utf8.split(separator: UInt8(ascii: "/")) { parts.append(Substring(part)) }
        return parts
    }

    /// The parameter values, in the pattern's order, when the path has the pattern's shape.
    private static func match(_ pattern: Pattern, _ parts: [Substring]) -> [Substring]? {
        guard pattern.segments.count == parts.count else { return nil }
        var values: [Substring] = []
        for (segment, part) in zip(pattern.segments, parts) {
            switch segment {
            case .literal(let bytes):
                guard part.utf8.elementsEqual(bytes) else { return nil }
            case .parameter:
                values.append(part)
            }
        }
        return values
    }
}

/// A request's route and the values of its path's `{name}` segments.
struct MatchedRoute: Sendable {
    var spec: RouteSpec
    var names: [Substring]
    var values: [Substring]

    func parameter(_ name: String) -> String? {
        guard let index = names.firstIndex(where: { $0 == name }) else { return nil }
        return String(values[index])
    }
}
