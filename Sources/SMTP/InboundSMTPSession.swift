/// A mail transaction received in full: the envelope and the message as sent (dot-unstuffed, CRLF).
public struct InboundEnvelope: Sendable {
    public var sender: String
    public var recipients: [String]
    public var data: [UInt8]

    public init(sender: String, recipients: [String], data: [UInt8]) {
        self.sender = sender
        self.recipients = recipients
        self.data = data
    }
}

/// An SMTP reply the receiver chooses: `250`, `550` with a reason, …
public struct InboundReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    /// With an enhanced status code in front, e.g. `5.7.1 the thread is blocked`.
    public var text: String

    public init(_ code: Int, _ text: String) {
        self.code = code
        self.text = text
    }

    public var description: String { "\(code) \(text)" }
    public var isPositive: Bool { code < 400 }
}

/// What the listener asks of its owner: whether a recipient is one of its addresses, and what becomes
/// of a received message.
public protocol InboundMailReceiver: Sendable {
    /// `nil` accepts the recipient; a reply refuses it (`550 5.1.1 …`).
    func check(recipient: String) async -> InboundReply?
    /// The answer to the end of DATA: 250 when the message is taken, else the refusal.
    func receive(_ envelope: InboundEnvelope) async -> InboundReply
}

/// The RFC 5321 server side of one connection as a state machine over command lines: it answers
/// EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, VRFY and QUIT, keeps the DATA lines (dot-unstuffed) under
/// a size limit, and says when to ask the receiver. No I/O: the listener feeds it lines.
struct InboundSMTPSession {
    enum Step: Equatable {
        case reply(String)
        /// Ask the receiver about this recipient, then answer ``recipientChecked(_:_:)``.
        case checkRecipient(String)
        /// The message is complete: ask the receiver, then answer ``delivered(_:)``.
        case deliver
        /// Say this and close the connection.
        case close(String)
        case none
    }

    enum Phase {
        case connected, greeted, mail, data
    }

    let hostname: String
    let maxMessageBytes: Int
    let maxRecipients = 100
    static let maxDataLine = 1000

    private(set) var phase = Phase.connected
    private(set) var sender = ""
    private(set) var recipients: [String] = []
    private(set) var data: [UInt8] = []
    private var tooBig = false
    private var lineTooLong = false

    init(hostname: String, maxMessageBytes: Int) {
        self.hostname = hostname
        self.maxMessageBytes = maxMessageBytes
    }

    var greeting: String { "220 \(hostname) ESMTP Threadlog" }

    var envelope: InboundEnvelope { InboundEnvelope(sender: sender, recipients: recipients, data: data) }

