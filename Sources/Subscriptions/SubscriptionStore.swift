import EventLog
import Foundation

/// A consumer group as kept: which events it takes, where it started, and its checkpoint (every
/// event at or below it is acknowledged or not the group's).
public struct ConsumerGroupRecord: Codable, Sendable, Hashable {
    public var name: String
    public var types: [String]
    public var start: UInt64
    public var checkpoint: UInt64
    public var ackTimeoutMillis: Int
    public var maxInFlight: Int
    public var createdAt: String

    public init(
        name: String, types: [String], start: UInt64, checkpoint: UInt64, ackTimeoutMillis: Int, maxInFlight: Int,
        createdAt: String
    ) {
        self.name = name
        self.types = types
        self.start = start
        self.checkpoint = checkpoint
        self.ackTimeoutMillis = ackTimeoutMillis
        self.maxInFlight = maxInFlight
        self.createdAt = createdAt
    }
}

/// A webhook as kept, with its delivery state: `delivered` is the last position settled (posted and
/// answered 2xx, or not one of its types); the next delivery is the first matching event after it.
public struct WebhookRecord: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable { case active, paused }
    public var id: String
    public var url: String
    public var types: [String]
    public var secret: String
    public var createdAt: String
    public var state: State
    public var delivered: UInt64
    /// Failed attempts in a row at the current event.
    public var failures: Int
    public var maxFailures: Int
    public var timeoutMillis: Int
    public var lastError: String?
    public var pausedAt: String?

    public init(
        id: String, url: String, types: [String], secret: String, createdAt: String, delivered: UInt64,
        maxFailures: Int, timeoutMillis: Int
    ) {
        self.id = id
        self.url = url
        self.types = types
        self.secret = secret
        self.createdAt = createdAt
        self.state = .active
        self.delivered = delivered
        self.failures = 0
        self.maxFailures = maxFailures
        self.timeoutMillis = timeoutMillis
    }
}

/// One attempt to deliver one event to a webhook.
public struct DeliveryRecord: Codable, Sendable, Hashable {
    public var position: UInt64
    public var type: String
    public var attempt: Int
    public var at: String
    public var status: Int?
    public var error: String?
    public var millis: Int
    public var delivered: Bool
}

/// Consumer groups and webhooks with their checkpoints and delivery state, in tables of the node's
/// view store (written durably, each change in one transaction). Rebuilding the views leaves these
/// tables alone: they are not derived from the log.
public final class SubscriptionStore: Sendable {
    static let groups = "consumer_groups"
    static let webhooks = "webhooks"
    static let deliveries = "webhook_deliveries"
    /// Attempts kept per webhook; older ones are dropped as new ones are written.
    public static let keptDeliveries = 200

    private let views: ViewStore

    public init(views: ViewStore) throws {
        self.views = views
        try views.prepare(tables: [Self.groups, Self.webhooks, Self.deliveries])
    }

    // MARK: Consumer groups

    public func groups() throws -> [ConsumerGroupRecord] {
        try all(Self.groups)
    }

    public func group(_ name: String) throws -> ConsumerGroupRecord? {
        try one(Self.groups, name)
    }

    /// Stores a new group; false when the name is taken.
    public func create(_ group: ConsumerGroupRecord) async throws -> Bool {
        let value = try Self.encode(group)
        return try await views.queuedWrite { txn in
            guard try txn.get(Self.groups, Array(group.name.utf8)) == nil else { return false }
            try txn.put(Self.groups, Array(group.name.utf8), value)
            return true
        }
    }

    /// Moves a group's checkpoint forward (never back); false when the group is gone.
    public func checkpoint(group name: String, at position: UInt64) async throws -> Bool {
        try await views.queuedWrite { txn in
            guard let bytes = try txn.get(Self.groups, Array(name.utf8)) else { return false }
            var group = try Self.decode(ConsumerGroupRecord.self, bytes)
            guard position > group.checkpoint else { return true }
            group.checkpoint = position
            try txn.put(Self.groups, Array(name.utf8), try Self.encode(group))
            return true
        }
    }

