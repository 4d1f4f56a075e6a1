import Engine
import Messaging

// The wire shapes of the read side's answers: the JSON of `GET /v1/threads/{id}`, `GET /v1/inbox`,
// `GET /v1/unread`, the feed and the write answers that carry a thread. The engine answers plain
// values; their property names are the outside contract's field names, and here is how each is
// written (and read back, by clients and tests): optional fields are left out when absent, and a
// thread's summary is flattened into the object that carries it.

extension SubjectDTO: Codable {
    private enum Key: String, CodingKey { case kind, ref }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(kind: try container.decode(String.self, forKey: .kind), ref: try container.decode(String.self, forKey: .ref))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(ref, forKey: .ref)
    }
}

extension ThreadSummary: Codable {
    private enum Key: String, CodingKey {
        case id, number, subject, title, status, priority, type, importance, category, handler, messageCount,
            lastActivity, openedBy, answeredByCustomer
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            number: try container.decodeIfPresent(String.self, forKey: .number),
            subject: try container.decode(SubjectDTO.self, forKey: .subject),
            title: try container.decode(String.self, forKey: .title),
            status: try container.decode(String.self, forKey: .status),
            priority: try container.decode(String.self, forKey: .priority),
            type: try container.decode(String.self, forKey: .type),
            importance: try container.decode(String.self, forKey: .importance),
            category: try container.decodeIfPresent(String.self, forKey: .category),
            handler: try container.decodeIfPresent(String.self, forKey: .handler),
            messageCount: try container.decode(Int.self, forKey: .messageCount),
            lastActivity: try container.decode(String.self, forKey: .lastActivity),
            openedBy: try container.decodeIfPresent(String.self, forKey: .openedBy),
            answeredByCustomer: try container.decode(Bool.self, forKey: .answeredByCustomer))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(number, forKey: .number)
        try container.encode(subject, forKey: .subject)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(priority, forKey: .priority)
        try container.encode(type, forKey: .type)
        try container.encode(importance, forKey: .importance)
        try container.encodeIfPresent(category, forKey: .category)
        try container.encodeIfPresent(handler, forKey: .handler)
        try container.encode(messageCount, forKey: .messageCount)
        try container.encode(lastActivity, forKey: .lastActivity)
        try container.encodeIfPresent(openedBy, forKey: .openedBy)
        try container.encode(answeredByCustomer, forKey: .answeredByCustomer)
    }
}

/// The summary's fields, then the detail's, in one object.
extension ThreadDetail: Codable {
    private enum Key: String, CodingKey { case blocked, participants, structures }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            summary: try ThreadSummary(from: decoder), blocked: try container.decode(Bool.self, forKey: .blocked),
            participants: try container.decode([String].self, forKey: .participants),
            structures: try container.decode([String].self, forKey: .structures))
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(blocked, forKey: .blocked)
        try container.encode(participants, forKey: .participants)
        try container.encode(structures, forKey: .structures)
    }
}

extension AuthorDTO: Codable {
    private enum Key: String, CodingKey { case id, name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            id: try container.decodeIfPresent(String.self, forKey: .id),
            name: try container.decodeIfPresent(String.self, forKey: .name))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(name, forKey: .name)
    }
}

extension MessageDTO: Codable {
    private enum Key: String, CodingKey { case id, number, author, time, body, kind, format, attachments, concerning, template }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            id: try container.decode(String.self, forKey: .id), number: try container.decode(Int.self, forKey: .number),
            author: try container.decode(AuthorDTO.self, forKey: .author),
            time: try container.decode(String.self, forKey: .time), body: try container.decode(String.self, forKey: .body),
            kind: try container.decode(String.self, forKey: .kind),
            format: try container.decode(String.self, forKey: .format),
            attachments: try container.decode([Attachment].self, forKey: .attachments),
            concerning: try container.decodeIfPresent(Concerning.self, forKey: .concerning),
            template: try container.decodeIfPresent(String.self, forKey: .template))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: .id)
        try container.encode(number, forKey: .number)
        try container.encode(author, forKey: .author)
        try container.encode(time, forKey: .time)
        try container.encode(body, forKey: .body)
        try container.encode(kind, forKey: .kind)
        try container.encode(format, forKey: .format)
        try container.encode(attachments, forKey: .attachments)
        try container.encodeIfPresent(concerning, forKey: .concerning)
        try container.encodeIfPresent(template, forKey: .template)
    }
}

