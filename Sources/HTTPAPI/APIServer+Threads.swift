import Engine
import Hummingbird
import Messaging

// The users' routes: threads, messages, read markers, handling, inbox and unread counts, blobs.
extension APIServer {
    func openThread(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(OpenThreadBody.self, request)
        guard body.body != nil || (body.concerning == nil && body.template == nil) else {
            throw APIError.unprocessable(
                "missing_field", "Field 'body' is required with 'concerning' or 'template': they describe the first message.")
        }
        let attachments = try checkedAttachments(body.attachments ?? [], caller: caller)
        let first = body.body.map {
            NewMessage(
                text: $0, kind: .message, format: body.format ?? .plain, attachments: attachments,
                concerning: body.concerning, template: body.template)
        }
        let open = OpenThread(
            subjectKind: body.subject.kind, subjectRef: body.subject.ref, title: body.title,
            category: body.category.map(CategoryID.init(rawValue:)), priority: body.priority ?? .normal,
            type: body.type ?? .message, importance: body.importance ?? .normal,
            participants: (body.participants ?? []).map(UserID.init(rawValue:)),
            structures: (body.structures ?? []).map(StructureID.init(rawValue:)),
            roles: (body.roles ?? []).map(Role.init(rawValue:)), body: first)
        let outcome = try await execute(.openThread(open), caller: caller, request: request)
        guard let id = outcome.thread, let state = try handler.threadState(id), let user = caller.user else {
            throw APIError(status: .internalServerError, code: "internal", message: "The thread was not recorded.")
        }
        let status: HTTPResponse.Status = outcome.existingThread == nil ? .created : .ok
        return try json(
            ThreadAnswer(
                thread: ThreadDetail(state, for: user, in: try handler.currentDirectory()), position: outcome.position),
            status: status, position: outcome.position)
    }

    func getThread(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let id = try parameter("id", route)
        guard let user = caller.user else { throw APIError.forbidden }
        let view = try await queries.threadView(
            ThreadID(id), reader: user, window: try messageWindow(request),
            minPosition: try await minPosition(request, caller: caller))
        return try json(view)
    }

