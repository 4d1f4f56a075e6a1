import Foundation
import Messaging
import Mustache
import Projections
import Synchronization

/// Which mails an event produces: pure functions of the event, the thread as of the event and the
/// directory as of the event. Rules come from the settings; without any, `defaults` apply.
enum NotificationRules {
    static let defaults: [NotificationRule] = [
        NotificationRule(
            on: .threadOpened, to: [.outsideAuthor],
            subjectTemplate: "We received your request {{thread.number}}: {{thread.title}}",
            bodyTemplate: """
                Hello {{recipient.name}},

                your request "{{thread.title}}" about {{subject.kind}} {{subject.ref}} has been received. \
                We will answer you in Threadlog.

                {{thread.link}}

                """),
        NotificationRule(
            on: .threadOpened, to: [.handlers],
            subjectTemplate: "New thread {{thread.number}}: {{thread.title}}",
            bodyTemplate: """
                Hello {{recipient.name}},

                a new thread was opened{{#author.shown}} by {{author.name}}{{/author.shown}} on \
                {{subject.kind}} {{subject.ref}}{{#thread.category}} in {{thread.category}}{{/thread.category}}: \
                "{{thread.title}}".

                {{thread.link}}

                """),
        NotificationRule(
            on: .messagePosted, to: [.otherSide],
            subjectTemplate: "New message on {{subject.kind}} {{subject.ref}}: {{thread.title}}",
            bodyTemplate: """
                Hello {{recipient.name}},

                there is a new message{{#author.shown}} from {{author.name}}{{/author.shown}} in \
                "{{thread.title}}" ({{subject.kind}} {{subject.ref}}). Please log in to read it:

                {{thread.link}}

                """),
    ]

    /// The rules in force: none with immediate mail switched off, the defaults when none are set.
    static func rules(_ settings: Settings) -> [NotificationRule] {
        guard settings.notificationsEnabled else { return [] }
        return settings.notifications.isEmpty ? defaults : settings.notifications
    }

    /// What raised a notification.
    struct Occasion {
        var trigger: NotificationRule.Trigger
        var thread: ThreadState
        /// The user whose action it was; `nil` for the administrator.
        var actor: UserID?
        var position: UInt64
        var message: PostedMessage?
        var statusChange: ThreadStatusChanged?
        /// Who may see a thread, from its few candidates; without it every user is checked.
        var audience: Audience?
    }

    /// The mails of every matching rule. `excluding` drops recipients already mailed for the same thing
    /// (the first message of a thread is announced by the opening's mails).
    /// With `perRecipient` (replies by mail are on) every user gets a mail of their own, since each
    /// carries that user's reply address; fixed Bcc addresses then get the first one only.
    static func drafts(
        for occasion: Occasion, directory: Directory, publicURL: String, excluding: Set<UserID> = [],
        perRecipient: Bool = false
    ) -> [MailDraft] {
        let matching = rules(directory.settings).filter { $0.on == occasion.trigger }
        guard !matching.isEmpty else { return [] }
        // Who may see what the event recorded: worked out once per event, for every rule and group.
        let visible = readers(occasion, directory)
        var drafts: [MailDraft] = []
        for rule in matching {
            let to = recipients(rule.to, occasion, directory, readers: visible).filter { !excluding.contains($0) }
            let cc = recipients(rule.cc, occasion, directory, readers: visible).filter {
                !excluding.contains($0) && !to.contains($0)
            }
            guard !to.isEmpty || !cc.isEmpty || !rule.bcc.isEmpty else { continue }
            // The author is shown as the display policy shows them to each reader, so readers are
            // grouped by what they would read: one mail per distinct rendering.
            var groups: [(subject: String, body: String, to: [String], cc: [String], users: [UserID])] = []
            func add(_ user: UserID, asCc: Bool) {
                guard let person = directory.users[user], person.active else { return }
                let context = context(occasion, reader: person, directory: directory, publicURL: publicURL)
                let subject = render(rule.subjectTemplate, context, oneLine: true)
                let body = render(rule.bodyTemplate, context)
                let address = mailbox(person)
                if !perRecipient, let index = groups.firstIndex(where: { $0.subject == subject && $0.body == body }) {
                    if asCc { groups[index].cc.append(address) } else { groups[index].to.append(address) }
                    groups[index].users.append(user)
                } else {
                    groups.append((subject, body, asCc ? [] : [address], asCc ? [address] : [], [user]))
                }
            }
            for user in to { add(user, asCc: false) }
            for user in cc { add(user, asCc: true) }
            if groups.isEmpty, !rule.bcc.isEmpty {
                // Only fixed addresses (an archive): rendered as the thread's internal side reads it.
                let context = context(occasion, reader: nil, directory: directory, publicURL: publicURL)
                groups.append(
                    (render(rule.subjectTemplate, context, oneLine: true), render(rule.bodyTemplate, context), [], [], []))
            }
            for (rank, group) in groups.enumerated() {
                drafts.append(
                    MailDraft(
                        trigger: occasion.trigger.rawValue, thread: occasion.thread.id, threads: [occasion.thread.id],
                        digest: nil,
                        to: group.to.isEmpty ? group.cc : group.to, cc: group.to.isEmpty ? [] : group.cc,
                        bcc: perRecipient && rank > 0 ? [] : rule.bcc,
                        subject: group.subject, body: group.body,
                        replyUser: perRecipient && group.users.count == 1 ? group.users[0] : nil))
            }
        }
        return drafts
    }

