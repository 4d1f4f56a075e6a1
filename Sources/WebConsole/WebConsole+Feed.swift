import Engine
import Foundation
import Hummingbird
import Messaging
import NIOCore
import ServiceLifecycle
import Synchronization

// `/feed`: the signed-in user's live feed, as server-sent events. It names only threads the user may
// read, and only changes recorded where they may see them; the page fetches what changed itself.
extension WebConsole {
    func feed(_ visit: Visit, _ session: ConsoleSession) -> Response {
        let request = visit.request
        let resumeAfter = request.headers[.lastEventIDHeader].flatMap {
            UInt64($0.trimmingCharacters(in: .whitespaces))
        }
        let console = self
        let body = ResponseBody { writer in
            let stopping = Atomic<Bool>(false)
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withGracefulShutdownHandler {
                        let after: UInt64
                        if let resumeAfter { after = resumeAfter } else { after = (try? await console.fetchHead()) ?? 0 }
                        try await console.pump(session: session, after: after, stopping: stopping, writer: &writer)
                    } onGracefulShutdown: {
                        stopping.store(true, ordering: .relaxed)
                    }
                }
            } catch {
                // The browser left or the service is stopping.
            }
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// Sends `event: thread` with `{"thread": id}` for each thread the user may read that changed;
    /// ends when the session ends (sign-out, expiry, a replaced token).
    private func pump(
        session: ConsoleSession, after: UInt64, stopping: borrowing Atomic<Bool>,
        writer: inout any ResponseBodyWriter
    ) async throws {
        try await writer.write(ByteBuffer(string: "retry: 2000\n: threadlog feed\n\n"))
        let log = handler.log
        var last = after
        var idleSince = ContinuousClock.now
        let heartbeat = configuration.heartbeat
        while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
            let batch = try await log.next(after: last, limit: 256, wait: min(heartbeat, .seconds(1)))
            if let newest = batch.last {
                guard try currentSession([Cookies.session: session.id]) != nil else { return }
                var seen = Set<String>()
                var frames = ""
                for item in try UserFeed.items(batch, for: session.user, handler: handler)
                where seen.insert(item.thread).inserted {
                    frames += "id: \(item.position)\nevent: thread\ndata: {\"thread\":\"\(item.thread)\"}\n\n"
                }
                frames += "id: \(newest.position)\n: up to here\n\n"
                try await writer.write(ByteBuffer(string: frames))
                last = newest.position
                idleSince = ContinuousClock.now
            } else if ContinuousClock.now - idleSince >= heartbeat {
                guard try currentSession([Cookies.session: session.id]) != nil else { return }
                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                idleSince = ContinuousClock.now
            }
        }
    }
}
