import Foundation
import EventFeed
import HTTPAPI
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the server, for bytes no HTTP client would send. Every read is bounded
/// by a deadline.
typealias RawSocket = LoopbackSocket

extension LoopbackSocket {
    /// One response with a Content-Length body; what follows stays in the buffer.
    func readResponse(within limit: Duration = .seconds(10)) throws -> RawResponse {
        let deadline = ContinuousClock.now + limit
        while true {
            if let response = RawResponse.parse(&buffer) { return response }
            let left = deadline - ContinuousClock.now
            guard left > .zero, wait(left) == true else { throw TestFailure("no whole response: \(buffer)") }
        }
    }
}

/// A response as read off the wire.
struct RawResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var error: [String: Any]? { json["error"] as? [String: Any] }

    /// Takes one response off the front of `bytes`, if it is all there.
    static func parse(_ bytes: inout [UInt8]) -> RawResponse? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        let start = end + separator.count
        guard bytes.count >= start + length else { return nil }
        let body = Array(bytes[start..<(start + length)])
        bytes.removeFirst(start + length)
        return RawResponse(status: status, headers: headers, body: body)
    }
}

@Suite("HTTP connections: malformed requests and timeouts")
struct ConnectionTests {
    @Test("a request the HTTP parser refuses gets a 400 in the error shape, then the connection closes")
    func parserRefusals() async throws {
        try await withHarness { h in
            let port = h.port
            let before = try h.lastPosition()
            let manyHeaders = (0..<3000).map { "X-H\($0): v\r\n" }.joined()
            let cases: [(String, String, String)] = [
                ("DEL in a header name", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad\u{7f}: 1\r\n\r\n", "character"),
                ("DEL in a header value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u{7f}b\r\n\r\n", "character"),
                ("3000 headers", "GET /healthz HTTP/1.1\r\nHost: x\r\n" + manyHeaders + "\r\n", "too large"),
                ("a garbage request line", "GARBAGE\r\n\r\n", "HTTP"),
                (
                    "an oversize header section",
                    "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100 * 1024)
                        + "\r\n\r\n",
                    "too large"
                ),
                (
                    "a bad chunk in a body",
                    "POST /v1/parties HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Harness.adminToken)\r\n"
                        + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
                    "chunked"
                ),
            ]
            for (name, request, wording) in cases {
                let (status, headers, error, rest) = try await onThread {
                    () -> (Int, [String: String], [String: String], Int) in
                    let socket = try RawSocket(port: port)
                    socket.send(request)
                    var bytes = try socket.readToEnd()
                    guard let response = RawResponse.parse(&bytes) else {
                        throw TestFailure("\(name): not a response: \(String(decoding: bytes, as: UTF8.self))")
                    }
                    return (response.status, response.headers, response.error as? [String: String] ?? [:], bytes.count)
                }
                #expect(status == 400, "\(name)")
                #expect(headers["content-type"] == "application/json", "\(name): \(headers)")
                #expect(headers["connection"] == "close", "\(name): \(headers)")
                #expect(error["code"] == "bad_request", "\(name): \(error)")
                #expect(error["message"]?.contains(wording) == true, "\(name): \(error)")
                #expect(rest == 0, "\(name): nothing after the refusal")
            }
            // Garbage pipelined behind a good request: the good one is answered first.
            let (first, second, rest) = try await onThread { () -> (RawResponse, RawResponse, Int) in
                let socket = try RawSocket(port: port)
                socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n")
                var bytes = try socket.readToEnd()
                guard let first = RawResponse.parse(&bytes), let second = RawResponse.parse(&bytes) else {
                    throw TestFailure("not two responses: \(String(decoding: bytes, as: UTF8.self))")
                }
                return (first, second, bytes.count)
            }
            #expect(first.status == 200)
            #expect(second.status == 400)
            #expect(second.error?["code"] as? String == "bad_request")
            #expect(rest == 0)
            #expect(try h.lastPosition() == before)
        }
    }

    @Test("a request head trickling in is cut at the header timeout while other connections are answered")
    func slowHeaders() async throws {
        // Long enough that the ordinary request is answered before it on a machine busy with the rest
        // of the suite (the schemathesis run among it; 10 s once fell short there).
        let timeout = Duration.seconds(20)
        try await withHarness(headerTimeout: timeout) { h in
            let port = h.port
            // Sixty connections send a request head a byte every 50 ms, never finishing it.
            let slow = Task {
                try await withThrowingTaskGroup(of: (Duration, Int, Int).self) { group in
                    for _ in 0..<60 {
                        group.addTask {
                            try await onThread {
                                let started = ContinuousClock.now
                                let socket = try RawSocket(port: port)
                                let head = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
                                var sent = 0
                                while ContinuousClock.now - started < .seconds(35) {
                                    let byte = sent < head.count ? head[sent] : UInt8(ascii: "a")
                                    guard socket.send([byte]) else { break }
                                    sent += 1
                                    if socket.wait(.milliseconds(50)) == false { break }
                                }
                                let received = try socket.readToEnd(within: .seconds(1)).count
                                return (ContinuousClock.now - started, sent, received)
                            }
                        }
                    }
                    var all: [(Duration, Int, Int)] = []
                    for try await result in group { all.append(result) }
                    return all
                }
            }
            // Meanwhile an ordinary request on another connection is answered at once.
            let started = ContinuousClock.now
            let health = try await h.call(.get, "/healthz")
            let answeredAfter = ContinuousClock.now - started
            #expect(health.status == 200)
            #expect(answeredAfter < timeout, "\(answeredAfter)")
            let results = try await slow.value
            #expect(results.count == 60)
            for (lasted, sent, received) in results {
                #expect(lasted >= timeout, "closed after \(lasted)")
                #expect(lasted < .seconds(35), "never closed")
                #expect(sent > 3, "kept sending")
                #expect(received == 0)
            }
        }
    }

    @Test("the header timeout runs again from the end of each response on a kept-alive connection")
    func keepAliveHeaderTimeout() async throws {
        let timeout = Duration.milliseconds(400)
        try await withHarness(headerTimeout: timeout) { h in
            let port = h.port
            let (statuses, silence) = try await onThread { () -> ([Int], Duration) in
                let socket = try RawSocket(port: port)
                var statuses: [Int] = []
                var asked = ContinuousClock.now
                for _ in 0..<3 {
                    asked = ContinuousClock.now
                    socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    statuses.append(try socket.readResponse().status)
                }
                _ = try socket.readToEnd()
                // Measured from before the last request, so never longer than the server's wait.
                return (statuses, ContinuousClock.now - asked)
            }
            #expect(statuses == [200, 200, 200])
            #expect(silence >= timeout, "\(silence)")
        }
    }

    @Test("an idle connection is closed at the idle timeout")
    func idleTimeout() async throws {
        let timeout = Duration.milliseconds(400)
        try await withHarness(headerTimeout: .seconds(30), idleTimeout: timeout) { h in
            let port = h.port
            let (status, silence) = try await onThread { () -> (Int, Duration) in
                let socket = try RawSocket(port: port)
                let asked = ContinuousClock.now
                socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let status = try socket.readResponse().status
                _ = try socket.readToEnd()
                return (status, ContinuousClock.now - asked)
            }
            #expect(status == 200)
            #expect(silence >= timeout, "\(silence)")
        }
    }

    @Test("an event stream outlives the header and idle timeouts")
    func eventStreamOutlivesTimeouts() async throws {
        // Long enough that a loaded machine still sends the seeding requests' heads in time (the
        // header timeout counts from the connection's start): the whole suite starting at once once
        // held a client more than 5 s between connecting and writing its request.
        let timeout = Duration.seconds(10)
        try await withHarness(heartbeat: .milliseconds(200), headerTimeout: timeout, idleTimeout: timeout) { h in
            let cast = try await h.seed()
            let endpoint = try EventFeedClient.Endpoint(url: "http://127.0.0.1:\(h.port)")
            let token = cast.service
            let target = try h.lastPosition()
            let (seen, beats, lasted) = try await { () async throws -> (UInt64, Int, Duration) in
                let started = ContinuousClock.now
                var beats = 0
                var seen: UInt64 = 0
                try await EventFeedClient.stream(endpoint, token: token, after: 0, timeoutSeconds: 30) { item in
                    switch item {
                    case .event(let position, _, _): seen = position
                    case .comment(let text): if text == "heartbeat" { beats += 1 }
                    }
                    // Well past both timeouts, with the stream idle but for its heartbeats.
                    return !(seen == target && ContinuousClock.now - started > timeout * 2)
                }
                return (seen, beats, ContinuousClock.now - started)
            }()
            #expect(seen == target)
            #expect(beats >= 3)
            #expect(lasted > timeout * 2)
        }
    }
}
