import Foundation

extension Decider {
    static func openThread(
        _ open: OpenThread, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let opener = try requireUser(context, in: directory)
        let threadID = ThreadID(context.newID)
        try validID(threadID)
        // Before the subject is looked at: whether the opener may add roles depends on them alone.
        let roles = unique(open.roles)
        if !roles.isEmpty {
            guard directory.isInternal(opener.id) else { throw .rolesNotAllowed }
            for role in roles where !directory.knows(role) { throw .unknownRole(role) }
        }
        guard SubjectRule.isValidKind(open.subjectKind) else {
            throw .invalidSubject("the kind must be a lowercase word")
        }

        var events: [Event] = []
        let subject: Subject
        switch open.rule {
        case .numbered(let prefix):
            // The counter stream's version is the last number; the exact expected version of the
            // append makes two concurrent opens conflict instead of sharing a number.
            let number = TicketCounter.fold(loaded[StreamName.tickets]).lastNumber + 1
            subject = Subject(kind: open.subjectKind, ref: "\(prefix)\(number)")
            events.append(.ticketNumbered(TicketNumbered(number: number, thread: threadID)))
        case .onePerSubject:
            subject = Subject(kind: open.subjectKind, ref: try validRef(open.normalizedRef))
            // Before looking for its thread: who may open depends on the subject alone.
            guard Access.mayOpen(subject, rule: open.rule, user: opener.id, in: directory) else {
                throw .subjectNotFound(subject)
            }
            if SubjectClaim.fold(loaded[StreamName.subject(subject)]) != nil { return [] }
            events.append(.subjectClaimed(SubjectClaimed(subject: subject, thread: threadID)))
        case .free:
            subject = Subject(kind: open.subjectKind, ref: try validRef(open.normalizedRef))
            guard Access.mayOpen(subject, rule: open.rule, user: opener.id, in: directory) else {
                throw .subjectNotFound(subject)
            }
        }

        guard loaded.version(of: StreamName.thread(threadID)) == 0 else {
            throw .duplicateID(threadID.rawValue)
        }
        let title = open.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty, title.count <= 500 else { throw .invalidTitle }
        guard open.type != .clientRemark || !directory.isInternal(opener.id) else {
            throw .notAllowed("a client remark is opened by the outside side only")
        }
        var category: Category?
        if let id = open.category {
            guard let found = directory.categories[id] else { throw .unknownCategory(id) }
            category = found
        }
        for user in open.participants where directory.users[user] == nil { throw .unknownUser(user) }
        for structure in open.structures where directory.structures[structure] == nil {
            throw .unknownStructure(structure)
        }
        if let body = open.body { try validMessage(body, settings: directory.settings) }

        events.append(
            .threadOpened(
                ThreadOpened(
                    thread: threadID, subject: subject, title: title, category: open.category,
                    priority: open.priority,
                    type: open.type, importance: open.importance, openedBy: opener.id,
                    participants: unique(
                        [opener.id] + open.participants + (category?.defaultRecipients ?? [])),
                    structures: unique(open.structures + (category?.structures ?? [])),
                    roles: roles.isEmpty ? nil : roles)))
        if let body = open.body {
            events.append(.messagePosted(posted(body, number: 1, thread: threadID, author: opener.id)))
        }
        return events
    }

