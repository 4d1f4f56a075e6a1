import EventLog
import Foundation
import Logging
import Messaging
import Projections
import ServiceLifecycle
import Synchronization

/// Derives the outbox from the log: the immediate notifications of thread events and the mails of
/// decided digests. Each batch's entries and the outbox checkpoint are committed together; a restart
/// (even after kill -9) resumes at the checkpoint, so no event is mailed twice or skipped.
public final class NotificationProjector: Service, Sendable {
    let log: any EventStore
    let outbox: Outbox
    let configuration: NotificationConfiguration
    let logger: Logger
    /// The directory as of `position`; only one derivation runs at a time.
    private let state = Mutex<(directory: Directory, audience: Audience, position: UInt64)?>(nil)

    public init(log: any EventStore, outbox: Outbox, configuration: NotificationConfiguration, logger: Logger) {
        self.log = log
        self.outbox = outbox
        self.configuration = configuration
        self.logger = logger
    }

    /// Derives everything the log holds beyond the checkpoint. Returns the position reached.
    @discardableResult
    public func catchUp() throws -> UInt64 {
        try outbox.start(head: try log.lastPosition(), backfill: configuration.backfill)
        while try step() {}
        return try outbox.cursor()?.checkpoint ?? 0
    }

    /// How many log events are not yet turned into mail (for `/metrics`).
    public func lag() throws -> UInt64 {
        let head = try log.lastPosition()
        return head - min(head, try outbox.cursor()?.checkpoint ?? 0)
    }

    func step() throws -> Bool {
        try state.withLock { memory in
            guard let cursor = try outbox.cursor() else { return false }
            let events = try log.read(from: cursor.checkpoint + 1, limit: configuration.batchSize)
            guard let last = events.last else { return false }
            var directory: Directory
            var audience: Audience?
            // Written with the checkpoint when the batch changes it or the store did not hold it there.
            var changedDirectory = false
            if let memory, memory.position == cursor.checkpoint {
                (directory, audience) = (memory.directory, memory.audience)
            } else {
                let stored: Bool
                (directory, stored) = try outbox.views.read { txn in
                    try DirectorySnapshots.directory(
                        asOf: cursor.checkpoint, owner: Outbox.directoryOwner, log: log, txn)
                }
                changedDirectory = !stored
            }
            var entries: [OutboxEntry] = []
            var purged: [ThreadID] = []
            for recorded in events where !recorded.isPurged {
                guard let type = EventType(rawValue: recorded.type) else { continue }
                let notifies = recorded.position > cursor.notifyFrom
                switch type {
                case .threadOpened, .messagePosted, .threadStatusChanged, .handlerAssigned:
                    guard notifies else { continue }
                case .digestScheduled:
                    break
                case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
                    .structureCreated, .structureMemberAdded,
                    .structureMemberRemoved, .categoryCreated, .settingsChanged, .categoryRetentionSet,
                    .subjectDeclared, .userUpdated, .userDeactivated:
                    directory = Directory.evolve(directory, try recorded.decoded())
                    audience = nil
                    changedDirectory = true
                    continue
                case .threadPurged:
                    if case .threadPurged(let e) = try recorded.decoded().event { purged.append(e.thread) }
                    continue
                case .subjectClaimed, .ticketNumbered, .readMarkerMoved, .threadBlocked, .threadUnblocked, .messageKindChanged,
                    .legalHoldPlaced, .legalHoldReleased, .digestSent, .blobUploaded, .threadAttributesChanged,
                    .notePosted:
                    // Notes are the internal side's: no mail about them, to anyone.
                    continue
                }
                if audience == nil { audience = Audience(directory: directory) }
                let drafts = try derive(
                    try recorded.decoded(), directory: directory, audience: audience, stream: recorded.stream)
                for (index, draft) in drafts.enumerated() {
                    entries.append(entry(draft, recorded: recorded, index: index))
                }
            }
            if try outbox.commit(
                entries, scrubbing: purged, from: cursor.checkpoint, to: last.position,
                directory: changedDirectory ? directory : nil)
            {
                memory = (directory, audience ?? Audience(directory: directory), last.position)
                if !entries.isEmpty {
                    logger.debug(
                        "notifications derived",
                        metadata: ["entries": "\(entries.count)", "position": "\(last.position)"])
                }
            } else {
                // Another process derived this batch: start again from its checkpoint.
                memory = nil
            }
            return true
        }
    }

    private func entry(_ draft: MailDraft, recorded: RecordedEvent, index: Int) -> OutboxEntry {
        let id = "\(recorded.position).\(index)"
        return OutboxEntry(
            id: id, position: recorded.position, index: index, trigger: draft.trigger, thread: draft.thread,
            threads: draft.threads, digest: draft.digest, to: draft.to, cc: draft.cc, bcc: draft.bcc,
            subject: draft.subject, body: draft.body,
            messageID: "<threadlog.\(id)@\(configuration.messageIDDomain)>", status: .pending, attempts: 0,
            nextAttemptMillis: 0, claimedUntilMillis: nil, lastError: nil, deliveredAtMillis: nil,
            eventMillis: recorded.timeMillis,
            replyTo: draft.replyUser.flatMap { user in
                draft.thread.flatMap { configuration.replyAddresses?.address(thread: $0, user: user) }
            })
    }