    /// One line without its CRLF. `overlong` says the line was cut at the listener's limit.
    mutating func receive(line: ArraySlice<UInt8>, overlong: Bool = false) -> Step {
        if phase == .data { return dataLine(line, overlong: overlong) }
        if overlong { return .reply("500 5.5.2 line too long") }
        let text = String(decoding: line, as: UTF8.self)
        let verb = text.prefix { $0 != " " }.uppercased()
        let argument = text.dropFirst(verb.count).trimmingCharacters(in: .whitespaces)
        switch verb {
        case "EHLO":
            guard !argument.isEmpty else { return .reply("501 5.5.4 EHLO needs a domain") }
            reset()
            phase = .greeted
            return .reply(
                "250-\(hostname) greets \(argument)\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-SIZE \(maxMessageBytes)\r\n250 ENHANCEDSTATUSCODES"
            )
        case "HELO":
            guard !argument.isEmpty else { return .reply("501 5.5.4 HELO needs a domain") }
            reset()
            phase = .greeted
            return .reply("250 \(hostname)")
        case "MAIL":
            guard phase != .connected else { return .reply("503 5.5.1 say EHLO or HELO first") }
            guard phase == .greeted, recipients.isEmpty, sender.isEmpty else {
                return .reply("503 5.5.1 a transaction is already open")
            }
            guard let (path, parameters) = Self.path(argument, keyword: "FROM:") else {
                return .reply("501 5.5.4 syntax: MAIL FROM:<address>")
            }
            if let size = parameters["SIZE"].flatMap(Int.init), size > maxMessageBytes {
                return .reply("552 5.3.4 the message is larger than \(maxMessageBytes) bytes")
            }
            sender = path
            phase = .mail
            return .reply("250 2.1.0 sender ok")
        case "RCPT":
            guard phase == .mail else { return .reply("503 5.5.1 need MAIL before RCPT") }
            guard let (path, _) = Self.path(argument, keyword: "TO:"), !path.isEmpty else {
                return .reply("501 5.5.4 syntax: RCPT TO:<address>")
            }
            guard recipients.count < maxRecipients else { return .reply("452 4.5.3 too many recipients") }
            return .checkRecipient(path)
        case "DATA":
            guard phase == .mail, !sender.isEmpty || !recipients.isEmpty else {
                return .reply("503 5.5.1 need MAIL before DATA")
            }
            guard !recipients.isEmpty else { return .reply("554 5.5.1 no valid recipients") }
            guard argument.isEmpty else { return .reply("501 5.5.4 DATA takes no argument") }
            phase = .data
            data = []
            tooBig = false
            lineTooLong = false
            return .reply("354 end data with <CR><LF>.<CR><LF>")
        case "RSET":
            reset()
            if phase != .connected { phase = .greeted }
            return .reply("250 2.0.0 ok")
        case "NOOP":
            return .reply("250 2.0.0 ok")
        case "VRFY":
            return .reply("252 2.5.2 cannot verify; send the mail")
        case "QUIT":
            return .close("221 2.0.0 bye")
        case "STARTTLS", "AUTH", "BDAT", "EXPN", "HELP", "TURN", "ETRN":
            return .reply("502 5.5.1 \(verb) is not implemented")
        default:
            return .reply("500 5.5.2 unknown command")
        }
    }

    mutating func recipientChecked(_ address: String, _ refusal: InboundReply?) -> String {
        if let refusal { return refusal.description }
        if !recipients.contains(where: { $0.lowercased() == address.lowercased() }) { recipients.append(address) }
        return "250 2.1.5 recipient ok"
    }

    /// The reply to the end of DATA, from the receiver's answer; the transaction is over either way.
    mutating func delivered(_ reply: InboundReply) -> String {
        reset()
        phase = .greeted
        return reply.description
    }

    private mutating func dataLine(_ line: ArraySlice<UInt8>, overlong: Bool) -> Step {
        if line.count == 1, line.first == UInt8(ascii: ".") {
            if tooBig {
                reset()
                phase = .greeted
                return .reply("552 5.3.4 the message is larger than \(maxMessageBytes) bytes")
            }
            if lineTooLong {
                reset()
                phase = .greeted
                return .reply("500 5.5.6 a line of the message is longer than \(Self.maxDataLine) characters")
            }
            return .deliver
        }
        if overlong { lineTooLong = true }
        // Dot-unstuffing: a leading dot was doubled by the client.
        let content = line.first == UInt8(ascii: ".") ? line.dropFirst() : line
        if data.count + content.count + 2 > maxMessageBytes {
            tooBig = true
            data = []
        }
        if !tooBig {
            data.append(contentsOf: content)
            data.append(contentsOf: [13, 10])
        }
        return .none
    }

    private mutating func reset() {
        sender = ""
        recipients = []
        data = []
        tooBig = false
        lineTooLong = false
        if phase == .mail || phase == .data { phase = .greeted }
    }

    /// `FROM:<a@b> SIZE=12` → (`a@b`, [SIZE: 12]); the null path `<>` gives an empty address.
    static func path(_ argument: String, keyword: String) -> (String, [String: String])? {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        let rest = argument.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
        guard rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") else { return nil }
        var address = String(rest[rest.index(after: rest.startIndex)..<close])
        // A source route (`@a,@b:user@c`) is ignored, as RFC 5321 allows.
        if address.hasPrefix("@"), let colon = address.firstIndex(of: ":") {
            address = String(address[address.index(after: colon)...])
        }
        guard !address.contains(where: { $0 == " " || $0 == "<" }) else { return nil }
        var parameters: [String: String] = [:]
        for item in rest[rest.index(after: close)...].split(separator: " ") {
            let pair = item.split(separator: "=", maxSplits: 1)
            parameters[pair[0].uppercased()] = pair.count > 1 ? String(pair[1]) : ""
        }
        return (address, parameters)
    }
}
