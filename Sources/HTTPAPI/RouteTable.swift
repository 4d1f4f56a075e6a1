/// Who may call a route. A request is authenticated first (401 without a known token); a known
/// principal whose role is not listed gets 403.
public enum CallerRole: String, Sendable, Hashable, CaseIterable {
    case anyone, admin, user, service
}

/// Every route the service answers, in one table: the router is built from it, the OpenAPI test
/// compares it with `Schemas/openapi.json`, and the 404/405 answers consult it.
public struct RouteSpec: Sendable, Hashable {
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case createParty, createUser, replaceUserToken, createServiceToken, revokeServiceToken, createStructure,
            addStructureMember,
            removeStructureMember, createCategory, putSettings, getSettings, openThread, getThread,
            postMessage, moveReadMarker, assignHandler, changeStatus, blockThread, unblockThread, inbox,
            unread, events, uploadBlob, getBlob, health, metrics
    }

    public var name: Name
    public var method: String
    /// OpenAPI style: `/v1/threads/{id}`.
    public var path: String
    public var roles: Set<CallerRole>
    /// Whether a successful call appends to the log (and so answers `X-Threadlog-Position`).
    public var writes: Bool

    /// The Hummingbird form of `path`: `{id}` becomes `:id`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }

    /// Whether a concrete request path has this route's shape.
    func matches(path requestPath: Substring) -> Bool {
        let pattern = path.split(separator: "/")
        let actual = requestPath.split(separator: "/")
        guard pattern.count == actual.count else { return false }
        return zip(pattern, actual).allSatisfy { p, a in p.hasPrefix("{") || p == a }
    }
}

public enum RouteTable {
    public static let all: [RouteSpec] = [
        .init(name: .createParty, method: "POST", path: "/v1/parties", roles: [.admin], writes: true),
        .init(name: .createUser, method: "POST", path: "/v1/users", roles: [.admin], writes: true),
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
        .init(name: .putSettings, method: "PUT", path: "/v1/settings", roles: [.admin], writes: true),
        .init(name: .getSettings, method: "GET", path: "/v1/settings", roles: [.admin], writes: false),
        .init(name: .openThread, method: "POST", path: "/v1/threads", roles: [.user], writes: true),
        .init(name: .getThread, method: "GET", path: "/v1/threads/{id}", roles: [.user], writes: false),
        .init(name: .postMessage, method: "POST", path: "/v1/threads/{id}/messages", roles: [.user], writes: true),
        .init(name: .moveReadMarker, method: "POST", path: "/v1/threads/{id}/read", roles: [.user], writes: true),
        .init(name: .assignHandler, method: "POST", path: "/v1/threads/{id}/assign", roles: [.user], writes: true),
        .init(name: .changeStatus, method: "POST", path: "/v1/threads/{id}/status", roles: [.user], writes: true),
        .init(name: .blockThread, method: "POST", path: "/v1/threads/{id}/block", roles: [.user], writes: true),
        .init(name: .unblockThread, method: "POST", path: "/v1/threads/{id}/unblock", roles: [.user], writes: true),
        .init(name: .inbox, method: "GET", path: "/v1/inbox", roles: [.user], writes: false),
        .init(name: .unread, method: "GET", path: "/v1/unread", roles: [.user], writes: false),
        .init(name: .events, method: "GET", path: "/v1/events", roles: [.service, .admin], writes: false),
        .init(name: .uploadBlob, method: "POST", path: "/v1/blobs", roles: [.user], writes: false),
        .init(name: .getBlob, method: "GET", path: "/v1/blobs/{sha256}", roles: [.user], writes: false),
        .init(name: .health, method: "GET", path: "/healthz", roles: [.anyone], writes: false),
        .init(name: .metrics, method: "GET", path: "/metrics", roles: [.anyone], writes: false),
    ]

    /// The methods a path answers to, empty for a path no route has.
    static func methods(forPath path: Substring) -> [String] {
        all.filter { $0.matches(path: path) }.map(\.method)
    }
}