    /// The mails one event produces, as of its position; `stream` is the one the event was appended to.
    func derive(
        _ recorded: Recorded<Event>, directory: Directory, audience: Audience? = nil, stream: String? = nil
    ) throws -> [MailDraft] {
        let url = configuration.publicURL
        let perRecipient = configuration.replyAddresses != nil
        // The event's thread as of the event, extended by the event itself when it is the next of its stream.
        func threadAtEvent(_ id: ThreadID) throws -> ThreadState? {
            try self.thread(id, asOf: recorded.position, next: stream == StreamName.thread(id) ? recorded : nil)
        }
        let actor: UserID? = if case .user(let id) = Actor(recordedValue: recorded.actor) { id } else { nil }
        switch recorded.event {
        case .threadOpened(let e):
            guard let thread = try threadAtEvent(e.thread) else { return [] }
            return NotificationRules.drafts(
                for: .init(trigger: .threadOpened, thread: thread, actor: e.openedBy, position: recorded.position, audience: audience),
                directory: directory, publicURL: url, perRecipient: perRecipient)
        case .messagePosted(let e):
            guard let thread = try threadAtEvent(e.thread) else { return [] }
            let message = thread.messages.last { $0.number == e.number }
            var announced: Set<UserID> = []
            if e.number == 1, e.author == thread.openedBy {
                // A thread opened with its first message: whoever the opening mailed knows already.
                let opening = NotificationRules.Occasion(
                    trigger: .threadOpened, thread: thread, actor: thread.openedBy, position: thread.openedAtPosition,
                    audience: audience)
                for rule in NotificationRules.rules(directory.settings) where rule.on == .threadOpened {
                    announced.formUnion(NotificationRules.recipients(rule.to + rule.cc, opening, directory))
                }
            }
            return NotificationRules.drafts(
                for: .init(
                    trigger: .messagePosted, thread: thread, actor: e.author, position: recorded.position,
                    message: message, audience: audience),
                directory: directory, publicURL: url, excluding: announced, perRecipient: perRecipient)
        case .threadStatusChanged(let e):
            guard let thread = try threadAtEvent(e.thread) else { return [] }
            return NotificationRules.drafts(
                for: .init(
                    trigger: .statusChanged, thread: thread, actor: actor, position: recorded.position, statusChange: e,
                    audience: audience),
                directory: directory, publicURL: url, perRecipient: perRecipient)
        case .handlerAssigned(let e):
            guard let thread = try threadAtEvent(e.thread) else { return [] }
            return NotificationRules.drafts(
                for: .init(trigger: .handlerAssigned, thread: thread, actor: actor, position: recorded.position, audience: audience),
                directory: directory, publicURL: url, perRecipient: perRecipient)
        case .digestScheduled(let e):
            let threads = try e.threads.compactMap { try thread($0, asOf: recorded.position) }
            return NotificationRules.digestDraft(e, threads: threads, directory: directory, publicURL: url).map { [$0] }
                ?? []
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated, .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .settingsChanged, .subjectClaimed, .ticketNumbered,
            .readMarkerMoved, .threadBlocked, .threadUnblocked, .messageKindChanged, .categoryRetentionSet, .legalHoldPlaced,
            .legalHoldReleased, .threadPurged, .digestSent, .blobUploaded, .subjectDeclared,
            .threadAttributesChanged, .userUpdated, .userDeactivated, .notePosted:
            return []
        }
    }

    /// The thread as of a log position, `nil` once purged (its mails then carry no content). Folded
    /// incrementally: the projector asks in log order, so each call reads only what came since. When
    /// `next` (at `position`) is the stream's next event, it extends the fold without reading the stream.
    func thread(_ id: ThreadID, asOf position: UInt64, next: Recorded<Event>? = nil) throws -> ThreadState? {
        let stream = StreamName.thread(id)
        let entry = try threads.load(stream) { entry in
            if entry.position > position {
                // Asked about the past (a restart in between): fold from the start again.
                entry = NotifiedThread()
            }
            if let next, !entry.purged, next.position == position, next.version == entry.fold.version + 1 {
                entry.fold.apply(next)
            } else if !entry.purged {
                let records = try log.readStream(stream, fromVersion: entry.fold.version + 1, limit: .max)
                for record in records where record.position <= position { try entry.fold.apply(record) }
                // A purge later in the log also means no content, whatever the position asked for.
                if records.contains(where: { $0.isPurged || $0.type == EventType.threadPurged.rawValue }) {
                    entry.purged = true
                }
            }
            if entry.fold.state?.isPurged == true { entry.purged = true }
            entry.position = position
        }
        return entry.purged ? nil : entry.fold.state
    }

    /// A thread as the projector last folded it, and the position it was asked about.
    struct NotifiedThread: CachedFold {
        var fold = ThreadFold()
        var position: UInt64 = 0
        /// Purged at or after `position`: its mails carry no content.
        var purged = false
        var version: UInt64 { fold.version }
    }

    private let threads = FoldCache<NotifiedThread>()

    /// Derives notifications until shutdown, under the projectors' one failure policy (`ProjectorService`).
    public func run() async throws {
        try await service().run()
    }

    /// The projector as a `ProjectorService` named `notifications`; `catchUp` wraps its catch-up (the
    /// tests make it fail on purpose).
    func service(
        backoff: ProjectorService.Backoff = ProjectorService.Backoff(),
        catchUp: @escaping @Sendable (NotificationProjector) throws -> UInt64 = { try $0.catchUp() }
    ) -> ProjectorService {
        ProjectorService(
            name: "notifications", log: log, pacer: CommitPacer(interval: configuration.commitInterval), backoff: backoff,
            logger: logger, catchUp: { try catchUp(self) })
    }
}
