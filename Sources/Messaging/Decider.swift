import Foundation

/// The events of the streams a command needs (``Command/streamsToLoad(context:)``), in version order.
public struct LoadedStreams: Sendable {
    public var records: [String: [Recorded<Event>]]
    /// Thread states already folded from exactly these records, by stream, when the caller keeps them;
    /// deciders then skip the fold.
    public var threads: [String: ThreadState]
    /// Stream versions, for streams whose records the caller does not pass (it passes their state).
    public var versions: [String: UInt64]

    public init(
        _ records: [String: [Recorded<Event>]] = [:], threads: [String: ThreadState] = [:],
        versions: [String: UInt64] = [:]
    ) {
        self.records = records
        self.threads = threads
        self.versions = versions
    }

    public subscript(stream: String) -> [Recorded<Event>] { records[stream] ?? [] }

    /// The thread folded from its stream.
    public func thread(_ id: ThreadID) -> ThreadState? {
        let stream = StreamName.thread(id)
        return threads[stream] ?? ThreadState.fold(self[stream])
    }

    /// The stream's version: the last loaded event's, 0 when it has none.
    public func version(of stream: String) -> UInt64 { versions[stream] ?? records[stream]?.last?.version ?? 0 }
}

/// What an append of a decision must find in a stream.
public enum Expectation: Sendable, Hashable {
    case noStream
    case version(UInt64)
}

public struct PlannedWrite: Sendable, Hashable {
    public var stream: String
    public var expected: Expectation
    public var events: [Event]
}

/// A decision turned into storage writes. All writes belong in one atomic append, each event encoded
/// with ``EventCodec`` and stamped with the context's `actor.recordedValue` and `now` (the folds read
/// message times and actors from the envelope). On a version conflict the engine reloads the streams
/// and decides again; a plan without writes is not appended.
public struct Plan: Sendable, Hashable {
    /// Every event in decision order.
    public var events: [Event]
    /// The events grouped by stream, streams in order of their first event.
    public var writes: [PlannedWrite]
    /// Set when opening a one-thread-per-subject kind found the subject taken: nothing is written and
    /// the caller answers with this thread (or with `thread_not_found` if the opener may not see it).
    public var existingThread: ThreadID?
}

/// The deciders: pure functions from a command, its context and the current state to new events.
/// A refusal throws and yields no events.
public enum Decider {
    public static func decide(
        _ command: Command, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        switch command {
        case .createParty(let id, let name, let kind):
            try createParty(
                id: id, name: name, kind: kind, context: context, directory: directory, loaded: loaded)
        case .createUser(let id, let name, let email, let party, let roles, let tokenHash):
            try createUser(
                UserCreated(
                    id: id, name: name, email: email, party: party, roles: roles, tokenHash: tokenHash),
                context: context, directory: directory, loaded: loaded)
        case .createServiceToken(let name, let tokenHash):
            try createServiceToken(name: name, tokenHash: tokenHash, context: context, loaded: loaded)
        case .replaceUserToken(let user, let tokenHash):
            try replaceUserToken(user: user, tokenHash: tokenHash, context: context, directory: directory)
        case .updateUser(let id, let name, let email, let roles):
            try updateUser(id, name: name, email: email, roles: roles, context: context, directory: directory)
        case .deactivateUser(let id):
            try deactivateUser(id, context: context, directory: directory)
        case .revokeServiceToken(let id):
            try revokeServiceToken(id, context: context, directory: directory)
        case .createStructure(let id, let name, let party, let shareHistory):
            try createStructure(
                StructureCreated(id: id, name: name, party: party, shareHistory: shareHistory),
                context: context,
                directory: directory, loaded: loaded)
        case .addStructureMember(let structure, let user):
            try addStructureMember(
                structure: structure, user: user, context: context, directory: directory)
        case .removeStructureMember(let structure, let user):
            try removeStructureMember(
                structure: structure, user: user, context: context, directory: directory)
        case .createCategory(let id, let name, let handlerRoles, let structures, let defaultRecipients):
            try createCategory(
                CategoryCreated(
                    id: id, name: name, handlerRoles: handlerRoles, structures: structures,
                    defaultRecipients: defaultRecipients),
                context: context, directory: directory, loaded: loaded)
        case .changeSettings(let patch):
            try changeSettings(patch, context: context)
        case .setMessageTemplate(let name, let text):
            try setMessageTemplate(name, text: text, context: context, directory: directory, loaded: loaded)
        case .openThread(let open):
            try openThread(open, context: context, directory: directory, loaded: loaded)
        case .postMessage(let thread, let message):
            try postMessage(message, on: thread, context: context, directory: directory, loaded: loaded)
        case .postNote(let thread, let text):
            try postNote(text, on: thread, context: context, directory: directory, loaded: loaded)
        case .moveReadMarker(let thread, let upTo):
            try moveReadMarker(
                thread: thread, upTo: upTo, context: context, directory: directory, loaded: loaded)
        case .assignHandler(let thread, let handler):
            try assignHandler(
                thread: thread, handler: handler, context: context, directory: directory, loaded: loaded)
        case .changeStatus(let thread, let status):
            try changeStatus(
                thread: thread, to: status, context: context, directory: directory, loaded: loaded)
        case .blockThread(let thread):
            try setBlocked(true, thread: thread, context: context, directory: directory, loaded: loaded)
        case .unblockThread(let thread):
            try setBlocked(false, thread: thread, context: context, directory: directory, loaded: loaded)
        case .changeAttributes(let thread, let patch):
            try changeAttributes(patch, thread: thread, context: context, directory: directory, loaded: loaded)
        case .changeMessageKind(let thread, let number, let kind):
            try changeMessageKind(number, to: kind, thread: thread, context: context, directory: directory, loaded: loaded)
        case .setCategoryRetention(let category, let days):
            try setCategoryRetention(category, days: days, context: context, directory: directory)
        case .placeLegalHold(let thread, let reason):
            try setLegalHold(true, reason: reason, thread: thread, context: context, loaded: loaded)
        case .releaseLegalHold(let thread):
            try setLegalHold(false, reason: "", thread: thread, context: context, loaded: loaded)
        case .purgeThread(let thread, let reason):
            try purgeThread(thread, reason: reason, context: context, loaded: loaded)
        case .scheduleDigest(let digest):
            try scheduleDigest(digest, context: context, directory: directory, loaded: loaded)
        case .recordDigestSent(let sent):
            try recordDigestSent(sent, context: context, loaded: loaded)
        case .declareSubject(let subject, let parties, let structures):
            try declareSubject(subject, parties: parties, structures: structures, context: context, directory: directory)
        case .recordUpload(let sha256, let size):
            try recordUpload(sha256: sha256, size: size, context: context, directory: directory, loaded: loaded)
        }
    }

