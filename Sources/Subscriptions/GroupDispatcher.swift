import EventLog
import Foundation
import Synchronization

/// What a consumer group looks like from outside at one moment.
public struct GroupStatus: Sendable, Codable, Hashable {
    public struct Member: Sendable, Codable, Hashable {
        public var id: String
        public var inFlight: Int
        /// A member held events past the ack timeout: they went to others, and it gets no new ones
        /// until it acknowledges again.
        public var stalled: Bool
        /// Connected by a stream (rather than polling).
        public var streaming: Bool
    }

    public var name: String
    public var types: [String]
    public var start: UInt64
    public var checkpoint: UInt64
    public var ackTimeoutMs: Int
    public var maxInFlight: Int
    public var createdAt: String
    public var members: [Member]
    /// Events read from the log for the group and not yet acknowledged.
    public var pending: Int
    /// Events handed to another member after a member left or let its ack timeout pass.
    public var redelivered: Int
}

/// The outcome of an acknowledgement.
public struct AckOutcome: Sendable, Codable, Hashable {
    public var acknowledged: Int
    public var checkpoint: UInt64
}

public enum GroupFailure: Error, Sendable, Equatable {
    case deleted
    case memberStreaming(String)
}

/// Hands a consumer group's events to its members. Events are read from the log after the group's
/// checkpoint, filtered by type, and given out in position order; all events of a stream go to one
/// member at a time (the member holding unacknowledged events of that stream gets its next ones), so
/// a stream's order is kept across the group. A member that leaves, or holds an event past the ack
/// timeout, loses its unacknowledged events to the others. The checkpoint is the position below the
/// first unacknowledged event, written durably when it moves; after a restart, delivery resumes
/// from it (events acknowledged above it come again: at-least-once, the position is the key).
public actor GroupDispatcher {
    private struct Pending {
        var event: RecordedEvent
        var member: String?
        var handedAt: ContinuousClock.Instant?
    }

    private struct Member {
        var inFlight: Set<UInt64> = []
        var queue: [UInt64] = []
        var streaming: Bool
        var stalled = false
        var lastSeen: ContinuousClock.Instant
    }

    public nonisolated let name: String
    private var record: ConsumerGroupRecord
    private let filter: EventTypeFilter
    private let log: any EventStore
    private let store: SubscriptionStore
    private var pending: [UInt64: Pending] = [:]
    private var readUpTo: UInt64
    private var members: [String: Member] = [:]
    /// Per stream, the member holding its unacknowledged events and how many it holds.
    private var owners: [String: (member: String, held: Int)] = [:]
    /// Pending positions in ascending order (acknowledged ones are dropped from the front lazily).
    private var order: [UInt64] = []
    private var orderStart = 0
    /// Pending positions no member holds, ascending.
    private var unassigned: [UInt64] = []
    private var redelivered = 0
    private var deleted = false
    private var ackTimeout: Duration { .milliseconds(record.ackTimeoutMillis) }

    init(record: ConsumerGroupRecord, log: any EventStore, store: SubscriptionStore) {
        self.name = record.name
        self.record = record
        self.filter = EventTypeFilter(record.types)
        self.log = log
        self.store = store
        self.readUpTo = record.checkpoint
    }

    /// Up to `max` events for `member`, waiting up to `wait` for some. A member is known from its
    /// first call; a streaming member stays until `leave`, a polling one until it has not called for
    /// the ack timeout.
    public func next(member id: String, max: Int, wait: Duration) async throws -> [RecordedEvent] {
        let deadline = ContinuousClock.now + wait
        if members[id] == nil { members[id] = Member(streaming: false, lastSeen: .now) }
        while true {
            guard !deleted else { throw GroupFailure.deleted }
            let now = ContinuousClock.now
            members[id]?.lastSeen = now
            expire(now)
            try fill()
            assign()
            if let handed = hand(to: id, max: max, now: now), !handed.isEmpty { return handed }
            guard now < deadline, members[id] != nil else { return [] }
            // Ends at once when the task is cancelled (the client left).
            try await Task.sleep(for: min(.milliseconds(50), deadline - now))
        }
    }

    /// A streaming member's connection ended: its unacknowledged events go to the others.
    public func leave(member id: String) {
        guard let member = members.removeValue(forKey: id) else { return }
        release(member.inFlight.union(member.queue))
        assign()
    }

    /// Marks events handled (by whichever member; positions not pending are ignored) and moves the
    /// checkpoint, durably, before answering.
    public func ack(_ positions: [UInt64], member: String?) async throws -> AckOutcome {
        guard !deleted else { throw GroupFailure.deleted }
        var count = 0
        for position in positions {
            guard let entry = pending.removeValue(forKey: position) else { continue }
            count += 1
            if let holder = entry.member {
                members[holder]?.inFlight.remove(position)
                members[holder]?.queue.removeAll { $0 == position }
                releaseOwnership(of: entry.event.stream, by: holder)
            }
        }
        if let member, members[member] != nil {
            members[member]?.stalled = false
            members[member]?.lastSeen = .now
        }
        while orderStart < order.count, pending[order[orderStart]] == nil { orderStart += 1 }
        if orderStart > 4096 {
            order.removeFirst(orderStart)
            orderStart = 0
        }
        let low = orderStart < order.count ? order[orderStart] - 1 : readUpTo
        if low > record.checkpoint {
            // Another acknowledgement may run while this one waits for the write; the checkpoint only
            // moves forward, in the store as here.
            guard try await store.checkpoint(group: name, at: low) else {
                deleted = true
                throw GroupFailure.deleted
            }
            record.checkpoint = max(record.checkpoint, low)
        }
        assign()
        return AckOutcome(acknowledged: count, checkpoint: record.checkpoint)
    }

    public func status() -> GroupStatus {
        expire(.now)
        return GroupStatus(
            name: name, types: record.types, start: record.start, checkpoint: record.checkpoint,
            ackTimeoutMs: record.ackTimeoutMillis, maxInFlight: record.maxInFlight, createdAt: record.createdAt,
            members: members.keys.sorted().map { id in
                let member = members[id]!
                return GroupStatus.Member(
                    id: id, inFlight: member.inFlight.count + member.queue.count, stalled: member.stalled,
                    streaming: member.streaming)
            },
            pending: pending.count, redelivered: redelivered)
    }

    /// The group was deleted: members' calls end.
    func markDeleted() { deleted = true }

    // MARK: Bookkeeping

    /// A member opens its stream: it stays a member until `leave`. One stream per member name.
    public func connect(member id: String) throws {
        guard !deleted else { throw GroupFailure.deleted }
        if let existing = members[id] {
            if existing.streaming { throw GroupFailure.memberStreaming(id) }
            members[id]?.streaming = true
            return
        }
        members[id] = Member(streaming: true, lastSeen: .now)
    }

    /// Reads the log on while fewer events than the members can hold are pending.
    private func fill() throws {
        let room = Swift.max(record.maxInFlight * Swift.max(members.count, 1) * 2, 256)
        while pending.count < room {
            let batch = try log.read(from: readUpTo + 1, limit: 256)
            guard let last = batch.last else { return }
            for event in batch {
                if event.type == "thread.purged" { forgetContent(of: event.stream) }
                guard filter.matches(event.type) else { continue }
                pending[event.position] = Pending(event: event, member: nil, handedAt: nil)
                order.append(event.position)
                unassigned.append(event.position)
            }
            readUpTo = last.position
        }
    }

    /// A thread was purged: events of its stream still waiting here go out as the log now holds them,
    /// without their payload.
    private func forgetContent(of stream: String) {
        for (position, entry) in pending where entry.event.stream == stream && !entry.event.isPurged {
            pending[position]?.event.isPurged = true
            pending[position]?.event.data = []
        }
    }

    /// Gives unassigned events, in position order, to members with room: to the member that holds
    /// events of the same stream, else to the least loaded one.
    private func assign() {
        guard !unassigned.isEmpty, !members.isEmpty else { return }
        var left: [UInt64] = []
        defer { unassigned = left }
        for (index, position) in unassigned.enumerated() {
            guard let entry = pending[position], entry.member == nil else { continue }
            if !members.keys.contains(where: hasRoom) {
                left.append(contentsOf: unassigned[index...].filter { pending[$0].map { $0.member == nil } ?? false })
                return
            }
            let stream = entry.event.stream
            let target: String?
            if let owner = owners[stream] {
                target = hasRoom(owner.member) ? owner.member : nil
            } else {
                target =
                    members.filter { hasRoom($0.key) }
                    .min { ($0.value.inFlight.count + $0.value.queue.count, $0.key) < ($1.value.inFlight.count + $1.value.queue.count, $1.key) }?.key
            }
            guard let target else {
                left.append(position)
                continue
            }
            pending[position]!.member = target
            members[target]!.queue.append(position)
            owners[stream] = (target, (owners[stream]?.held ?? 0) + 1)
        }
    }

    private func hasRoom(_ id: String) -> Bool {
        guard let member = members[id], !member.stalled else { return false }
        return member.inFlight.count + member.queue.count < record.maxInFlight
    }

    private func hand(to id: String, max: Int, now: ContinuousClock.Instant) -> [RecordedEvent]? {
        guard var member = members[id] else { return nil }
        let taken = member.queue.prefix(max)
        member.queue.removeFirst(taken.count)
        var events: [RecordedEvent] = []
        for position in taken {
            member.inFlight.insert(position)
            pending[position]?.handedAt = now
            if let event = pending[position]?.event { events.append(event) }
        }
        members[id] = member
        return events
    }

    /// Members past the ack timeout: a polling member that stopped calling leaves; a member holding
    /// an event too long is stalled and its events go to the others.
    private func expire(_ now: ContinuousClock.Instant) {
        for (id, member) in members {
            if !member.streaming && now - member.lastSeen > ackTimeout {
                leave(member: id)
                continue
            }
            let late = member.inFlight.contains { position in
                pending[position]?.handedAt.map { now - $0 > ackTimeout } ?? false
            }
            if late {
                members[id]?.stalled = true
                members[id]?.inFlight = []
                members[id]?.queue = []
                release(member.inFlight.union(member.queue))
            }
        }
        assign()
    }

    /// Takes events back from their member, to be given out again.
    private func release(_ positions: Set<UInt64>) {
        for position in positions {
            guard let entry = pending[position], let holder = entry.member else { continue }
            if entry.handedAt != nil { redelivered += 1 }
            pending[position]?.member = nil
            pending[position]?.handedAt = nil
            releaseOwnership(of: entry.event.stream, by: holder)
            let at = unassigned.partitioningIndex { $0 >= position }
            unassigned.insert(position, at: at)
        }
    }

    private func releaseOwnership(of stream: String, by holder: String) {
        guard let owner = owners[stream], owner.member == holder else { return }
        if owner.held <= 1 {
            owners.removeValue(forKey: stream)
        } else {
            owners[stream] = (holder, owner.held - 1)
        }
    }
}