extension ContactDTO: Codable {
    private enum Key: String, CodingKey { case id, name, party, `internal` }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            id: try container.decodeIfPresent(String.self, forKey: .id), name: try container.decode(String.self, forKey: .name),
            party: try container.decode(String.self, forKey: .party),
            internal: try container.decode(Bool.self, forKey: .internal))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(party, forKey: .party)
        try container.encode(self.internal, forKey: .internal)
    }
}

extension ThreadView: Codable {
    private enum Key: String, CodingKey { case thread, messages, contacts, unread, notes, page }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            thread: try container.decode(ThreadDetail.self, forKey: .thread),
            messages: try container.decode([MessageDTO].self, forKey: .messages),
            contacts: try container.decode([ContactDTO].self, forKey: .contacts),
            unread: try container.decode(Int.self, forKey: .unread),
            notes: try container.decodeIfPresent([NoteDTO].self, forKey: .notes),
            page: try container.decodeIfPresent(MessagePage.self, forKey: .page))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(thread, forKey: .thread)
        try container.encode(messages, forKey: .messages)
        try container.encode(contacts, forKey: .contacts)
        try container.encode(unread, forKey: .unread)
        try container.encodeIfPresent(notes, forKey: .notes)
        try container.encodeIfPresent(page, forKey: .page)
    }
}

extension MessagePage: Codable {
    private enum Key: String, CodingKey { case limit, hasOlder, hasNewer, before, after }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            limit: try container.decode(Int.self, forKey: .limit), hasOlder: try container.decode(Bool.self, forKey: .hasOlder),
            hasNewer: try container.decode(Bool.self, forKey: .hasNewer),
            before: try container.decodeIfPresent(Int.self, forKey: .before),
            after: try container.decodeIfPresent(Int.self, forKey: .after))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(limit, forKey: .limit)
        try container.encode(hasOlder, forKey: .hasOlder)
        try container.encode(hasNewer, forKey: .hasNewer)
        try container.encodeIfPresent(before, forKey: .before)
        try container.encodeIfPresent(after, forKey: .after)
    }
}

extension NoteDTO: Codable {
    private enum Key: String, CodingKey { case number, author, time, body }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            number: try container.decode(Int.self, forKey: .number), author: try container.decode(AuthorDTO.self, forKey: .author),
            time: try container.decode(String.self, forKey: .time), body: try container.decode(String.self, forKey: .body))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(number, forKey: .number)
        try container.encode(author, forKey: .author)
        try container.encode(time, forKey: .time)
        try container.encode(body, forKey: .body)
    }
}

/// The summary's fields, then the row's, in one object.
extension InboxItem: Codable {
    private enum Key: String, CodingKey { case handlerName, openedByName, unread }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            summary: try ThreadSummary(from: decoder),
            handlerName: try container.decodeIfPresent(String.self, forKey: .handlerName),
            openedByName: try container.decodeIfPresent(String.self, forKey: .openedByName),
            unread: try container.decode(Int.self, forKey: .unread))
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(handlerName, forKey: .handlerName)
        try container.encodeIfPresent(openedByName, forKey: .openedByName)
        try container.encode(unread, forKey: .unread)
    }
}

extension InboxPage: Codable {
    private enum Key: String, CodingKey { case items, nextCursor }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            items: try container.decode([InboxItem].self, forKey: .items),
            nextCursor: try container.decodeIfPresent(String.self, forKey: .nextCursor))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: .items)
        try container.encodeIfPresent(nextCursor, forKey: .nextCursor)
    }
}

extension UnreadThread: Codable {
    private enum Key: String, CodingKey { case id, unread }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(id: try container.decode(String.self, forKey: .id), unread: try container.decode(Int.self, forKey: .unread))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: .id)
        try container.encode(unread, forKey: .unread)
    }
}

extension UnreadSummary: Codable {
    private enum Key: String, CodingKey { case total, threads }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            total: try container.decode(Int.self, forKey: .total), threads: try container.decode([UnreadThread].self, forKey: .threads))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(total, forKey: .total)
        try container.encode(threads, forKey: .threads)
    }
}

extension FeedItem: Codable {
    private enum Key: String, CodingKey { case position, thread, type, time, message }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        self.init(
            position: try container.decode(UInt64.self, forKey: .position),
            thread: try container.decode(String.self, forKey: .thread), type: try container.decode(String.self, forKey: .type),
            time: try container.decode(String.self, forKey: .time),
            message: try container.decodeIfPresent(MessageDTO.self, forKey: .message))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(position, forKey: .position)
        try container.encode(thread, forKey: .thread)
        try container.encode(type, forKey: .type)
        try container.encode(time, forKey: .time)
        try container.encodeIfPresent(message, forKey: .message)
    }
}
