import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client for the event feed of a running service (`threadlog tail --url`
/// and the tests): one request per connection, plain `http://` only, chunked or sized bodies.
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
    }

    /// One page of `GET /v1/events`: each envelope's bytes as the server sent them, and `next`.
    public static func page(_ endpoint: Endpoint, token: String, from: UInt64, limit: Int = 1000) throws
        -> (envelopes: [[UInt8]], next: UInt64)
    {
        let connection = try Connection(endpoint, timeoutSeconds: 30)
        defer { connection.close() }
        try connection.send(
            method: "GET", path: endpoint.basePath + "/v1/events?from=\(from)&limit=\(limit)",
            headers: ["Authorization": "Bearer \(token)", "Accept": "application/json"])
        let head = try connection.readHead()
        var body: [UInt8] = []
        try connection.readBody(head) {
            body.append(contentsOf: $0)
            return true
        }
        guard head.status == 200 else {
            throw Failure(
                "GET /v1/events answered \(head.status): \(String(decoding: body, as: UTF8.self))", status: head.status)
        }
        return try splitPage(body)
    }

    /// Follows the live stream (`Accept: text/event-stream`) from after `after`; `onItem` returns
    /// false to stop. Returns the last position delivered; throws when the connection fails, so a
    /// caller can reconnect with that position (sent as `Last-Event-ID`).
    @discardableResult
    public static func stream(
        _ endpoint: Endpoint, token: String, after: UInt64, timeoutSeconds: Int = 60,
        onItem: (StreamItem) throws -> Bool
    ) throws -> UInt64 {
        let connection = try Connection(endpoint, timeoutSeconds: timeoutSeconds)
        defer { connection.close() }
        try connection.send(
            method: "GET", path: endpoint.basePath + "/v1/events",
            headers: [
                "Authorization": "Bearer \(token)", "Accept": "text/event-stream", "Last-Event-ID": String(after),
            ])
        let head = try connection.readHead()
        guard head.status == 200 else {
            var body: [UInt8] = []
            try? connection.readBody(head) {
                body.append(contentsOf: $0)
                return true
            }
            throw Failure(
                "GET /v1/events answered \(head.status): \(String(decoding: body, as: UTF8.self))", status: head.status)
        }
        var last = after
        var pending: [UInt8] = []
        var id: UInt64?
        var type = ""
        var data: [UInt8] = []
        var stopped = false
        try connection.readBody(head) { chunk in
            pending.append(contentsOf: chunk)
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                let line = Array(pending[start..<newline])
                start = newline + 1
                if line.isEmpty {
                    if let position = id {
                        last = position
                        if try !onItem(.event(position: position, type: type, envelope: data)) { stopped = true }
                    }
                    id = nil
                    type = ""
                    data = []
                } else if line.first == UInt8(ascii: ":") {
                    let text = String(decoding: line.dropFirst(), as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    if try !onItem(.comment(text)) { stopped = true }
                } else if line.starts(with: Array("id: ".utf8)) {
                    id = UInt64(String(decoding: line.dropFirst(4), as: UTF8.self))
                } else if line.starts(with: Array("event: ".utf8)) {
                    type = String(decoding: line.dropFirst(7), as: UTF8.self)
                } else if line.starts(with: Array("data: ".utf8)) {
                    data.append(contentsOf: line.dropFirst(6))
                }
                if stopped { return false }
            }
            pending.removeFirst(start)
            return true
        }
        if !stopped { throw Failure("the event stream ended") }
        return last
    }

    /// One request, with a JSON body or none: the status and the answer's bytes.
    public static func call(
        _ endpoint: Endpoint, method: String, path: String, token: String, body: [UInt8]? = nil, timeoutSeconds: Int = 60
    ) throws -> (status: Int, body: [UInt8]) {
        let connection = try Connection(endpoint, timeoutSeconds: timeoutSeconds)
        defer { connection.close() }
        try connection.send(
            method: method, path: endpoint.basePath + path,
            headers: ["Authorization": "Bearer \(token)", "Accept": "application/json"], body: body)
        let head = try connection.readHead()
        var answer: [UInt8] = []
        try connection.readBody(head) {
            answer.append(contentsOf: $0)
            return true
        }
        return (head.status, answer)
    }

    /// One long poll of a consumer group for `member`: the envelopes handed to it, as sent.
    public static func groupPoll(
        _ endpoint: Endpoint, token: String, group: String, member: String, max: Int = 256, waitSeconds: Int = 10
    ) throws -> [[UInt8]] {
        let path = "/v1/consumer-groups/\(group)/events?member=\(member)&max=\(max)&wait=\(waitSeconds)"
        let (status, body) = try call(endpoint, method: "GET", path: path, token: token, timeoutSeconds: waitSeconds + 30)
        guard status == 200 else {
            throw Failure("GET \(path) answered \(status): \(String(decoding: body, as: UTF8.self))", status: status)
        }
        return try splitEnvelopes(body).envelopes
    }

    /// Acknowledges positions for a consumer group.
    public static func groupAck(
        _ endpoint: Endpoint, token: String, group: String, member: String, positions: [UInt64]
    ) throws {
        let body = Array(#"{"member":"\#(member)","positions":[\#(positions.map(String.init).joined(separator: ","))]}"#.utf8)
        let path = "/v1/consumer-groups/\(group)/ack"
        let (status, answer) = try call(endpoint, method: "POST", path: path, token: token, body: body)
        guard status == 200 else {
            throw Failure("POST \(path) answered \(status): \(String(decoding: answer, as: UTF8.self))", status: status)
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
        let tail = String(decoding: body[index...], as: UTF8.self)
        guard let range = tail.range(of: #""next":"#),
            let next = UInt64(tail[range.upperBound...].prefix { $0.isNumber })
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

    struct Head {
        var status: Int
        var headers: [String: String]
    }

    /// One TCP connection with a read buffer.
    final class Connection {
        private let fd: Int32
        private var buffer: [UInt8] = []

        init(_ endpoint: Endpoint, timeoutSeconds: Int) throws {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list) == 0, let first = list else {
                throw Failure("cannot resolve \(endpoint.host)")
            }
            defer { freeaddrinfo(list) }
            var candidate: UnsafeMutablePointer<addrinfo>? = first
            var connected: Int32 = -1
            while let info = candidate {
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if fd >= 0 {
                    if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                        connected = fd
                        break
                    }
                    Glibc.close(fd)
                }
                candidate = info.pointee.ai_next
            }
            guard connected >= 0 else { throw Failure("cannot connect to \(endpoint.host):\(endpoint.port)") }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(connected, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            fd = connected
        }

        func close() { Glibc.close(fd) }

        func send(method: String, path: String, headers: [String: String], body: [UInt8]? = nil) throws {
            var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
            if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
            text += "\r\n"
            let bytes = Array(text.utf8) + (body ?? [])
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw Failure("cannot send the request: errno \(errno)")
                }
                offset += sent
            }
        }

        /// More bytes into the buffer; false at the end of the stream.
        private func fill() throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    buffer.append(contentsOf: chunk[0..<count])
                    return true
                }
                if count == 0 { return false }
                if errno == EINTR { continue }
                throw Failure(errno == EAGAIN ? "the server went silent" : "cannot read: errno \(errno)")
            }
        }

        private func line() throws -> String {
            while true {
                if let index = buffer.firstIndex(of: 0x0A) {
                    var bytes = Array(buffer[..<index])
                    buffer.removeFirst(index + 1)
                    if bytes.last == 0x0D { bytes.removeLast() }
                    return String(decoding: bytes, as: UTF8.self)
                }
                guard try fill() else { throw Failure("the connection closed early") }
            }
        }

        func readHead() throws -> Head {
            let statusLine = try line()
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else {
                throw Failure("not an HTTP answer: \(statusLine)")
            }
            var headers: [String: String] = [:]
            while true {
                let header = try line()
                if header.isEmpty { break }
                if let colon = header.firstIndex(of: ":") {
                    headers[header[..<colon].lowercased()] = header[header.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
            }
            return Head(status: status, headers: headers)
        }

        /// Hands the body to `onChunk` as it arrives (de-chunked); `onChunk` returns false to stop.
        func readBody(_ head: Head, _ onChunk: ([UInt8]) throws -> Bool) throws {
            if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                while true {
                    let sizeLine = try line()
                    guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                        throw Failure("bad chunk size '\(sizeLine)'")
                    }
                    if size == 0 { return }
                    while buffer.count < size + 2 {
                        guard try fill() else { throw Failure("the connection closed inside a chunk") }
                    }
                    let chunk = Array(buffer[0..<size])
                    buffer.removeFirst(size + 2)
                    if try !onChunk(chunk) { return }
                }
            } else if let length = head.headers["content-length"].flatMap(Int.init) {
                while buffer.count < length {
                    guard try fill() else { throw Failure("the connection closed early") }
                }
                _ = try onChunk(Array(buffer[0..<length]))
            } else {
                while try fill() {}
                _ = try onChunk(buffer)
            }
        }
    }
}
