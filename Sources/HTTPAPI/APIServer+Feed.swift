import Engine
import Foundation
import Hummingbird
import Messaging
import ServiceLifecycle
import Synchronization

// `GET /v1/feed`: a user's own live stream, as server-sent events: only events of threads the user
// may read, recorded where they may see them, each a `FeedItem` (a posted message with its author as
// the display policy shows it to the user). `id:` is the log position; it resumes after
// `Last-Event-ID`, else starts at the log's head.
extension APIServer {
    func feed(_ caller: Caller, _ request: Request) async throws -> Response {
        guard let user = caller.user, let hash = caller.tokenHash, let actor = caller.actor else {
            throw APIError.forbidden
        }
        var after = try await log.lastPosition()
        if let last = request.headers[.lastEventID] {
            guard let value = UInt64(last.trimmingCharacters(in: .whitespaces)) else {
                throw APIError.unprocessable("invalid_parameter", "Last-Event-ID must be a log position.")
            }
            after = value
        }
        let start = after
        let handler = self.handler
        let log = self.log
        let heartbeat = configuration.heartbeat
        // A replaced token ends the stream, as it ends every other use of the token.
        let stillAllowed: @Sendable () throws -> Bool = {
            try handler.currentDirectory().principal(withTokenHash: hash) == actor
        }
        let body = ResponseBody { writer in
            let stopping = Atomic<Bool>(false)
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withGracefulShutdownHandler {
                        try await Self.pumpFeed(
                            user: user, log: log, handler: handler, after: start, heartbeat: heartbeat,
                            stopping: stopping, stillAllowed: stillAllowed, writer: &writer)
                    } onGracefulShutdown: {
                        stopping.store(true, ordering: .relaxed)
                    }
                }
            } catch {
                // The client left or the service is stopping.
            }
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    private static func pumpFeed(
        user: UserID, log: LogFeed, handler: CommandHandler, after: UInt64, heartbeat: Duration,
        stopping: borrowing Atomic<Bool>, stillAllowed: () throws -> Bool, writer: inout any ResponseBodyWriter
    ) async throws {
        try await writer.write(ByteBuffer(string: ": threadlog feed\n\n"))
        var last = after
        var idleSince = ContinuousClock.now
        while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
            let batch = try await log.next(after: last, limit: 256, wait: min(heartbeat, .seconds(1)))
            if let newest = batch.last {
                guard try stillAllowed() else { return }
                var frames: [UInt8] = []
                for item in try UserFeed.items(batch, for: user, handler: handler) {
                    frames.append(contentsOf: "id: \(item.position)\nevent: \(item.type)\ndata: ".utf8)
                    frames.append(contentsOf: try AnswerEncoder.encode(item))
                    frames.append(contentsOf: "\n\n".utf8)
                }
                // The position read up to, so a client resumes after events it was not shown, too.
                frames.append(contentsOf: "id: \(newest.position)\n\n".utf8)
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
