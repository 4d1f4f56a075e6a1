import Engine
import Hummingbird
import ServiceLifecycle
import Synchronization

// `GET /v1/events`: pages of envelopes, or with `Accept: text/event-stream` a live stream. The
// envelopes are spliced from the stored payload bytes, never decoded and encoded again.
extension APIServer {
    func events(_ caller: Caller, _ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        var from: UInt64 = 1
        if let text = parameters.get("from") {
            guard let value = UInt64(text) else {
                throw APIError.unprocessable("invalid_parameter", "from must be a non-negative integer.")
            }
            from = max(value, 1)
        }
        let wantsStream = request.headers[.accept]?.contains("text/event-stream") ?? false
        if wantsStream {
            var after = from - 1
            if let last = request.headers[.lastEventID] {
                guard let value = UInt64(last.trimmingCharacters(in: .whitespaces)) else {
                    throw APIError.unprocessable("invalid_parameter", "Last-Event-ID must be a log position.")
                }
                after = value
            }
            return eventStream(request: request, after: after, stillAllowed: stillAllowed(caller))
        }
        var limit = 100
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.unprocessable("invalid_parameter", "limit must be between 1 and 1000.")
            }
            limit = value
        }
        let events = try await log.events(from: from, limit: limit)
        var out: [UInt8] = []
        out.reserveCapacity(64 + events.count * 256)
        out.append(contentsOf: #"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            event.appendEnvelope(to: &out)
        }
        out.append(contentsOf: #"],"next":"#.utf8)
        out.append(contentsOf: String((events.last?.position).map { $0 + 1 } ?? from).utf8)
        out.append(UInt8(ascii: "}"))
        return bytes(out)
    }

    /// Whether the caller's token still names the caller: a service token revoked (or a user's token
    /// replaced) while its stream is open ends the stream. The administrator's token is configuration.
    private func stillAllowed(_ caller: Caller) -> @Sendable () throws -> Bool {
        let handler = self.handler
        guard let hash = caller.tokenHash, hash != configuration.adminTokenHash else { return { true } }
        let actor = caller.actor
        return { try handler.currentDirectory().principal(withTokenHash: hash) == actor }
    }

    /// Server-sent events from the position after `after` on: `id:` is the position, `event:` the
    /// type, `data:` the envelope. Ends when the client leaves, the service shuts down, or the caller's
    /// token is revoked (checked before every batch and heartbeat, against the directory at the log's
    /// head, so nothing from the revocation on is sent).
    private func eventStream(
        request: Request, after: UInt64, stillAllowed: @escaping @Sendable () throws -> Bool
    ) -> Response {
        let log = self.log
        let heartbeat = configuration.heartbeat
        let body = ResponseBody { writer in
            let stopping = Atomic<Bool>(false)
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withGracefulShutdownHandler {
                        try await Self.pump(
                            log: log, after: after, heartbeat: heartbeat, stopping: stopping,
                            stillAllowed: stillAllowed, writer: &writer)
                    } onGracefulShutdown: {
                        stopping.store(true, ordering: .relaxed)
                    }
                }
            } catch {
                // The client left or the service is stopping: nothing more to say to anyone.
            }
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: body)
    }

    private static func pump(
        log: LogFeed, after: UInt64, heartbeat: Duration, stopping: borrowing Atomic<Bool>,
        stillAllowed: () throws -> Bool, writer: inout any ResponseBodyWriter
    ) async throws {
        // A first comment sends the headers at once, so a client knows the stream is open.
        try await writer.write(ByteBuffer(string: ": threadlog events\n\n"))
        var last = after
        var idleSince = ContinuousClock.now
        let slice = min(heartbeat, .seconds(1))
        var frames: [UInt8] = []
        while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
            let batch = try await log.next(after: last, limit: 256, wait: slice)
            if let newest = batch.last {
                guard try stillAllowed() else { return }
                frames.removeAll(keepingCapacity: true)
                for event in batch { event.appendFrame(to: &frames) }
                try await writer.write(ByteBuffer(bytes: frames))
                last = newest.position
                idleSince = ContinuousClock.now
            } else if ContinuousClock.now - idleSince >= heartbeat {
                guard try stillAllowed() else { return }
                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                idleSince = ContinuousClock.now
            }
        }
    }
}