    /// `limit` (1…200, default 100) and at most one of `before` / `after` (message numbers, ≥ 0).
    func messageWindow(_ request: Request) throws -> MessageWindow {
        let parameters = request.uri.queryParameters
        func number(_ name: String, _ range: ClosedRange<Int>, _ what: String) throws -> Int? {
            guard let text = parameters.get(name) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw APIError.unprocessable("invalid_parameter", "\(name) must be \(what), not '\(text)'.")
            }
            return value
        }
        let max = MessageWindow.maxLimit
        var window = MessageWindow()
        window.limit = try number("limit", 1...max, "between 1 and \(max)") ?? MessageWindow.defaultLimit
        window.before = try number("before", 0...Int(Int32.max), "a message number")
        window.after = try number("after", 0...Int(Int32.max), "a message number")
        if window.before != nil && window.after != nil {
            throw APIError.unprocessable("invalid_parameter", "Give before or after, not both.")
        }
        return window
    }

    func postMessage(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(PostMessageBody.self, request, shortcut: PostMessageBody.plain)
        let message = NewMessage(
            text: body.body, kind: body.kind ?? .message, format: body.format ?? .plain,
            attachments: try checkedAttachments(body.attachments ?? [], caller: caller), concerning: body.concerning,
            template: body.template)
        let outcome = try await execute(
            .postMessage(thread: thread, message: message), caller: caller, request: request)
        var number = 0
        for recorded in outcome.events {
            if case .messagePosted(let posted) = recorded.event { number = posted.number }
        }
        let answer = PostedAnswer(id: "\(thread.rawValue)/\(number)", number: number, position: outcome.position)
        return bytes(answer.json, status: .created, position: outcome.position)
    }

    /// A note of the internal side: `{"body": "…"}`; answers `{id, number, position}` with the note's
    /// own number (`<thread>/note-<n>`).
    func postNote(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(NoteBody.self, request)
        let outcome = try await execute(.postNote(thread: thread, text: body.body), caller: caller, request: request)
        var number = 0
        for recorded in outcome.events {
            if case .notePosted(let posted) = recorded.event { number = posted.number }
        }
        let answer = PostedAnswer(id: "\(thread.rawValue)/note-\(number)", number: number, position: outcome.position)
        return bytes(answer.json, status: .created, position: outcome.position)
    }

    /// Attachments may only name blobs stored before, with their true size, that the caller may use:
    /// a digest the caller neither uploaded nor can read on a thread is answered exactly as one never
    /// uploaded, so knowing a digest grants nothing.
    private func checkedAttachments(_ attachments: [Attachment], caller: Caller) throws -> [Attachment] {
        for attachment in attachments {
            guard isSHA256Hex(attachment.sha256), let user = caller.user,
                try blobs.usable(attachment.sha256, by: user) != nil,
                let size = blobs.size(of: attachment.sha256)
            else {
                throw APIError.unprocessable(
                    "unknown_blob", "Attachment '\(attachment.name)' names no uploaded blob; POST /v1/blobs first.")
            }
            guard size == attachment.size else {
                throw APIError.unprocessable(
                    "invalid_attachment", "Attachment '\(attachment.name)' has \(size) bytes, not \(attachment.size).")
            }
        }
        return attachments
    }

    static let inboxParameters: Set<String> = [
        "status", "priority", "type", "category", "party", "handler", "subject", "q", "unread", "answered", "limit",
        "cursor", "minPosition", "sort", "order", "kind",
    ]

    func moveReadMarker(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(ReadBody.self, request)
        let outcome = try await execute(
            .moveReadMarker(thread: thread, upTo: body.upTo), caller: caller, request: request)
        return try json(
            ReadAnswer(id: thread.rawValue, upTo: body.upTo, position: outcome.position), position: outcome.position)
    }

    func assignHandler(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(AssignBody.self, request)
        let outcome = try await execute(
            .assignHandler(thread: thread, handler: UserID(body.handler)), caller: caller, request: request)
        return try threadAnswer(thread, outcome, caller: caller)
    }

    func changeStatus(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(StatusBody.self, request)
        let outcome = try await execute(
            .changeStatus(thread: thread, to: body.status), caller: caller, request: request)
        return try threadAnswer(thread, outcome, caller: caller)
    }

    func blockThread(_ caller: Caller, _ request: Request, _ route: MatchedRoute, blocked: Bool) async throws
        -> Response
    {
        let thread = ThreadID(try parameter("id", route))
        _ = try await body(EmptyBody.self, request)
        let outcome = try await execute(
            blocked ? .blockThread(thread) : .unblockThread(thread), caller: caller, request: request)
        return try threadAnswer(thread, outcome, caller: caller)
    }

    /// `PATCH /v1/threads/{id}`: a handler changes type, priority, importance or category.
    func changeAttributes(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let body = try await body(AttributesBody.self, request)
        let patch = AttributesPatch(
            type: body.type, priority: body.priority, importance: body.importance,
            category: body.category.map(CategoryID.init(rawValue:)))
        let outcome = try await execute(.changeAttributes(thread: thread, patch), caller: caller, request: request)
        return try threadAnswer(thread, outcome, caller: caller)
    }

    /// `POST /v1/threads/{id}/messages/{number}/kind` `{"kind": "task"|"message"}`: a handler marks a
    /// message as a task to do, or back; answers `{id, number, kind, position}`.
    func changeMessageKind(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let thread = ThreadID(try parameter("id", route))
        let text = try parameter("number", route)
        guard let number = Int(text), number >= 1 else {
            throw APIError.unprocessable("invalid_parameter", "The message number must be a positive integer, not '\(text)'.")
        }
        let body = try await body(MessageKindBody.self, request)
        let outcome = try await execute(
            .changeMessageKind(thread: thread, number: number, kind: body.kind), caller: caller, request: request)
        return try json(
            MessageKindAnswer(id: "\(thread.rawValue)/\(number)", number: number, kind: body.kind.rawValue, position: outcome.position),
            position: outcome.position)
    }

    private func threadAnswer(_ thread: ThreadID, _ outcome: CommandOutcome, caller: Caller) throws -> Response {
        guard let state = try handler.threadState(thread), let user = caller.user else {
            throw DomainError.threadNotFound(thread)
        }
        return try json(
            ThreadAnswer(
                thread: ThreadDetail(state, for: user, in: try handler.currentDirectory()), position: outcome.position),
            position: outcome.position)
    }

    func inbox(_ caller: Caller, _ request: Request) async throws -> Response {
        guard let user = caller.user else { throw APIError.forbidden }
        let parameters = request.uri.queryParameters
        for (name, _) in parameters where !Self.inboxParameters.contains(String(name)) {
            throw APIError.unprocessable(
                "invalid_parameter",
                "The inbox has no parameter '\(name)'; it takes \(Self.inboxParameters.sorted().joined(separator: ", ")).")
        }
        func text(_ name: String) -> String? {
            parameters.get(name).flatMap { $0.isEmpty ? nil : $0 }
        }
        // A filter value no thread can have is a mistake of the caller, not an empty list.
        func check<Value: RawRepresentable & CaseIterable>(_ name: String, _: Value.Type) throws where Value.RawValue == String {
            guard let value = text(name), Value(rawValue: value) == nil else { return }
            throw APIError.unprocessable(
                "invalid_parameter",
                "\(name) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'.")
        }
        try check("status", ThreadStatus.self)
        try check("priority", Priority.self)
        try check("type", ThreadType.self)
        var query = InboxQuery(
            status: text("status"), priority: text("priority"), type: text("type"), category: text("category"),
            party: text("party"), handler: text("handler"), subject: text("subject"), text: text("q"),
            cursor: text("cursor"))
        if let unread = text("unread") {
            switch unread {
            case "true", "1": query.unreadOnly = true
            case "false", "0": query.unreadOnly = false
            default: throw APIError.unprocessable("invalid_parameter", "unread must be true or false.")
            }
        }
        if let answered = text("answered") {
            switch answered {
            case "true", "1": query.answeredByCustomer = true
            case "false", "0": query.answeredByCustomer = false
            default: throw APIError.unprocessable("invalid_parameter", "answered must be true or false.")
            }
        }
        if let sort = try Self.choice("sort", parameters.get("sort"), of: InboxSort.self) { query.sort = sort }
        if let order = parameters.get("order") {
            switch order {
            case "asc": query.ascending = true
            case "desc": query.ascending = false
            default: throw APIError.unprocessable("invalid_parameter", "order must be asc or desc, not '\(order)'.")
            }
        }
        if let kind = try Self.choice("kind", parameters.get("kind"), of: MessageKind.self) { query.kind = kind }
        if let limit = text("limit") {
            guard let value = Int(limit), (1...200).contains(value) else {
                throw APIError.unprocessable("invalid_parameter", "limit must be between 1 and 200.")
            }
            query.limit = value
        }
        let page = try await queries.inbox(query, reader: user, minPosition: try await minPosition(request, caller: caller))
        return try json(page)
    }

    func unread(_ caller: Caller, _ request: Request) async throws -> Response {
        guard let user = caller.user else { throw APIError.forbidden }
        return try json(try await queries.unread(reader: user, minPosition: try await minPosition(request, caller: caller)))
    }

    /// Stores the bytes, then records the caller as an uploader (once per user and blob), so they
    /// may attach and download them.
    func uploadBlob(_ caller: Caller, _ request: Request) async throws -> Response {
        guard try handler.currentDirectory().settings.attachmentsAllowed else {
            throw APIError(DomainError.attachmentsNotAllowed)
        }
        let bytes = try await collect(request, limit: configuration.maxBlobBytes)
        let digest = try blobs.put(bytes)
        let size = Int64(bytes.count)
        let outcome = try await execute(.recordUpload(sha256: digest, size: size), caller: caller, request: request)
        return try json(BlobAnswer(sha256: digest, size: size), status: .created, position: outcome.position)
    }

    /// Only the uploader or a reader of a thread that references the blob gets it; everyone else
    /// gets 404.
    func getBlob(_ caller: Caller, _ route: MatchedRoute) throws -> Response {
        let sha256 = try parameter("sha256", route)
        guard let user = caller.user, isSHA256Hex(sha256), let usable = try blobs.usable(sha256, by: user),
            let bytes = blobs.read(sha256)
        else { throw APIError.notFound }
        var response = self.bytes(bytes, contentType: usable.contentType)
        response.headers[.contentDisposition] = Self.contentDisposition(usable.name)
        return response
    }

    static func contentDisposition(_ name: String?) -> String { BlobAccess.contentDisposition(name) }
}

struct MessageKindBody: Codable {
    var kind: MessageKind
}

struct MessageKindAnswer: Codable {
    var id: String
    var number: Int
    var kind: String
    var position: UInt64
}

extension APIServer {
    /// A query parameter naming one of a closed set of values; 422 `invalid_parameter` for another.
    static func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ text: String?, of type: T.Type) throws -> T?
    where T.RawValue == String {
        guard let text else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.unprocessable(
                "invalid_parameter",
                "\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'.")
        }
        return value
    }
}
