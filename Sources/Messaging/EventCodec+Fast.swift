import Foundation

extension EventCodec {
    /// The two hottest payloads in their latest version, read member by member with no intermediate
    /// dictionary. `nil` when anything is unexpected (the caller then takes the general path).
    static func decodeDirect(_ type: EventType, _ data: [UInt8]) -> Event? {
        data.withUnsafeBytes { bytes -> Event? in
            var reader = JSONObjectReader(bytes)
            switch type {
            case .messagePosted:
                var thread: String?, author: String?, text: String?, number: Int?
                var kind: MessageKind?, format: MessageFormat?, attachments: [Attachment]?
                var concerning: Concerning?, template: String?
                let ok = reader.forEachMember { key, r in
                    switch key.count {
                    case 4 where key.isKey("text"): text = r.string(); return text != nil
                    case 4 where key.isKey("kind"):
                        kind = r.string().flatMap(MessageKind.init); return kind != nil
                    case 6 where key.isKey("thread"): thread = r.string(); return thread != nil
                    case 6 where key.isKey("author"): author = r.string(); return author != nil
                    case 6 where key.isKey("number"): number = r.int(); return number != nil
                    case 6 where key.isKey("format"):
                        format = r.string().flatMap(MessageFormat.init); return format != nil
                    case 8 where key.isKey("template"): template = r.string(); return template != nil
                    case 10 where key.isKey("concerning"):
                        guard case .object(let c)? = r.value(), let kind = c["kind"]?.stringValue.flatMap(Concerning.Kind.init),
                            let name = c["name"]?.stringValue
                        else { return false }
                        let ref = c["ref"]?.stringValue
                        guard c.count == (ref == nil ? 2 : 3) else { return false }
                        concerning = Concerning(kind: kind, name: name, ref: ref)
                        return true
                    case 11 where key.isKey("attachments"):
                        guard let list = r.value()?.arrayValue else { return false }
                        var parsed: [Attachment] = []
                        for item in list {
                            guard case .object(let a) = item, a.count == 4, let name = a["name"]?.stringValue,
                                let contentType = a["contentType"]?.stringValue, case .integer(let size)? = a["size"],
                                let sha = a["sha256"]?.stringValue
                            else { return false }
                            parsed.append(Attachment(name: name, contentType: contentType, size: size, sha256: sha))
                        }
                        attachments = parsed
                        return true
                    default: return false
                    }
                }
                guard ok, let thread, let number, let author, let kind, let format, let text, let attachments else { return nil }
                return .messagePosted(
                    MessagePosted(
                        thread: ThreadID(thread), number: number, author: UserID(author), kind: kind, format: format,
                        text: text, attachments: attachments, concerning: concerning, template: template))
            case .readMarkerMoved:
                var thread: String?, user: String?, upTo: Int?
                let ok = reader.forEachMember { key, r in
                    if key.isKey("thread") { thread = r.string(); return thread != nil }
                    if key.isKey("user") { user = r.string(); return user != nil }
                    if key.isKey("upTo") { upTo = r.int(); return upTo != nil }
                    return false
                }
                guard ok, let thread, let user, let upTo else { return nil }
                return .readMarkerMoved(ReadMarkerMoved(thread: ThreadID(thread), user: UserID(user), upTo: upTo))
            case .threadOpened:
                return decodeThreadOpened(&reader)
            case .partyCreated, .userCreated, .serviceTokenCreated, .userTokenReplaced, .serviceTokenRevoked,
                .structureCreated, .structureMemberAdded,
                .structureMemberRemoved, .categoryCreated, .settingsChanged, .subjectClaimed,
                .ticketNumbered, .handlerAssigned, .threadStatusChanged, .threadBlocked, .threadUnblocked, .messageKindChanged, .categoryRetentionSet,
            .legalHoldPlaced, .legalHoldReleased, .threadPurged, .digestScheduled, .digestSent, .blobUploaded, .subjectDeclared,
                .threadAttributesChanged, .userUpdated, .userDeactivated, .notePosted:
                return nil
            }
        }
    }

