import EventLog
import Messaging

/// Readable one-line accounts of events and thread states, for the audit tool.
public enum Summary {
    /// What happened, in words, e.g. `message #3 by sam on thread 7f…: "Thanks, resolved"`.
    public static func describe(_ event: Event) -> String {
        switch event {
        case .partyCreated(let e): "party \(e.id) \(quoted(e.name)) created (\(e.kind))"
        case .userCreated(let e):
            "user \(e.id) \(quoted(e.name)) <\(e.email)> of party \(e.party) created\(roles(e.roles))"
        case .serviceTokenCreated(let e): "service token \(e.id) \(quoted(e.name)) created"
        case .userTokenReplaced(let e): "token of user \(e.id) replaced"
        case .userUpdated(let e): "user \(e.id) is now \(quoted(e.name)) <\(e.email)>\(roles(e.roles))"
        case .userDeactivated(let e): "user \(e.id) deactivated"
        case .serviceTokenRevoked(let e): "service token \(e.id) revoked"
        case .structureCreated(let e):
            "structure \(e.id) \(quoted(e.name)) of party \(e.party) created\(e.shareHistory ? " (shares history)" : "")"
        case .structureMemberAdded(let e): "user \(e.user) added to structure \(e.structure)"
        case .structureMemberRemoved(let e): "user \(e.user) removed from structure \(e.structure)"
        case .categoryCreated(let e):
            "category \(e.id) \(quoted(e.name)) created, handled by \(list(e.handlerRoles.map(\.rawValue) + e.structures.map { "structure \($0)" }))"
        case .settingsChanged: "settings changed"
        case .threadOpened(let e):
            "thread \(e.thread) opened on \(e.subject.kind) \(e.subject.ref): \(quoted(e.title)) (\(e.priority), \(e.type)\(e.category.map { ", category \($0)" } ?? ""))\(roles(e.roles ?? []))"
        case .subjectClaimed(let e): "\(e.subject.kind) \(e.subject.ref) claimed by thread \(e.thread)"
        case .ticketNumbered(let e): "ticket number \(e.number) given to thread \(e.thread)"
        case .messagePosted(let e):
            "message #\(e.number) by \(e.author) on thread \(e.thread): \(quoted(excerpt(e.text)))\(e.attachments.isEmpty ? "" : " (+\(e.attachments.count) attachment\(e.attachments.count == 1 ? "" : "s"))")\(e.concerning.map { " concerning \($0.kind.rawValue) \(quoted($0.name))" } ?? "")\(e.template.map { " from template \(quoted($0))" } ?? "")"
        case .notePosted(let e): "internal note #\(e.number) by \(e.author) on thread \(e.thread): \(quoted(excerpt(e.text)))"
        case .readMarkerMoved(let e): "\(e.user) read thread \(e.thread) up to #\(e.upTo)"
        case .handlerAssigned(let e): "thread \(e.thread) assigned to \(e.handler)"
        case .threadStatusChanged(let e): "thread \(e.thread) \(e.from) → \(e.to) (\(e.reason))"
        case .threadBlocked(let e): "thread \(e.thread) blocked"
        case .threadUnblocked(let e): "thread \(e.thread) unblocked"
        case .messageKindChanged(let e): "thread \(e.thread) message #\(e.number) is now a \(e.kind.rawValue)"
        case .threadAttributesChanged(let e):
            "thread \(e.thread) now \(e.priority), \(e.type), importance \(e.importance)\(e.category.map { ", category \($0)" } ?? ", no category")\(e.participantsAdded.isEmpty ? "" : ", adding \(list(e.participantsAdded.map(\.rawValue)))")\(e.structuresAdded.isEmpty ? "" : ", adding structures \(list(e.structuresAdded.map(\.rawValue)))")"
        case .categoryRetentionSet(let e):
            "category \(e.category) keeps threads \(e.days.map { "\($0) days" } ?? "as long as the deployment does") after their last activity"
        case .legalHoldPlaced(let e): "legal hold placed on thread \(e.thread): \(quoted(e.reason))"
        case .legalHoldReleased(let e): "legal hold on thread \(e.thread) released"
        case .threadPurged(let e): "thread \(e.thread) purged: \(quoted(e.reason))"
        case .digestScheduled(let e):
            "digest for \(e.user) on \(e.subject.kind) \(e.subject.ref) scheduled for \(e.day) (\(e.unread) unread)"
        case .digestSent(let e):
            "digest for \(e.user) on \(e.subject.kind) \(e.subject.ref) of \(e.day) \(e.failure.map { "refused: \(quoted($0))" } ?? "sent as \(e.messageID)")"
        case .blobUploaded(let e): "blob \(e.sha256) (\(e.size) bytes) uploaded by \(e.uploader)"
        case .subjectDeclared(let e):
            "subject \(e.subject.kind) \(e.subject.ref) belongs to parties \(e.parties.map(\.rawValue)) and structures \(e.structures.map(\.rawValue))"
        }
    }

    /// `#position time actor: what happened`; an event that does not decode says so instead.
    public static func line(_ recorded: RecordedEvent) -> String {
        let head = "#\(recorded.position) \(recorded.time) \(recorded.actor.isEmpty ? "-" : recorded.actor):"
        if recorded.isPurged { return "\(head) \(recorded.type) on \(recorded.stream) [purged]" }
        do {
            return "\(head) \(describe(try recorded.decoded().event))"
        } catch {
            return "\(head) \(recorded.type) on \(recorded.stream) [undecodable: \(error)]"
        }
    }

    /// A thread's state, one fact a line.
    public static func report(_ state: ThreadState) -> String {
        var lines = [
            "thread \(state.id)",
            "  subject:      \(state.subject.kind) \(state.subject.ref)",
            "  title:        \(state.title)",
            "  status:       \(state.status)\(state.blocked ? " (blocked)" : "")",
            "  priority:     \(state.priority)   type: \(state.type)   importance: \(state.importance)",
            "  category:     \(state.category?.rawValue ?? "-")",
            "  handler:      \(state.handler?.rawValue ?? "-")",
            "  opened:       by \(state.openedBy) at \(ISOTime.format(millis: state.openedAtMillis))",
            "  participants: \(list(state.participants.map(\.rawValue)))",
            "  structures:   \(list(state.structures.map(\.rawValue)))",
            "  last activity \(ISOTime.format(millis: state.lastActivityMillis)), \(state.messageCount) message\(state.messageCount == 1 ? "" : "s")",
        ]
        if state.legalHold { lines.append("  legal hold:   yes") }
        if let purged = state.purgedAtMillis { lines.append("  purged:       \(ISOTime.format(millis: purged)) [content destroyed]") }
        for message in state.messages {
            lines.append("  #\(message.number) \(ISOTime.format(millis: message.timeMillis)) \(message.author): \(quoted(excerpt(message.text)))")
        }
        for (user, upTo) in state.readMarkers.sorted(by: { $0.key < $1.key }) {
            lines.append("  read marker: \(user) up to #\(upTo)")
        }
        return lines.joined(separator: "\n")
    }

    private static func quoted(_ text: String) -> String { "\"\(text)\"" }
    private static func list(_ items: [String]) -> String { items.isEmpty ? "-" : items.joined(separator: ", ") }
    private static func roles(_ roles: [Role]) -> String {
        roles.isEmpty ? "" : " with roles \(roles.map(\.rawValue).joined(separator: ", "))"
    }

    private static func excerpt(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > 80 ? String(flat.prefix(79)) + "…" : flat
    }
}