    public func deleteGroup(_ name: String) async throws -> Bool {
        try await views.queuedWrite { txn in
            guard try txn.get(Self.groups, Array(name.utf8)) != nil else { return false }
            try txn.delete(Self.groups, Array(name.utf8))
            return true
        }
    }

    // MARK: Webhooks

    public func webhooks() throws -> [WebhookRecord] {
        try all(Self.webhooks)
    }

    public func webhook(_ id: String) throws -> WebhookRecord? {
        try one(Self.webhooks, id)
    }

    public func save(_ webhook: WebhookRecord) async throws {
        let value = try Self.encode(webhook)
        try await views.queuedWrite { txn in try txn.put(Self.webhooks, Array(webhook.id.utf8), value) }
    }

    /// Changes a webhook in one transaction; nil when it is gone.
    public func update(
        webhook id: String, _ change: @escaping @Sendable (inout WebhookRecord) -> Void
    ) async throws -> WebhookRecord? {
        try await views.queuedWrite { txn in
            guard let bytes = try txn.get(Self.webhooks, Array(id.utf8)) else { return nil }
            var webhook = try Self.decode(WebhookRecord.self, bytes)
            change(&webhook)
            try txn.put(Self.webhooks, Array(id.utf8), try Self.encode(webhook))
            return webhook
        }
    }

    /// Records an attempt and the webhook's new state in one transaction, dropping the oldest attempts
    /// beyond `keptDeliveries`. Nil when the webhook is gone (deleted meanwhile).
    public func record(
        _ attempt: DeliveryRecord, webhook id: String, _ change: @escaping @Sendable (inout WebhookRecord) -> Void
    ) async throws -> WebhookRecord? {
        let prefix = Array(id.utf8) + [0]
        let key = prefix + Self.bigEndian(attempt.position) + Self.bigEndian(UInt64(attempt.attempt))
        let value = try Self.encode(attempt)
        return try await views.queuedWrite { txn in
            guard let bytes = try txn.get(Self.webhooks, Array(id.utf8)) else { return nil }
            var webhook = try Self.decode(WebhookRecord.self, bytes)
            change(&webhook)
            try txn.put(Self.webhooks, Array(id.utf8), try Self.encode(webhook))
            try txn.put(Self.deliveries, key, value)
            var keys: [[UInt8]] = []
            try txn.scan(Self.deliveries, prefix: prefix) { key, _ in
                keys.append(Array(key))
                return true
            }
            for old in keys.dropLast(Self.keptDeliveries) { try txn.delete(Self.deliveries, old) }
            return webhook
        }
    }

    /// The latest attempts, newest first.
    public func deliveries(webhook id: String, limit: Int) throws -> [DeliveryRecord] {
        let prefix = Array(id.utf8) + [0]
        var found: [DeliveryRecord] = []
        try views.read { txn in
            try txn.scan(Self.deliveries, prefix: prefix) { _, value in
                found.append(try Self.decode(DeliveryRecord.self, Array(value)))
                return true
            }
        }
        return Array(found.reversed().prefix(limit))
    }

    public func deleteWebhook(_ id: String) async throws -> Bool {
        let prefix = Array(id.utf8) + [0]
        return try await views.queuedWrite { txn in
            guard try txn.get(Self.webhooks, Array(id.utf8)) != nil else { return false }
            try txn.delete(Self.webhooks, Array(id.utf8))
            var keys: [[UInt8]] = []
            try txn.scan(Self.deliveries, prefix: prefix) { key, _ in
                keys.append(Array(key))
                return true
            }
            for key in keys { try txn.delete(Self.deliveries, key) }
            return true
        }
    }

    // MARK: Coding

    private func all<T: Decodable>(_ table: String) throws -> [T] {
        var found: [T] = []
        try views.read { txn in
            try txn.scan(table, prefix: []) { _, value in
                found.append(try Self.decode(T.self, Array(value)))
                return true
            }
        }
        return found
    }

    private func one<T: Decodable>(_ table: String, _ key: String) throws -> T? {
        try views.read { txn in try txn.get(table, Array(key.utf8)) }.map { try Self.decode(T.self, $0) }
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}