    /// ``decide(_:context:directory:loaded:)`` with the events grouped into writes and each write's
    /// expected version taken from the loaded streams.
    public static func plan(
        _ command: Command, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> Plan {
        let events = try decide(command, context: context, directory: directory, loaded: loaded)
        var writes: [PlannedWrite] = []
        for event in events {
            let stream = event.stream
            if let index = writes.firstIndex(where: { $0.stream == stream }) {
                writes[index].events.append(event)
            } else {
                let version = loaded.version(of: stream)
                writes.append(
                    PlannedWrite(
                        stream: stream, expected: version == 0 ? .noStream : .version(version), events: [event])
                )
            }
        }
        var existingThread: ThreadID?
        if events.isEmpty, case .openThread(let open) = command, case .onePerSubject = open.rule {
            existingThread = open.extraStreams.first.flatMap { SubjectClaim.fold(loaded[$0])?.thread }
        }
        return Plan(events: events, writes: writes, existingThread: existingThread)
    }
}

// MARK: - Subjects

extension Decider {
    static func declareSubject(
        _ subject: Subject, parties: [PartyID], structures: [StructureID], context: CommandContext,
        directory: Directory
    ) throws(DomainError) -> [Event] {
        switch context.actor {
        case .admin, .service: break
        case .user: throw .notAllowed("only the administrator or a service declares subjects")
        }
        guard SubjectRule.isValidKind(subject.kind) else { throw .invalidSubject("the kind must be a lowercase word") }
        if case .numbered = SubjectRule(kind: subject.kind) {
            throw .invalidSubject("numbered kinds get their refs when opened")
        }
        let declared = Subject(
            kind: subject.kind, ref: try validRef(subject.ref.trimmingCharacters(in: .whitespaces)))
        for party in parties where directory.parties[party] == nil { throw .unknownParty(party) }
        for structure in structures where directory.structures[structure] == nil { throw .unknownStructure(structure) }
        let binding = SubjectBinding(parties: unique(parties), structures: unique(structures))
        guard directory.subjects[declared] != binding else { return [] }
        return [
            .subjectDeclared(SubjectDeclared(subject: declared, parties: binding.parties, structures: binding.structures))
        ]
    }
}

// MARK: - Uploads

extension Decider {
    /// Records the uploader once: a second upload of the same bytes by the same user adds nothing.
    static func recordUpload(
        sha256: String, size: Int64, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let user = try requireUser(context, in: directory)
        guard isSHA256Hex(sha256), size >= 0 else { throw .invalidAttachment(sha256) }
        let known = loaded[StreamName.blob(sha256)].contains {
            if case .blobUploaded(let e) = $0.event { e.uploader == user.id } else { false }
        }
        return known ? [] : [.blobUploaded(BlobUploaded(sha256: sha256, size: size, uploader: user.id))]
    }
}

// MARK: - Shared checks

extension Decider {
    static func requireAdmin(_ context: CommandContext) throws(DomainError) {
        guard context.actor == .admin else {
            throw .notAllowed("only the administrator manages the directory")
        }
    }

    static func requireUser(_ context: CommandContext, in directory: Directory) throws(DomainError)
        -> User
    {
        guard case .user(let id) = context.actor else { throw .notAllowed("only users act on threads") }
        guard let user = directory.users[id] else { throw .unknownUser(id) }
        return user
    }

    static func validName(_ name: String) throws(DomainError) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else { throw .invalidName }
        return trimmed
    }

    static func validID<ID: Identifier>(_ id: ID) throws(DomainError) {
        guard id.isValid else { throw .invalidID(id.rawValue) }
    }

    static func validTokenHash(_ hash: String) throws(DomainError) {
        guard isSHA256Hex(hash) else { throw .invalidTokenHash }
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && text.count <= 254 && !text.contains(where: \.isWhitespace)
    }

    /// The readable thread, or `thread_not_found` for a missing thread and an unentitled user alike.
    static func readableThread(
        _ id: ThreadID, for user: User, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> ThreadState {
        guard let thread = loaded.thread(id),
            Access.canRead(user.id, thread, directory)
        else { throw .threadNotFound(id) }
        guard !thread.isPurged else { throw .threadPurged(id) }
        return thread
    }
}

extension String {
    /// Nothing but white space (or nothing at all). Stops at the first other character.
    var isBlank: Bool { unicodeScalars.allSatisfy(\.properties.isWhitespace) }
}