extension Array where Element == UInt64 {
    /// The first index whose element satisfies `belongs` (which must be false, then true, along the array).
    func partitioningIndex(where belongs: (UInt64) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// Consumer groups and webhooks of one node, over its view store.
public struct Subscriptions: Sendable {
    public let store: SubscriptionStore
    public let groups: ConsumerGroups

    public init(views: ViewStore, log: any EventStore) throws {
        store = try SubscriptionStore(views: views)
        groups = ConsumerGroups(store: store, log: log)
    }
}

/// The node's consumer groups: their records in the store, one dispatcher per group in use.
public final class ConsumerGroups: Sendable {
    public let store: SubscriptionStore
    private let log: any EventStore
    private let dispatchers = Mutex<[String: GroupDispatcher]>([:])

    public init(store: SubscriptionStore, log: any EventStore) {
        self.store = store
        self.log = log
    }

    /// The group's dispatcher; nil when there is no such group.
    public func dispatcher(_ name: String) throws -> GroupDispatcher? {
        if let running = dispatchers.withLock({ $0[name] }) { return running }
        guard let record = try store.group(name) else { return nil }
        return dispatchers.withLock { running in
            if let existing = running[name] { return existing }
            let made = GroupDispatcher(record: record, log: log, store: store)
            running[name] = made
            return made
        }
    }

    public func create(_ record: ConsumerGroupRecord) async throws -> Bool {
        try await store.create(record)
    }

    public func delete(_ name: String) async throws -> Bool {
        let running = dispatchers.withLock { $0.removeValue(forKey: name) }
        await running?.markDeleted()
        return try await store.deleteGroup(name)
    }
}