    static func validRef(_ ref: String?) throws(DomainError) -> String {
        guard let ref, !ref.isEmpty else {
            throw .invalidSubject("a ref is required for this kind")
        }
        guard ref.utf8.count <= 200,
            !ref.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw .invalidSubject("the ref must be at most 200 bytes without control characters") }
        return ref
    }

    /// A message has text, or attachments only where the deployment allows attachments.
    static func validMessage(_ message: NewMessage, settings: Settings) throws(DomainError) {
        guard !message.text.isBlank || (!message.attachments.isEmpty && settings.attachmentsAllowed) else {
            throw message.attachments.isEmpty ? .emptyMessage : .attachmentsNotAllowed
        }
        let size = message.text.utf8.count
        guard size <= settings.messageSizeLimit else {
            throw .messageTooLarge(size: size, limit: settings.messageSizeLimit)
        }
        guard message.attachments.isEmpty || settings.attachmentsAllowed else {
            throw .attachmentsNotAllowed
        }
        for attachment in message.attachments where !attachment.isValid {
            throw .invalidAttachment(attachment.name)
        }
        if let problem = message.concerning?.problem { throw .invalidConcerning(problem) }
        if let template = message.template, settings.messageTemplates[template] == nil {
            throw .unknownTemplate(template)
        }
    }

    static func posted(_ message: NewMessage, number: Int, thread: ThreadID, author: UserID)
        -> MessagePosted
    {
        MessagePosted(
            thread: thread, number: number, author: author, kind: message.kind, format: message.format,
            text: message.text, attachments: message.attachments, concerning: message.concerning,
            template: message.template)
    }

    /// An internal user who may read the thread notes something for the internal side; an outside
    /// reader is refused. Allowed whatever the thread's status or block.
    static func postNote(
        _ text: String, on id: ThreadID, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let author = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: author, directory: directory, loaded: loaded)
        guard directory.isInternal(author.id) else { throw .notAllowed("Only the internal side writes notes.") }
        guard !text.isBlank else { throw .emptyMessage }
        let size = text.utf8.count
        guard size <= directory.settings.messageSizeLimit else {
            throw .messageTooLarge(size: size, limit: directory.settings.messageSizeLimit)
        }
        return [.notePosted(NotePosted(thread: id, number: thread.notes.count + 1, author: author.id, text: text))]
    }

    /// An outside answer moves a `waiting` thread back to `open` and, if settings allow, reopens a
    /// `resolved` one; internal posts never change the status.
    static func postMessage(
        _ message: NewMessage, on id: ThreadID, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let author = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: author, directory: directory, loaded: loaded)
        let outside = !directory.isInternal(author.id)
        guard !(thread.blocked && outside) else { throw .threadBlocked(id) }
        guard thread.status != .closed else { throw .threadClosed(id) }
        try validMessage(message, settings: directory.settings)

        var events: [Event] = [
            .messagePosted(
                posted(message, number: thread.messageCount + 1, thread: id, author: author.id))
        ]
        guard outside else {
            // A handler's answer is a handler's first action as much as taking the thread is.
            if Access.isHandler(author.id, of: thread, in: directory), let opened = openedByHandler(thread) {
                events.append(opened)
            }
            return events
        }
        switch thread.status {
        case .waiting:
            events.append(
                .threadStatusChanged(
                    ThreadStatusChanged(
                        thread: id, from: .waiting, to: .open, reason: .answeredByOutsideParty)))
        case .resolved:
            guard directory.settings.allowReopen else { throw .threadResolved(id) }
            events.append(
                .threadStatusChanged(
                    ThreadStatusChanged(thread: id, from: .resolved, to: .open, reason: .reopenedByMessage)))
        case .new, .open, .closed:
            break
        }
        return events
    }

    /// Moving a marker backwards (or to where it is) writes nothing: clients send stale values, and
    /// a marker that could go back would resurrect read messages as unread.
    static func moveReadMarker(
        thread id: ThreadID, upTo: Int, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let user = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: user, directory: directory, loaded: loaded)
        guard (0...thread.messageCount).contains(upTo) else {
            throw .readMarkerOutOfRange(upTo: upTo, messageCount: thread.messageCount)
        }
        guard upTo > thread.readMarker(of: user.id) else { return [] }
        return [.readMarkerMoved(ReadMarkerMoved(thread: id, user: user.id, upTo: upTo))]
    }

    /// A handler takes the thread (handler = actor) or gives it to another holder of its handler roles.
    static func assignHandler(
        thread id: ThreadID, handler: UserID, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let actor = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: actor, directory: directory, loaded: loaded)
        guard Access.isHandler(actor.id, of: thread, in: directory) else {
            throw .notAllowed("only the thread's handlers assign it")
        }
        guard let person = directory.users[handler] else { throw .unknownUser(handler) }
        guard person.active else { throw .notAHandler(handler) }
        guard Access.isHandler(handler, of: thread, in: directory) else { throw .notAHandler(handler) }
        guard thread.handler != handler else { return [] }
        return [.handlerAssigned(HandlerAssigned(thread: id, handler: handler))] + [openedByHandler(thread)].compactMap { $0 }
    }

    /// A `new` thread is `open` from a handler's first action on it (taking it, or answering).
    static func openedByHandler(_ thread: ThreadState) -> Event? {
        guard thread.status == .new else { return nil }
        return .threadStatusChanged(ThreadStatusChanged(thread: thread.id, from: .new, to: .open, reason: .handlerAction))
    }

    /// Handlers reclassify a thread. A new category brings its structures and default recipients as
    /// opening in it would have; the thread keeps those it had. Changing nothing writes nothing.
    static func changeAttributes(
        _ patch: AttributesPatch, thread id: ThreadID, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let actor = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: actor, directory: directory, loaded: loaded)
        guard Access.isHandler(actor.id, of: thread, in: directory) else {
            throw .notAllowed("only the thread's handlers change its type, priority, importance or category")
        }
        var participantsAdded: [UserID] = []
        var structuresAdded: [StructureID] = []
        if let category = patch.category, category != thread.category {
            guard let found = directory.categories[category] else { throw .unknownCategory(category) }
            participantsAdded = unique(found.defaultRecipients.filter { !thread.participants.contains($0) })
            structuresAdded = unique(found.structures.filter { !thread.structures.contains($0) })
        }
        let type = patch.type ?? thread.type
        guard type == thread.type || type != .clientRemark else {
            throw .notAllowed("a client remark is opened by the outside side only")
        }
        let changed = ThreadAttributesChanged(
            thread: id, type: type, priority: patch.priority ?? thread.priority,
            importance: patch.importance ?? thread.importance, category: patch.category ?? thread.category,
            participantsAdded: participantsAdded, structuresAdded: structuresAdded)
        guard
            changed.type != thread.type || changed.priority != thread.priority
                || changed.importance != thread.importance || changed.category != thread.category
        else { return [] }
        return [.threadAttributesChanged(changed)]
    }

    /// Handlers mark a message they can see as a task to do, or back as a message; whatever the
    /// thread's status. Asking for the kind it has writes nothing.
    static func changeMessageKind(
        _ number: Int, to kind: MessageKind, thread id: ThreadID, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let actor = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: actor, directory: directory, loaded: loaded)
        guard Access.isHandler(actor.id, of: thread, in: directory) else {
            throw .notAllowed("only the thread's handlers mark messages as tasks")
        }
        guard let message = Access.visibleMessages(of: thread, for: actor.id, in: directory).first(where: { $0.number == number })
        else { throw .unknownMessage(thread: id, number: number) }
        guard message.kind != kind else { return [] }
        return [.messageKindChanged(MessageKindChanged(thread: id, number: number, kind: kind))]
    }

    /// Handlers move a thread along any allowed transition; the outside party may only resolve a
    /// thread its own party opened. Asking for the current status writes nothing.
    static func changeStatus(
        thread id: ThreadID, to target: ThreadStatus, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let actor = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: actor, directory: directory, loaded: loaded)
        let isHandler = Access.isHandler(actor.id, of: thread, in: directory)
        if !isHandler {
            let ownParty = directory.users[thread.openedBy]?.party == actor.party
            guard !directory.isInternal(actor.id), ownParty, target == .resolved else {
                throw .notAllowed(
                    "only handlers change the status; the outside party may resolve its own thread")
            }
        }
        guard thread.status != target else { return [] }
        guard thread.status.canMove(to: target) else {
            throw .invalidStatusTransition(from: thread.status, to: target)
        }
        return [
            .threadStatusChanged(
                ThreadStatusChanged(thread: id, from: thread.status, to: target, reason: .requested))
        ]
    }

    /// Blocking an already blocked thread (or unblocking an open one) writes nothing.
    static func setBlocked(
        _ blocked: Bool, thread id: ThreadID, context: CommandContext, directory: Directory,
        loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        let actor = try requireUser(context, in: directory)
        let thread = try readableThread(id, for: actor, directory: directory, loaded: loaded)
        guard Access.isHandler(actor.id, of: thread, in: directory) else {
            throw .notAllowed("only the thread's handlers block or unblock it")
        }
        guard thread.blocked != blocked else { return [] }
        return blocked
            ? [.threadBlocked(ThreadBlocked(thread: id))]
            : [.threadUnblocked(ThreadUnblocked(thread: id))]
    }
}