    /// `thread.opened` in its latest version; a member `JSONDecoder` would take as absent (`null` for an
    /// optional one) or any other surprise answers `nil`, and the general path decides.
    private static func decodeThreadOpened(_ reader: inout JSONObjectReader) -> Event? {
        var thread: String?, subject: Subject?, title: String?, category: String?
        var priority: Priority?, type: ThreadType?, importance: Importance?, openedBy: String?
        var participants: [String]?, structures: [String]?, roles: [String]?
        func strings(_ value: JSONValue?) -> [String]? {
            guard let list = value?.arrayValue else { return nil }
            var out: [String] = []
            out.reserveCapacity(list.count)
            for item in list {
                guard let text = item.stringValue else { return nil }
                out.append(text)
            }
            return out
        }
        let ok = reader.forEachMember { key, r in
            switch key.count {
            case 4 where key.isKey("type"): type = r.string().flatMap(ThreadType.init); return type != nil
            case 5 where key.isKey("title"): title = r.string(); return title != nil
            case 5 where key.isKey("roles"): roles = strings(r.value()); return roles != nil
            case 6 where key.isKey("thread"): thread = r.string(); return thread != nil
            case 7 where key.isKey("subject"):
                guard case .object(let o)? = r.value(), o.count == 2, let kind = o["kind"]?.stringValue,
                    let ref = o["ref"]?.stringValue
                else { return false }
                subject = Subject(kind: kind, ref: ref)
                return true
            case 8 where key.isKey("category"): category = r.string(); return category != nil
            case 8 where key.isKey("priority"): priority = r.string().flatMap(Priority.init); return priority != nil
            case 8 where key.isKey("openedBy"): openedBy = r.string(); return openedBy != nil
            case 10 where key.isKey("importance"):
                importance = r.string().flatMap(Importance.init); return importance != nil
            case 10 where key.isKey("structures"): structures = strings(r.value()); return structures != nil
            case 12 where key.isKey("participants"): participants = strings(r.value()); return participants != nil
            default: return false
            }
        }
        guard ok, let thread, let subject, let title, let priority, let type, let importance, let openedBy,
            let participants, let structures
        else { return nil }
        return .threadOpened(
            ThreadOpened(
                thread: ThreadID(thread), subject: subject, title: title, category: category.map(CategoryID.init),
                priority: priority, type: type, importance: importance, openedBy: UserID(openedBy),
                participants: participants.map(UserID.init), structures: structures.map(StructureID.init),
                roles: roles.map { $0.map(Role.init) }))
    }

    /// Whether `decodeFast` knows the type (only then is the payload parsed up front).
    static func hasFastPath(_ type: EventType) -> Bool {
        type == .messagePosted || type == .readMarkerMoved || type == .threadOpened
    }
}

extension EventCodec {
    /// The hottest payloads written member by member, byte for byte what the general encoder writes
    /// (sorted keys, slashes unescaped). `nil` for other types and for text with control characters
    /// other than newline, carriage return and tab (the general encoder then decides their escapes).
    static func encodeDirect(_ event: Event) -> [UInt8]? {
        var out: [UInt8] = []
        switch event {
        case .messagePosted(let e):
            out.reserveCapacity(e.text.utf8.count + 160)
            out.append(contentsOf: #"{"attachments":["#.utf8)
            for (index, attachment) in e.attachments.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"contentType":"#.utf8)
                guard JSONText.appendString(attachment.contentType, to: &out, shortEscapesOnly: true) else { return nil }
                out.append(contentsOf: #","name":"#.utf8)
                guard JSONText.appendString(attachment.name, to: &out, shortEscapesOnly: true) else { return nil }
                out.append(contentsOf: #","sha256":"#.utf8)
                guard JSONText.appendString(attachment.sha256, to: &out, shortEscapesOnly: true) else { return nil }
                out.append(contentsOf: #","size":"#.utf8)
                out.append(contentsOf: String(attachment.size).utf8)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: #"],"author":"#.utf8)
            guard JSONText.appendString(e.author.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            if let concerning = e.concerning {
                out.append(contentsOf: #","concerning":{"kind":"#.utf8)
                guard JSONText.appendString(concerning.kind.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
                out.append(contentsOf: #","name":"#.utf8)
                guard JSONText.appendString(concerning.name, to: &out, shortEscapesOnly: true) else { return nil }
                if let ref = concerning.ref {
                    out.append(contentsOf: #","ref":"#.utf8)
                    guard JSONText.appendString(ref, to: &out, shortEscapesOnly: true) else { return nil }
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: #","format":"#.utf8)
            guard JSONText.appendString(e.format.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(contentsOf: #","kind":"#.utf8)
            guard JSONText.appendString(e.kind.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(contentsOf: #","number":"#.utf8)
            out.append(contentsOf: String(e.number).utf8)
            if let template = e.template {
                out.append(contentsOf: #","template":"#.utf8)
                guard JSONText.appendString(template, to: &out, shortEscapesOnly: true) else { return nil }
            }
            out.append(contentsOf: #","text":"#.utf8)
            guard JSONText.appendString(e.text, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(contentsOf: #","thread":"#.utf8)
            guard JSONText.appendString(e.thread.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(UInt8(ascii: "}"))
        case .readMarkerMoved(let e):
            out.append(contentsOf: #"{"thread":"#.utf8)
            guard JSONText.appendString(e.thread.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(contentsOf: #","upTo":"#.utf8)
            out.append(contentsOf: String(e.upTo).utf8)
            out.append(contentsOf: #","user":"#.utf8)
            guard JSONText.appendString(e.user.rawValue, to: &out, shortEscapesOnly: true) else { return nil }
            out.append(UInt8(ascii: "}"))
        default:
            return nil
        }
        return out
    }
}
