import Foundation

extension ThreadState {
    /// Folds one recorded event of the thread's stream in. Never fails: before `thread.opened` there is
    /// no thread and other events are ignored; events of other streams leave the state as it was.
    public static func evolve(_ state: consuming ThreadState?, _ recorded: Recorded<Event>) -> ThreadState? {
        if case .threadOpened(let e) = recorded.event, state == nil {
            var opened = ThreadState(
                id: e.thread, subject: e.subject, title: e.title, category: e.category,
                priority: e.priority,
                type: e.type, importance: e.importance, openedBy: e.openedBy,
                openedAtMillis: recorded.timeMillis,
                openedAtPosition: recorded.position, participants: e.participants, structures: e.structures,
                status: .new, handler: nil, blocked: false, messages: [], readMarkers: [:],
                lastActivityMillis: recorded.timeMillis, lastPosition: recorded.position,
                version: recorded.version)
            opened.roles = e.roles ?? []
            return opened
        }
        if case .threadPurged(let e) = recorded.event, state == nil || state?.id == e.thread {
            // Whatever came before, only the audit record is left; a replay after the purge erased the
            // earlier payloads reaches the same state.
            var purged = ThreadState(
                id: e.thread, subject: e.subject, title: "", category: e.category, priority: .normal, type: .message,
                importance: .normal, openedBy: e.openedBy, openedAtMillis: recorded.timeMillis,
                openedAtPosition: recorded.position, participants: e.participants, structures: e.structures,
                status: .closed, handler: nil,
                blocked: false, messages: [], readMarkers: [:], lastActivityMillis: recorded.timeMillis,
                lastPosition: recorded.position, version: recorded.version, legalHold: false,
                purgedAtMillis: recorded.timeMillis)
            purged.roles = e.roles ?? []
            return purged
        }
        // Taken, not copied: the messages array is then uniquely owned and appends do not copy it.
        guard var thread = state.take() else { return nil }
        guard recorded.event.threadID == thread.id else { return thread }
        thread.version = recorded.version
        thread.lastPosition = recorded.position
        switch recorded.event {
        case .threadOpened:
            // A second open of the same stream cannot be decided; it changes nothing.
            break
        case .messagePosted(let e):
            thread.messages.append(
                PostedMessage(
                    number: e.number, author: e.author, kind: e.kind, format: e.format, text: e.text,
                    attachments: e.attachments, timeMillis: recorded.timeMillis, position: recorded.position,
                    concerning: e.concerning, template: e.template))
            thread.lastActivityMillis = recorded.timeMillis
        case .messageKindChanged(let e):
            // A classification, not activity: the inbox order stays.
            if let index = thread.messages.firstIndex(where: { $0.number == e.number }) {
                thread.messages[index].kind = e.kind
            }
        case .readMarkerMoved(let e):
            // Markers only move forward, whatever order replays bring.
            thread.readMarkers[e.user] = max(thread.readMarker(of: e.user), e.upTo)
        case .handlerAssigned(let e):
            thread.handler = e.handler
            thread.lastActivityMillis = recorded.timeMillis
            thread.answeredAtPosition = nil
        case .threadStatusChanged(let e):
            thread.status = e.to
            thread.lastActivityMillis = recorded.timeMillis
            thread.answeredAtPosition = e.reason == .answeredByOutsideParty ? recorded.position : nil
        case .threadBlocked:
            thread.blocked = true
            thread.lastActivityMillis = recorded.timeMillis
            thread.answeredAtPosition = nil
        case .threadUnblocked:
            thread.blocked = false
            thread.lastActivityMillis = recorded.timeMillis
            thread.answeredAtPosition = nil
        case .notePosted(let e):
            // Not activity: an outside reader's inbox must not move for what it cannot see.
            thread.notes.append(
                PostedNote(number: e.number, author: e.author, text: e.text, timeMillis: recorded.timeMillis, position: recorded.position))
        case .threadAttributesChanged(let e):
            thread.type = e.type
            thread.priority = e.priority
            thread.importance = e.importance
            thread.category = e.category
            for user in e.participantsAdded where !thread.participants.contains(user) { thread.participants.append(user) }
            for structure in e.structuresAdded where !thread.structures.contains(structure) {
                thread.structures.append(structure)
            }
            thread.lastActivityMillis = recorded.timeMillis
            thread.answeredAtPosition = nil
        case .legalHoldPlaced:
            thread.legalHold = true
        case .legalHoldReleased:
            thread.legalHold = false
        case .threadPurged:
            // Content is gone; what remains is that the thread existed, on which subject, and when.
            thread.purgedAtMillis = recorded.timeMillis
            thread.title = ""
            thread.messages = []
        case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
            .structureCreated,
            .structureMemberAdded,
            .structureMemberRemoved, .categoryCreated, .settingsChanged, .subjectClaimed, .ticketNumbered,
            .categoryRetentionSet, .digestScheduled, .digestSent, .blobUploaded, .subjectDeclared, .userUpdated,
            .userDeactivated:
            break
        }
        return thread
    }

    public static func fold(_ records: some Sequence<Recorded<Event>>) -> ThreadState? {
        // A loop that hands the state on, not `reduce`: each step then owns the messages array and
        // appends in place instead of copying it (which made a fold quadratic in the thread's length).
        var state: ThreadState?
        for recorded in records { state = evolve(state.take(), recorded) }
        return state
    }
}

extension SubjectClaim {
    /// The first claim wins; a later one (which the expected version prevents) is ignored.
    public static func evolve(_ state: SubjectClaim?, _ recorded: Recorded<Event>) -> SubjectClaim? {
        guard state == nil, case .subjectClaimed(let e) = recorded.event else { return state }
        return SubjectClaim(subject: e.subject, thread: e.thread)
    }

    public static func fold(_ records: some Sequence<Recorded<Event>>) -> SubjectClaim? {
        records.reduce(nil, evolve)
    }
}

extension TicketCounter {
    public static func evolve(_ state: TicketCounter, _ recorded: Recorded<Event>) -> TicketCounter {
        guard case .ticketNumbered(let e) = recorded.event else { return state }
        return TicketCounter(lastNumber: max(state.lastNumber, e.number))
    }

    public static func fold(_ records: some Sequence<Recorded<Event>>) -> TicketCounter {
        records.reduce(TicketCounter(), evolve)
    }
}
