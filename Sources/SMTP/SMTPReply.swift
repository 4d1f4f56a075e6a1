import NIOCore

/// One complete server reply: a code and its text lines (`250-…` continuation lines folded in).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]
    /// More bytes had come in behind this reply when it was decoded. After the reply to STARTTLS they
    /// would be read as if they came over TLS, so the client refuses them (RFC 3207 section 5).
    var followedByMore = false

    var text: String { lines.joined(separator: "\n") }

    var isPositiveCompletion: Bool { (200..<300).contains(code) }
}

/// Cuts the byte stream into lines and gathers the lines of a multi-line reply into one ``SMTPReply``.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    /// RFC 5321 allows 512 octets per reply line; more room for lax servers, but a bound all the
    /// same so a peer that never sends a line break cannot grow the buffer forever.
    static let maximumLineLength = 8192
    /// Bounds a reply that never ends (EHLO answers have a line per extension, a few dozen at most).
    static let maximumLineCount = 512

    private var pendingCode: Int?
    private var pendingLines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let newline = buffer.withUnsafeReadableBytes { $0.firstIndex(of: UInt8(ascii: "\n")) }
        guard let newline else {
            if buffer.readableBytes > Self.maximumLineLength {
                throw SMTPError.protocolViolation("a reply line is longer than \(Self.maximumLineLength) bytes")
            }
            return .needMoreData
        }
        var bytes = buffer.readBytes(length: newline + 1)!
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        try consume(line: bytes, followedByMore: buffer.readableBytes > 0, context: context)
        return .continue
    }

    private mutating func consume(line: [UInt8], followedByMore: Bool, context: ChannelHandlerContext) throws {
        guard line.count >= 3, line[0...2].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(line[0])
        else {
            throw SMTPError.protocolViolation(
                "not an SMTP reply line: \(String(decoding: line.prefix(80), as: UTF8.self))")
        }
        let code = line[0...2].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        if let pendingCode, pendingCode != code {
            throw SMTPError.protocolViolation("a multi-line reply changed its code from \(pendingCode) to \(code)")
        }
        let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPError.protocolViolation(
                "not an SMTP reply line: \(String(decoding: line.prefix(80), as: UTF8.self))")
        }
        // Replies are ASCII by the RFC; decoding leniently keeps a sloppy server's text readable.
        pendingLines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
        if separator == UInt8(ascii: "-") {
            guard pendingLines.count < Self.maximumLineCount else {
                throw SMTPError.protocolViolation("a multi-line reply has more than \(Self.maximumLineCount) lines")
            }
            pendingCode = code
            return
        }
        let reply = SMTPReply(code: code, lines: pendingLines, followedByMore: followedByMore)
        pendingCode = nil
        pendingLines = []
        context.fireChannelRead(Self.wrapInboundOut(reply))
    }
}