    /// The users who may see what the event recorded, in id order.
    static func readers(_ occasion: Occasion, _ directory: Directory) -> [UserID] {
        let thread = occasion.thread
        let candidates = occasion.audience?.users(of: thread, in: directory) ?? directory.users.keys.sorted()
        return candidates.filter { Access.canRead($0, thread, directory, atPosition: occasion.position) }
    }

    /// The users a rule's recipient groups name, without repeats, never the actor (but as `author`),
    /// only `readers` (by default: who may see what the event recorded).
    static func recipients(
        _ groups: [NotificationRule.Recipient], _ occasion: Occasion, _ directory: Directory,
        readers known: [UserID]? = nil
    ) -> [UserID] {
        guard !groups.isEmpty else { return [] }
        let thread = occasion.thread
        let readers = known ?? Self.readers(occasion, directory)
        var out: [UserID] = []
        for group in groups {
            var found: [UserID]
            switch group {
            case .author:
                found = occasion.actor.map { [$0] } ?? []
            case .outsideAuthor:
                found = occasion.actor.flatMap { directory.isInternal($0) ? nil : [$0] } ?? []
            case .otherSide:
                if let actor = occasion.actor, !directory.isInternal(actor) {
                    // The internal side of a thread: its handler and internal participants, else whoever
                    // holds its handler roles.
                    found = readers.filter {
                        directory.isInternal($0) && ($0 == thread.handler || thread.participants.contains($0))
                    }
                    if found.isEmpty { found = readers.filter { Access.isHandler($0, of: thread, in: directory) } }
                    // Outside readers of another party: a subcontractor a structure shares the thread with.
                    found += readers.filter { !directory.isInternal($0) && !directory.sameSide($0, actor) }
                } else {
                    found = readers.filter { !directory.isInternal($0) }
                }
            case .handlers:
                found = readers.filter { Access.isHandler($0, of: thread, in: directory) }
            case .handler:
                found = thread.handler.map { [$0] } ?? []
            case .participants:
                found = readers
            }
            for user in found where !out.contains(user) && readers.contains(user) {
                if group != .author, group != .outsideAuthor, user == occasion.actor { continue }
                out.append(user)
            }
        }
        return out
    }

    static func context(_ occasion: Occasion, reader: User?, directory: Directory, publicURL: String) -> MailContext {
        let thread = occasion.thread
        var context = base(thread, directory: directory, publicURL: publicURL)
        context.author = ""
        if let actor = occasion.actor {
            let display =
                reader.map { Access.authorDisplay(author: actor, reader: $0.id, thread: thread, in: directory) }
                ?? AuthorDisplay(id: actor, name: directory.users[actor]?.name ?? actor.rawValue)
            context.author = display.name ?? ""
        }
        context.recipient = .init(name: reader?.name ?? "", email: reader?.email ?? "")
        context.event = occasion.trigger.rawValue
        context.message = occasion.message
        context.status = occasion.statusChange
        // The handler's name as the display policy shows it to the recipient (no name under `none`).
        context.handlerName = thread.handler.flatMap { handler -> String? in
            guard let reader else { return directory.users[handler]?.name ?? handler.rawValue }
            return Access.authorDisplay(author: handler, reader: reader.id, thread: thread, in: directory).name
        }
        return context
    }

    /// What every template may use about a thread.
    static func base(_ thread: ThreadState, directory: Directory, publicURL: String) -> MailContext {
        var context = MailContext()
        context.subject = thread.subject
        context.thread = fields(thread, directory: directory, publicURL: publicURL)
        return context
    }

    static func fields(_ thread: ThreadState, directory: Directory, publicURL: String) -> MailContext.ThreadFields {
        MailContext.ThreadFields(
            id: thread.id.rawValue, title: thread.title, number: thread.number ?? thread.subject.ref,
            link: link(thread.id, publicURL), status: thread.status.rawValue, priority: thread.priority.rawValue,
            category: thread.category.map { directory.categories[$0]?.name ?? $0.rawValue })
    }

    /// The mail of a decided digest.
    static func digestDraft(
        _ digest: DigestScheduled, threads: [ThreadState], directory: Directory, publicURL: String
    ) -> MailDraft? {
        guard let user = directory.users[digest.user], user.active else { return nil }
        var context = MailContext()
        context.subject = digest.subject
        context.recipient = .init(name: user.name, email: user.email)
        context.unread = digest.unread
        context.day = digest.day
        context.link = publicURL + "/"
        context.threads = threads.map {
            .init(title: $0.title, number: $0.number ?? $0.subject.ref, link: link($0.id, publicURL))
        }
        context.thread = threads.first.map { fields($0, directory: directory, publicURL: publicURL) }
        return MailDraft(
            trigger: "digest", thread: threads.first?.id, threads: digest.threads,
            digest: OutboxEntry.DigestKey(user: digest.user, subject: digest.subject, day: digest.day),
            to: [mailbox(user)], cc: [], bcc: [],
            subject: render(directory.settings.digest.subjectTemplate, context, oneLine: true),
            body: render(directory.settings.digest.bodyTemplate, context),
            // A reply answers a thread: only a digest about a single one has a thread to answer.
            replyUser: digest.threads.count == 1 ? digest.user : nil)
    }

