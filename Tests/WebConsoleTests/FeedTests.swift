import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The console's live feed")
struct FeedTests {
    @Test("the feed names the threads the user may read, and no other")
    func visibility() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let eve = try await server.signIn(cast.eve)
            let socket = try LoopbackSocket(port: server.port)
            socket.send("GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: tl_session=\(eve.session)\r\n\r\n")
            let opened = try await onThread { try socket.read(until: ": threadlog feed") }
            #expect(opened.contains("content-type: text/event-stream") || opened.contains("Content-Type: text/event-stream"))

            // Bob's chat changes (hidden from eve), then a thread of eve's own is opened.
            let posted = try await server.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.bob, json: #"{"body":"for the supplier only"}"#)
            #expect(posted.status == 201)
            let own = try await server.call(
                .post, "/v1/threads", token: cast.eve,
                json: #"{"subject":{"kind":"request","ref":"R-9"},"title":"Eve's question","body":"Hi"}"#)
            let ownID = try #require(own.json["id"] as? String)
            let text = try await onThread { try socket.read(until: #"{"thread":"\#(ownID)"}"#) }
            #expect(!text.contains(cast.thread))
            #expect(!text.contains("for the supplier only"))
        }
    }
}

@Suite("GET /v1/feed")
struct APIFeedTests {
    @Test("a user's feed carries the threads they may read, authors as the display policy shows them")
    func userFeed() async throws {
        try await withConsole { server in
            let cast = try await server.seed()
            let socket = try LoopbackSocket(port: server.port)
            socket.send("GET /v1/feed HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(cast.bob)\r\n\r\n")
            _ = try await onThread { try socket.read(until: ": threadlog feed") }
            let hidden = try await server.call(
                .post, "/v1/threads", token: cast.eve,
                json: #"{"subject":{"kind":"request","ref":"R-9"},"title":"Eve's question","body":"secret"}"#)
            let hiddenID = try #require(hidden.json["id"] as? String)
            let answer = try await server.call(
                .post, "/v1/threads/\(cast.thread)/messages", token: cast.ann, json: #"{"body":"From the handler"}"#)
            #expect(answer.status == 201)
            let text = try await onThread { try socket.read(until: "From the handler") }
            #expect(text.contains("event: message.posted"))
            #expect(text.contains(#""author":{"name":"Acme"}"#), "\(text)")
            #expect(!text.contains("\"ann\""))
            #expect(!text.contains(hiddenID))
            #expect(!text.contains("secret"))

            // Resuming after the last id sent replays nothing already seen and nothing hidden.
            // The handler's answer also opened the thread (a second event after the message): resume
            // from just before the message itself.
            // Chunk sizes end in CRLF, which Swift's strings keep as one character: split on scalars.
            let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map(String.init)
            let messageLine = try #require(lines.firstIndex { $0 == "event: message.posted" })
            let idLine = try #require(lines[..<messageLine].last { $0.hasPrefix("id: ") })
            let last = try #require(UInt64(idLine.dropFirst("id: ".count)))
            let resumed = try LoopbackSocket(port: server.port)
            resumed.send(
                "GET /v1/feed HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(cast.bob)\r\nLast-Event-ID: \(last - 1)\r\n\r\n")
            let again = try await onThread { try resumed.read(until: "From the handler") }
            #expect(!again.contains("secret"))
            let refused = try await server.call(.get, "/v1/feed", token: cast.bob, headers: ["Last-Event-ID": "x"])
            #expect(refused.status == 422)
        }
    }
}
