import Messaging

/// What a mail template may name, typed: hashable, so a rendering can be reused for an equal context,
/// and turned into the dictionary mustache reads only when a template actually runs.
struct MailContext: Hashable, Sendable {
    struct ThreadFields: Hashable, Sendable {
        var id, title, number, link, status, priority: String
        /// Absent rather than empty, so `{{#thread.category}}…{{/thread.category}}` is skipped without one.
        var category: String?
    }

    struct Recipient: Hashable, Sendable {
        var name, email: String
    }

    struct Listed: Hashable, Sendable {
        var title, number, link: String
    }

    var portal: String? = "Threadlog"
    var subject: Subject?
    var thread: ThreadFields?
    /// The author's name as the reader may see it; empty when the display policy hides it.
    var author: String?
    var recipient: Recipient?
    var event: String?
    var message: PostedMessage?
    var status: ThreadStatusChanged?
    var handlerName: String?
    // Digests:
    var unread: Int?
    var day: String?
    var link: String?
    var threads: [Listed]?

    init() {}

    /// Only the named top-level entries; the rest cannot change what a template naming just those renders.
    func keeping(_ names: [String]) -> MailContext {
        var kept = MailContext()
        kept.portal = nil
        for name in names {
            switch name {
            case "portal": kept.portal = portal
            case "subject": kept.subject = subject
            case "thread": kept.thread = thread
            case "author": kept.author = author
            case "recipient": kept.recipient = recipient
            case "event": kept.event = event
            case "message": kept.message = message
            case "status": kept.status = status
            case "handler": kept.handlerName = handlerName
            case "unread", "single": kept.unread = unread
            case "day": kept.day = day
            case "link": kept.link = link
            case "threads": kept.threads = threads
            default: break
            }
        }
        return kept
    }

    /// The form mustache reads.
    var dictionary: [String: Any] {
        var out: [String: Any] = [:]
        if let portal { out["portal"] = portal }
        if let subject { out["subject"] = ["kind": subject.kind, "ref": subject.ref] }
        if let thread {
            var fields: [String: Any] = [
                "id": thread.id, "title": thread.title, "number": thread.number, "link": thread.link,
                "status": thread.status, "priority": thread.priority,
            ]
            if let category = thread.category { fields["category"] = category }
            out["thread"] = fields
        }
        if let author { out["author"] = ["shown": !author.isEmpty, "name": author] as [String: Any] }
        if let recipient { out["recipient"] = ["name": recipient.name, "email": recipient.email] }
        if let event { out["event"] = event }
        if let message {
            out["message"] = ["number": message.number, "text": message.text, "kind": message.kind.rawValue] as [String: Any]
        }
        if let status { out["status"] = ["from": status.from.rawValue, "to": status.to.rawValue] }
        if let handlerName { out["handler"] = ["name": handlerName] }
        if let unread {
            out["unread"] = unread
            out["single"] = unread == 1
        }
        if let day { out["day"] = day }
        if let link { out["link"] = link }
        if let threads {
            out["threads"] = threads.map { ["title": $0.title, "number": $0.number, "link": $0.link] }
        }
        return out
    }
}
