import Engine

/// An answer that writes its own JSON: the same bytes its `Encodable` conformance gives under
/// `AnswerEncoder`, without going through `Encoder` containers (a witness call, a key string and a
/// member record per field, then a sort when the object closes). The answers read most (an inbox
/// page, a thread view) take this path; `AnswerEncoderTests` holds each to Foundation's bytes.
protocol DirectAnswer: Encodable {
    func write(to writer: AnswerEncoder.Writer) throws
}

extension AnswerEncoder {
    /// One JSON object being written. Members must come in Foundation's sorted key order: the caller
    /// writes them in that order (a debug build checks it).
    struct Object: ~Copyable {
        let writer: Writer
        private var first = true
        #if DEBUG
            private var lastKey: String?
        #endif

        init(_ writer: Writer) {
            self.writer = writer
            writer.bytes.append(UInt8(ascii: "{"))
        }

        /// Writes `"key":` (after a comma from the second member on).
        mutating func key(_ key: StaticString) {
            #if DEBUG
                let text = key.description
                if let lastKey { assert(AnswerEncoder.ascending(lastKey, text), "\(lastKey) before \(text)") }
                lastKey = text
            #endif
            writer.bytes.appendKey(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount), comma: !first)
            first = false
        }

        mutating func field(_ key: StaticString, _ value: String) {
            self.key(key)
            writer.writeString(value)
        }

        mutating func field(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            field(key, value)
        }

        mutating func field(_ key: StaticString, _ value: Int) {
            self.key(key)
            writer.writeInteger(value)
        }

        mutating func field(_ key: StaticString, _ value: Int?) {
            guard let value else { return }
            field(key, value)
        }

        mutating func field(_ key: StaticString, _ value: Bool) {
            self.key(key)
            writer.bytes.append(contentsOf: value ? Writer.true : Writer.false)
        }

        mutating func field(_ key: StaticString, _ values: [String]) {
            let writer = self.writer
            array(key, values) { writer.writeString($0) }
        }

        mutating func field<T: DirectAnswer>(_ key: StaticString, _ value: T) throws {
            self.key(key)
            try value.write(to: writer)
        }

        mutating func field<T: DirectAnswer>(_ key: StaticString, _ values: [T]) throws {
            let writer = self.writer
            try array(key, values) { try $0.write(to: writer) }
        }

        /// `"key":[…]`, each element written by `element`.
        private mutating func array<T>(_ key: StaticString, _ values: [T], _ element: (T) throws -> Void) rethrows {
            self.key(key)
            writer.bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                try element(value)
            }
            writer.bytes.append(UInt8(ascii: "]"))
        }

        /// A member of a type without a writer of its own, through the container path.
        mutating func encoded<T: Encodable>(_ key: StaticString, _ value: T?) throws {
            guard let value else { return }
            self.key(key)
            try writer.encodeValue(value)
            if writer.refused { throw Unsupported() }
        }

        consuming func end() {
            writer.bytes.append(UInt8(ascii: "}"))
        }
    }
}

// Members in sorted key order. A summary's fields share the object of the value that carries it, so
// each carrier interleaves its own keys with the summary's.

extension SubjectDTO: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        object.field("kind", kind)
        object.field("ref", ref)
        object.end()
    }
}

extension ThreadSummary {
    /// The summary's members, for the carriers that share its object.
    enum Member { case answeredByCustomer, handler, openedBy, status, type }

    /// Writes the summary's members into `object` in sorted key order; after each member named in
    /// `Member`, `then` writes the carrier's own members that sort right after it.
    func write(into object: inout AnswerEncoder.Object, then: (Member, inout AnswerEncoder.Object) -> Void) {
        object.field("answeredByCustomer", answeredByCustomer)
        then(.answeredByCustomer, &object)
        object.field("category", category)
        object.field("handler", handler)
        then(.handler, &object)
        object.field("id", id)
        object.field("importance", importance)
        object.field("lastActivity", lastActivity)
        object.field("messageCount", messageCount)
        object.field("number", number)
        object.field("openedBy", openedBy)
        then(.openedBy, &object)
        object.field("priority", priority)
        object.field("status", status)
        then(.status, &object)
        object.key("subject")
        subject.write(to: object.writer)
        object.field("title", title)
        object.field("type", type)
        then(.type, &object)
    }
}

extension InboxItem: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        summary.write(into: &object) { member, object in
            switch member {
            case .handler: object.field("handlerName", handlerName)
            case .openedBy: object.field("openedByName", openedByName)
            case .type: object.field("unread", unread)
            case .answeredByCustomer, .status: break
            }
        }
        object.end()
    }
}

extension InboxPage: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) throws {
        var object = AnswerEncoder.Object(writer)
        try object.field("items", items)
        object.field("nextCursor", nextCursor)
        object.end()
    }
}

extension ThreadDetail: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        summary.write(into: &object) { member, object in
            switch member {
            case .answeredByCustomer: object.field("blocked", blocked)
            case .openedBy: object.field("participants", participants)
            case .status: object.field("structures", structures)
            case .handler, .type: break
            }
        }
        object.end()
    }
}

extension AuthorDTO: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        object.field("id", id)
        object.field("name", name)
        object.end()
    }
}

extension MessageDTO: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) throws {
        var object = AnswerEncoder.Object(writer)
        try object.encoded("attachments", attachments)
        try object.field("author", author)
        object.field("body", body)
        try object.encoded("concerning", concerning)
        object.field("format", format)
        object.field("id", id)
        object.field("kind", kind)
        object.field("number", number)
        object.field("template", template)
        object.field("time", time)
        object.end()
    }
}

extension ContactDTO: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        object.field("id", id)
        object.field("internal", self.internal)
        object.field("name", name)
        object.field("party", party)
        object.end()
    }
}

extension NoteDTO: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) throws {
        var object = AnswerEncoder.Object(writer)
        try object.field("author", author)
        object.field("body", body)
        object.field("number", number)
        object.field("time", time)
        object.end()
    }
}

extension MessagePage: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        object.field("after", after)
        object.field("before", before)
        object.field("hasNewer", hasNewer)
        object.field("hasOlder", hasOlder)
        object.field("limit", limit)
        object.end()
    }
}

extension ThreadView: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) throws {
        var object = AnswerEncoder.Object(writer)
        try object.field("contacts", contacts)
        try object.field("messages", messages)
        if let notes { try object.field("notes", notes) }
        if let page { try object.field("page", page) }
        try object.field("thread", thread)
        object.field("unread", unread)
        object.end()
    }
}

extension UnreadThread: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) {
        var object = AnswerEncoder.Object(writer)
        object.field("id", id)
        object.field("unread", unread)
        object.end()
    }
}

extension UnreadSummary: DirectAnswer {
    func write(to writer: AnswerEncoder.Writer) throws {
        var object = AnswerEncoder.Object(writer)
        try object.field("threads", threads)
        object.field("total", total)
        object.end()
    }
}
