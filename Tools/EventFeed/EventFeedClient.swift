import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The client of a running service's event feed for `threadlog tail --url` (and the tests), on
/// AsyncHTTPClient: pages of `GET /v1/events`, the live SSE stream resumed with `Last-Event-ID`, and
/// a consumer group's long poll and acknowledgement. Plain `http://` only.
public enum EventFeedClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The HTTP status when the server refused the request, `nil` for a connection fault.
        public var status: Int?
        init(_ description: String, status: Int? = nil) {
            self.description = description
            self.status = status
        }
    }

    /// What an event stream delivers: an event (its envelope bytes as sent) or a comment line.
    public enum StreamItem: Sendable {
        case event(position: UInt64, type: String, envelope: [UInt8])
        case comment(String)
    }

    public struct Endpoint: Sendable {
        public var host: String
        public var port: Int
        /// The URL's path without a trailing `/`, prefixed to every request path.
        public var basePath: String

        public init(url: String) throws {
            guard url.hasPrefix("http://") else { throw Failure("only http:// URLs are supported: \(url)") }
            var rest = Substring(url.dropFirst("http://".count))
            var path = ""
            if let slash = rest.firstIndex(of: "/") {
                path = String(rest[slash...])
                rest = rest[..<slash]
            }
            while path.hasSuffix("/") { path.removeLast() }
            let hostPort = rest.split(separator: ":", maxSplits: 1)
            guard let hostPart = hostPort.first, !hostPart.isEmpty else { throw Failure("no host in \(url)") }
            host = String(hostPart)
            if hostPort.count == 2 {
                guard let value = Int(hostPort[1]), (1...65535).contains(value) else {
                    throw Failure("bad port in \(url)")
                }
                port = value
            } else {
                port = 80
            }
            basePath = path
        }

        /// The absolute URL of a request path under the base path.
        func url(_ path: String) -> String { "http://\(host):\(port)\(basePath)\(path)" }
    }

    /// One page of `GET /v1/events`: each envelope's bytes as the server sent them, and `next`.
    public static func page(_ endpoint: Endpoint, token: String, from: UInt64, limit: Int = 1000) async throws
        -> (envelopes: [[UInt8]], next: UInt64)
    {
        let path = "/v1/events?from=\(from)&limit=\(limit)"
        let (status, body) = try await call(endpoint, method: .GET, path: path, token: token, timeoutSeconds: 30)
        guard status == 200 else {
            throw Failure("GET /v1/events answered \(status): \(String(decoding: body, as: UTF8.self))", status: status)
        }
        return try splitPage(body)
    }

    /// Follows the live stream (`Accept: text/event-stream`) from after `after`; `onItem` returns
    /// false to stop. Returns the last position delivered; throws when the connection fails, so a
    /// caller can reconnect with that position (sent as `Last-Event-ID`). `timeoutSeconds` bounds
    /// each silence of the server, not the stream.
    @discardableResult
    public static func stream(
        _ endpoint: Endpoint, token: String, after: UInt64, timeoutSeconds: Int = 60,
        onItem: (StreamItem) async throws -> Bool
    ) async throws -> UInt64 {
        var request = HTTPClientRequest(url: endpoint.url("/v1/events"))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "Last-Event-ID", value: String(after))
        return try await withClient(timeoutSeconds: timeoutSeconds) { client in
            let response = try await client.execute(request, deadline: .distantFuture)
            guard response.status.code == 200 else {
                let body = (try? await response.body.collect(upTo: maxBody)).map { Array(buffer: $0) } ?? []
                throw Failure(
                    "GET /v1/events answered \(response.status.code): \(String(decoding: body, as: UTF8.self))",
                    status: Int(response.status.code))
            }
            var last = after
            var pending: [UInt8] = []
            var id: UInt64?
            var type = ""
            var data: [UInt8] = []
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                var start = 0
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    let line = pending[start..<newline]
                    start = newline + 1
                    var more = true
                    if line.isEmpty {
                        if let position = id {
                            last = position
                            more = try await onItem(.event(position: position, type: type, envelope: data))
                        }
                        id = nil
                        type = ""
                        data = []
                    } else if line.first == UInt8(ascii: ":") {
                        let text = String(decoding: line.dropFirst(), as: UTF8.self).trimmingSpaces()
                        more = try await onItem(.comment(text))
                    } else if line.starts(with: "id: ".utf8) {
                        id = UInt64(String(decoding: line.dropFirst(4), as: UTF8.self))
                    } else if line.starts(with: "event: ".utf8) {
                        type = String(decoding: line.dropFirst(7), as: UTF8.self)
                    } else if line.starts(with: "data: ".utf8) {
                        data.append(contentsOf: line.dropFirst(6))
                    }
                    // Leaving the body's sequence cancels the request and closes the connection.
                    if !more { return last }
                }
                pending.removeFirst(start)
            }
            throw Failure("the event stream ended")
        }
    }

    /// One long poll of a consumer group for `member`: the envelopes handed to it, as sent.
    public static func groupPoll(
        _ endpoint: Endpoint, token: String, group: String, member: String, max: Int = 256, waitSeconds: Int = 10
    ) async throws -> [[UInt8]] {
        let path = "/v1/consumer-groups/\(group)/events?member=\(member)&max=\(max)&wait=\(waitSeconds)"
        let (status, body) = try await call(
            endpoint, method: .GET, path: path, token: token, timeoutSeconds: waitSeconds + 30)
        guard status == 200 else {
            throw Failure("GET \(path) answered \(status): \(String(decoding: body, as: UTF8.self))", status: status)
        }
        return try splitEnvelopes(body).envelopes
    }

    /// Acknowledges positions for a consumer group.
    public static func groupAck(
        _ endpoint: Endpoint, token: String, group: String, member: String, positions: [UInt64]
    ) async throws {
        let body = Array(#"{"member":"\#(member)","positions":[\#(positions.map(String.init).joined(separator: ","))]}"#.utf8)
        let path = "/v1/consumer-groups/\(group)/ack"
        let (status, answer) = try await call(endpoint, method: .POST, path: path, token: token, body: body)
        guard status == 200 else {
            throw Failure("POST \(path) answered \(status): \(String(decoding: answer, as: UTF8.self))", status: status)
        }
    }

    /// One request, with a JSON body or none: the status and the answer's bytes.
    static func call(
        _ endpoint: Endpoint, method: HTTPMethod, path: String, token: String, body: [UInt8]? = nil,
        timeoutSeconds: Int = 60
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: endpoint.url(path))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        return try await withClient(timeoutSeconds: timeoutSeconds) { client in
            let response = try await client.execute(request, timeout: .seconds(Int64(timeoutSeconds)))
            let answer = try await response.body.collect(upTo: maxBody)
            return (Int(response.status.code), Array(buffer: answer))
        }
    }

    /// The most of an answer read into memory (a page of 1000 envelopes stays well below it).
    static let maxBody = 256 << 20

    /// A client for one call, shut down when it returns; its faults become `Failure`s without a status.
    /// The read timeout stands for the socket's receive timeout: a stream's heartbeats keep it alive.
    private static func withClient<T>(
        timeoutSeconds: Int, _ body: (HTTPClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(timeoutSeconds)))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch let failure as Failure {
            try? await client.shutdown()
            throw failure
        } catch let error as HTTPClientError {
            try? await client.shutdown()
            throw Failure(error == .readTimeout ? "the server went silent" : "the connection failed: \(error)")
        } catch {
            try? await client.shutdown()
            throw Failure("the connection failed: \(error)")
        }
    }

    /// The envelope's position, read without decoding (it is the envelope's first field).
    public static func position(of envelope: [UInt8]) -> UInt64? {
        let marker = Array(#"{"position":"#.utf8)
        guard envelope.starts(with: marker) else { return nil }
        return UInt64(String(decoding: envelope[marker.count...].prefix { (48...57).contains($0) }, as: UTF8.self))
    }

    /// Splits `{"events":[…],"next":N}` into the raw bytes of each envelope, without decoding them.
    static func splitPage(_ body: [UInt8]) throws -> (envelopes: [[UInt8]], next: UInt64) {
        let (envelopes, index) = try splitEnvelopes(body)
        let marker = Array(#""next":"#.utf8)
        guard index < body.count,
            let found = body[index...].indices.first(where: { body[$0...].starts(with: marker) }),
            let next = UInt64(
                String(decoding: body[(found + marker.count)...].prefix { (48...57).contains($0) }, as: UTF8.self))
        else { throw Failure("an events page without 'next'") }
        return (envelopes, next)
    }

    /// The raw bytes of each envelope of an `"events"` array, and the index where the array ends.
    static func splitEnvelopes(_ body: [UInt8]) throws -> (envelopes: [[UInt8]], end: Int) {
        guard let open = body.firstIndex(of: UInt8(ascii: "[")) else { throw Failure("not an events page") }
        var envelopes: [[UInt8]] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = -1
        var index = open + 1
        scan: while index < body.count {
            let byte = body[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if depth == 0 { start = index }
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { break scan }
                    depth -= 1
                    if depth == 0 { envelopes.append(Array(body[start...index])) }
                default: break
                }
            }
            index += 1
        }
        return (envelopes, index)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