    static func link(_ thread: ThreadID, _ publicURL: String) -> String { "\(publicURL)/threads/\(thread.rawValue)" }

    /// The characters a display name may not contain unquoted (all ASCII, so compared as bytes).
    private static let unquotable = Set("\"<>,;:@\\()[]\r\n".utf8)

    static func mailbox(_ user: User) -> String {
        // A name with characters that need quoting is left out rather than risk a malformed header.
        let safe = user.name.utf8.allSatisfy { !unquotable.contains($0) }
        return safe && !user.name.isEmpty ? "\(user.name) <\(user.email)>" : user.email
    }

    /// Renders plain text: no HTML escaping. A template that does not parse is sent as written, so a
    /// settings mistake shows in the mail rather than losing it.
    static func render(_ template: String, _ context: MailContext, oneLine: Bool = false) -> String {
        templates.render(template, context, oneLine: oneLine)
    }

    /// Templates parse once; settings hold only a few.
    static let templates = TemplateCache()

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

/// Parsed templates by their text, and what they rendered lately. A rendering depends only on the
/// context entries the template names, so consecutive mails about one thread (the same title, author
/// and reader, another message) reuse one rendering instead of running the template again.
final class TemplateCache: Sendable {
    struct Compiled: Sendable {
        var template: MustacheTemplate?
        var id: Int
        /// The top-level context names the template's tags mention, sorted; `nil` when that cannot be
        /// told from its text (custom delimiters, partials, the bare context `.`): never memoised then.
        var names: [String]?
    }

    struct RenderKey: Hashable {
        var template: Int
        var oneLine: Bool
        var context: MailContext
    }

    private let templates = Mutex<(byText: [String: Compiled], lastID: Int)>(([:], 0))
    private let renders = Mutex<[RenderKey: String]>([:])
    private let capacity: Int

    init(capacity: Int = 8192) { self.capacity = capacity }

    /// The template rendered over the context; `oneLine` joins the lines (a mail subject).
    func render(_ text: String, _ context: MailContext, oneLine: Bool = false) -> String {
        let compiled = self.compiled(text)
        guard let template = compiled.template else { return oneLine ? NotificationRules.oneLine(text) : text }
        guard let names = compiled.names else {
            let rendered = template.render(context.dictionary)
            return oneLine ? NotificationRules.oneLine(rendered) : rendered
        }
        let key = RenderKey(template: compiled.id, oneLine: oneLine, context: context.keeping(names))
        if let known = renders.withLock({ $0[key] }) { return known }
        var rendered = template.render(context.dictionary)
        if oneLine { rendered = NotificationRules.oneLine(rendered) }
        renders.withLock { renders in
            if renders.count >= capacity { renders.removeAll(keepingCapacity: true) }
            renders[key] = rendered
        }
        return rendered
    }

    func compiled(_ text: String) -> Compiled {
        // The same few template strings come back for every mail: compared first (equal storage makes
        // that a pointer check), hashing a template's whole text only when none matches.
        if let known = recent.withLock({ recent in recent.first { $0.text == text }?.compiled }) { return known }
        let compiled = lookUp(text)
        recent.withLock { recent in
            if recent.count >= 16 { recent.removeFirst() }
            recent.append((text, compiled))
        }
        return compiled
    }

    private let recent = Mutex<[(text: String, compiled: Compiled)]>([])

    private func lookUp(_ text: String) -> Compiled {
        if let known = templates.withLock({ $0.byText[text] }) { return known }
        let parsed = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
        return templates.withLock { templates in
            if let known = templates.byText[text] { return known }
            if templates.byText.count > 256 { templates.byText.removeAll() }
            // Ids are never reused, so renderings of a dropped template cannot answer for another.
            templates.lastID += 1
            let compiled = Compiled(template: parsed, id: templates.lastID, names: Self.names(in: text))
            templates.byText[text] = compiled
            return compiled
        }
    }

    /// The first segment of every name in the template's tags (`thread` for `{{#thread.category}}`),
    /// over-approximated: any word in a tag counts.
    static func names(in text: String) -> [String]? {
        var names: Set<String> = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let tag = rest[open.upperBound..<close.lowerBound]
            rest = rest[close.upperBound...]
            let trimmed = tag.drop { $0 == " " || $0 == "{" || $0 == "&" || $0 == "#" || $0 == "^" || $0 == "/" }
            switch trimmed.first {
            case "!": continue
            case "=", ">", "<", "$": return nil
            default: break
            }
            for word in trimmed.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }) {
                if word.first == "." { return nil }
                names.insert(String(word.prefix { $0 != "." }))
            }
        }
        return names.sorted()
    }
}
