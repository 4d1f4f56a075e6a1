import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Messaging

// The inbox, a thread, the new-thread form, and what their forms post.
extension WebConsole {
    static let pageSize = 25
    static let subjectKinds = ["contract", "ticket", "request", "case"]

    func inboxPage(_ visit: Visit, _ session: ConsoleSession) async throws -> Response {
        let parameters = visit.request.uri.queryParameters
        func text(_ name: String) -> String? {
            parameters.get(name).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        // A filter value no thread can have (a hand-edited link) is dropped rather than refused.
        let status = text("status").flatMap(ThreadStatus.init(rawValue:))
        let priority = text("priority").flatMap(Priority.init(rawValue:))
        let type = text("type").flatMap(ThreadType.init(rawValue:))
        let search = text("q")
        let cursor = text("cursor")
        let directory = try handler.currentDirectory()
        let choices = InboxChoices(directory, reader: session.user)
        let category = text("category").flatMap { choices.categories.contains(CategoryID($0)) ? $0 : nil }
        let handlerFilter = text("handler").flatMap { choices.handlers.contains(UserID($0)) ? $0 : nil }
        let party = text("party").flatMap { choices.parties.contains(PartyID($0)) ? $0 : nil }
        let unreadOnly = text("unread") == "1"
        let query = InboxQuery(
            status: status?.rawValue, priority: priority?.rawValue, type: type?.rawValue, category: category,
            party: party, handler: handlerFilter, text: search, unreadOnly: unreadOnly, limit: Self.pageSize,
            cursor: cursor)
        let head = try await fetchHead()
        let page: InboxPage
        do {
            page = try await queries.inbox(query, reader: session.user, minPosition: head)
        } catch is InvalidQuery {
            // A cursor this inbox did not hand out (a hand-edited link).
            throw ConsoleRefusal.notFound
        }
        let unread = try await queries.unread(reader: session.user, minPosition: head)
        let labels = visit.labels
        let items: [[String: Any]] = page.items.map { item in
            [
                "id": item.id, "number": item.number ?? "", "title": item.title,
                "subjectKind": labels.value("subject", item.subject.kind), "subjectRef": item.subject.ref,
                "status": item.status, "statusLabel": labels.value("status", item.status),
                "priority": item.priority, "priorityLabel": labels.value("priority", item.priority),
                "typeLabel": labels.value("type", item.type),
                "handler": item.handlerName ?? "",
                "openedBy": item.openedByName ?? labels["hidden_author"],
                "unread": item.unread, "hasUnread": item.unread > 0,
                "lastActivity": item.lastActivity, "lastActivityText": Self.shortTime(item.lastActivity),
            ]
        }
        var filters: [String] = []
        if let search { filters.append("q=" + FormData.encode(search)) }
        if let status { filters.append("status=" + status.rawValue) }
        if let priority { filters.append("priority=" + priority.rawValue) }
        if let type { filters.append("type=" + type.rawValue) }
        if let category { filters.append("category=" + FormData.encode(category)) }
        if let handlerFilter { filters.append("handler=" + FormData.encode(handlerFilter)) }
        if let party { filters.append("party=" + FormData.encode(party)) }
        if unreadOnly { filters.append("unread=1") }
        let base = "/inbox?" + filters.joined(separator: "&")
        let context: [String: Any] = [
            "items": items, "hasItems": !items.isEmpty, "q": search ?? "",
            "totalUnread": unread.total, "hasUnread": unread.total > 0,
            "statuses": Self.options(ThreadStatus.allCases.map(\.rawValue), "status", selected: status?.rawValue, labels),
            "priorities": Self.options(Priority.allCases.map(\.rawValue), "priority", selected: priority?.rawValue, labels),
            "types": Self.options(ThreadType.allCases.map(\.rawValue), "type", selected: type?.rawValue, labels),
            "categories": choices.categoryOptions(selected: category),
            "hasCategories": !choices.categories.isEmpty,
            "handlers": choices.handlerOptions(selected: handlerFilter),
            "hasHandlers": !choices.handlers.isEmpty,
            "parties": choices.partyOptions(selected: party),
            "unreadOnly": unreadOnly, "isFiltered": !filters.isEmpty,
            "isLaterPage": cursor != nil, "firstPage": base,
            "hasNext": page.nextCursor != nil,
            "nextPage": page.nextCursor.map { base + (filters.isEmpty ? "" : "&") + "cursor=" + FormData.encode($0) } ?? "",
        ]
        return self.page("inbox", title: labels["inbox"], context, visit, live: true)
    }

    func threadPage(_ id: ThreadID, _ visit: Visit, _ session: ConsoleSession) async throws -> Response {
        guard id.isValid else { throw ConsoleRefusal.notFound }
        let user = session.user
        let view = try await queries.threadView(id, reader: user, minPosition: try await fetchHead())
        let directory = try handler.currentDirectory()
        guard let state = try handler.threadState(id) else { throw ConsoleRefusal.notFound }
        let labels = visit.labels
        let marker = state.readMarker(of: user)
        // `?template=name` prefills the post box (the no-script way to use a template).
        let template = visit.request.uri.queryParameters.get("template")
        let messages: [[String: Any]] = view.messages.map { message in
            [
                "number": message.number, "author": message.author.name ?? labels["hidden_author"],
                "mine": message.author.id == user.rawValue, "isTask": message.kind == MessageKind.task.rawValue,
                "isNew": message.number > marker && message.author.id != user.rawValue,
                "time": message.time, "timeText": Self.shortTime(message.time), "body": message.body,
                "hasAttachments": !message.attachments.isEmpty,
                "attachments": Self.attachmentLinks(message.attachments, thread: id.rawValue),
            ]
        }
        let thread = view.thread
        let isInternal = directory.isInternal(user)
        let status = ThreadStatus(rawValue: thread.status)
        let context: [String: Any] = [
            "id": thread.id, "hasNumber": thread.number != nil, "number": thread.number ?? "", "title": thread.title,
            "subjectKind": labels.value("subject", thread.subject.kind), "subjectRef": thread.subject.ref,
            "status": thread.status, "statusLabel": labels.value("status", thread.status),
            "priority": thread.priority, "priorityLabel": labels.value("priority", thread.priority),
            "typeLabel": labels.value("type", thread.type),
            "handler": thread.handler.map { directory.users[UserID($0)]?.name ?? $0 } ?? "—",
            "messageCount": thread.messageCount, "blocked": thread.blocked, "messages": messages,
            "contacts": view.contacts.map { contact in
                [
                    "name": contact.name,
                    "party": directory.parties[PartyID(contact.party)]?.name ?? contact.party,
                    "side": labels[contact.internal ? "internal" : "external"],
                ]
            },
            "isHandler": Access.isHandler(user, of: state, in: directory),
            "isOwner": state.handler == user,
            "statuses": Self.options(ThreadStatus.allCases.map(\.rawValue), "status", selected: thread.status, labels),
            "canResolve": !isInternal && status != .resolved && status != .closed,
            "canPost": Access.canWrite(user, state, directory) && status != .closed,
            "isInternal": isInternal,
            "notes": (view.notes ?? []).map { note in
                [
                    "number": note.number, "author": note.author.name ?? "", "time": note.time,
                    "timeText": Self.shortTime(note.time), "body": note.body,
                ] as [String: Any]
            },
            "canAttach": attachmentsAllowed(directory),
            "templates": Self.templates(directory, selected: template),
            // Templates are the operator's canned answers: the internal side's.
            "hasTemplates": isInternal && !directory.settings.messageTemplates.isEmpty,
            "prefill": template.flatMap { directory.settings.messageTemplates[$0] } ?? "",
            "assignees": Self.assignees(state, directory),
        ]
        // Seeing the page is reading it: the marker moves to the last message shown.
        if view.unread > 0, let last = view.messages.last?.number, last > marker {
            do {
                _ = try await handler.handle(.moveReadMarker(thread: id, upTo: last), actor: .user(user))
            } catch {
                logger.warning(
                    "console could not move a read marker",
                    metadata: ["thread": "\(id.rawValue)", "error": "\(String(describing: error))"])
            }
        }
        return page("thread", title: thread.title, context, visit, live: true, threadID: thread.id)
    }

    func threadAction(
        _ id: ThreadID, action: String, _ form: FormData, _ visit: Visit, _ session: ConsoleSession
    ) async throws -> Response {
        guard id.isValid else { throw ConsoleRefusal.notFound }
        let command: Command
        switch action {
        case "messages":
            let kind = form["kind"].flatMap(MessageKind.init(rawValue:)) ?? .message
            // Line ends as the browser sends them (CRLF) are kept as plain newlines.
            let text = (form["body"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            // Files are stored only for a thread the user may write to; the post itself is decided
            // by the command, as ever.
            if !form.files.isEmpty {
                let directory = try handler.currentDirectory()
                guard let state = try handler.threadState(id), Access.canRead(session.user, state, directory) else {
                    throw ConsoleRefusal.notFound
                }
                guard Access.canWrite(session.user, state, directory) else { throw DomainError.threadBlocked(id) }
            }
            let attachments = try await storeAttachments(form.files, session)
            command = .postMessage(thread: id, message: NewMessage(text: text, kind: kind, attachments: attachments))
        case "take": command = .assignHandler(thread: id, handler: session.user)
        case "assign":
            guard let handler = form.text("handler") else { throw ConsoleRefusal.notFound }
            command = .assignHandler(thread: id, handler: UserID(handler))
        case "status":
            guard let status = form["status"].flatMap(ThreadStatus.init(rawValue:)) else {
                throw ConsoleRefusal.notFound
            }
            command = .changeStatus(thread: id, to: status)
        case "notes":
            let text = (form["body"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            command = .postNote(thread: id, text: text)
        case "block": command = .blockThread(id)
        case "unblock": command = .unblockThread(id)
        default: throw ConsoleRefusal.notFound
        }
        let outcome = try await handler.handle(command, actor: .user(session.user))
        var anchor = ""
        for recorded in outcome.events {
            if case .messagePosted(let posted) = recorded.event { anchor = "#m\(posted.number)" }
            if case .notePosted(let note) = recorded.event { anchor = "#n\(note.number)" }
        }
        return Self.redirect("/threads/\(id.rawValue)\(anchor)")
    }

    func newThreadPage(
        _ visit: Visit, _ session: ConsoleSession, form: FormData? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let labels = visit.labels
        let directory = try handler.currentDirectory()
        let categories = directory.categories.values.sorted { $0.id < $1.id }.map { category in
            ["value": category.id.rawValue, "label": category.name, "selected": form?["category"] == category.id.rawValue]
                as [String: Any]
        }
        let context: [String: Any] = [
            "kinds": Self.options(Self.subjectKinds, "subject", selected: form?["kind"] ?? "contract", labels),
            "ref": form?["ref"] ?? "", "title": form?["title"] ?? "", "body": form?["body"] ?? "",
            "hasCategories": !categories.isEmpty, "categories": categories,
            "priorities": Self.options(
                Priority.allCases.map(\.rawValue), "priority", selected: form?["priority"] ?? "normal", labels),
            "types": Self.options(ThreadType.allCases.map(\.rawValue), "type", selected: form?["type"] ?? "message", labels),
            "hasError": error != nil, "error": error ?? "",
            "canAttach": attachmentsAllowed(directory),
        ]
        return page("newThread", title: labels["new_thread"], context, visit, status: status)
    }

    func openThread(_ form: FormData, _ visit: Visit, _ session: ConsoleSession) async throws -> Response {
        let attachments: [Attachment]
        do {
            attachments = try await storeAttachments(form.files, session)
        } catch let error as DomainError {
            return try newThreadPage(visit, session, form: form, error: error.message, status: .unprocessableContent)
        }
        let text = form.text("body")?.replacingOccurrences(of: "\r\n", with: "\n")
        let body =
            text != nil || !attachments.isEmpty
            ? NewMessage(text: text ?? "", attachments: attachments) : nil
        let open = OpenThread(
            subjectKind: form.text("kind") ?? "", subjectRef: form.text("ref"), title: form.text("title") ?? "",
            category: form.text("category").map(CategoryID.init(rawValue:)),
            priority: form["priority"].flatMap(Priority.init(rawValue:)) ?? .normal,
            type: form["type"].flatMap(ThreadType.init(rawValue:)) ?? .message, body: body)
        let outcome: CommandOutcome
        do {
            outcome = try await handler.handle(.openThread(open), actor: .user(session.user))
        } catch let error as DomainError {
            // The form comes back with what was typed and the reason, in the domain's words.
            return try newThreadPage(visit, session, form: form, error: error.message, status: .unprocessableContent)
        }
        guard let id = outcome.thread else { throw ConsoleRefusal.notFound }
        // An existing one-per-subject thread is opened instead: the first message goes there.
        if outcome.existingThread != nil, let body {
            _ = try await handler.handle(.postMessage(thread: id, message: body), actor: .user(session.user))
        }
        return Self.redirect("/threads/\(id.rawValue)")
    }

    // MARK: Formatting

    static func options(_ values: [String], _ group: String, selected: String?, _ labels: Labels) -> [[String: Any]] {
        values.map { ["value": $0, "label": labels.value(group, $0), "selected": $0 == selected] as [String: Any] }
    }

    /// `2026-12-06T20:30:00.000Z` as `2026-12-06 20:30 UTC`.
    static func shortTime(_ iso: String) -> String {
        guard iso.count >= 16 else { return iso }
        let date = iso.prefix(10)
        let time = iso.dropFirst(11).prefix(5)
        return "\(date) \(time) UTC"
    }

    static func size(_ bytes: Int64) -> String {
        bytes < 1024 ? "\(bytes) B" : bytes < 1 << 20 ? "\(bytes / 1024) KiB" : "\(bytes >> 20) MiB"
    }
}
