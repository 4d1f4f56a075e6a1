import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A minimal RFC 5321 listener for mail that a relay forwards: no relaying, no TLS, no AUTH; each
/// recipient is put to the ``InboundMailReceiver`` at RCPT and each message at the end of DATA, so
/// a refusal reaches the sending server as a 5xx in the same conversation.
///
/// Limits: command lines of 512 bytes, message lines of 1000 (both with CRLF), `maxMessageBytes` per
/// message (announced as SIZE, answered 552), `maxConnections` at once (more are answered 421), and
/// a connection that says nothing for `idleTimeout` is answered 421 and closed.
public final class InboundSMTPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The name in the greeting and the EHLO answer.
        public var hostname: String
        public var maxMessageBytes: Int
        public var idleTimeout: Duration
        public var maxConnections: Int

        public init(
            host: String, port: Int, hostname: String = "threadlog", maxMessageBytes: Int = 10 << 20,
            idleTimeout: Duration = .seconds(300), maxConnections: Int = 64
        ) {
            self.host = host
            self.port = port
            self.hostname = hostname
            self.maxMessageBytes = maxMessageBytes
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
        }
    }

    static let maxCommandLine = 512

    let configuration: Configuration
    let receiver: any InboundMailReceiver
    let logger: Logger
    private let open = Atomic<Int>(0)

    public init(configuration: Configuration, receiver: any InboundMailReceiver, logger: Logger) {
        self.configuration = configuration
        self.receiver = receiver
        self.logger = logger
    }

    /// Listens until the task is cancelled; `onBound` gets the port (useful with port 0).
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let timeout = TimeAmount.nanoseconds(
            Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000
                + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: timeout))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        onBound(server.channel.localAddress?.port ?? configuration.port)
        logger.info(
            "receiving mail", metadata: ["address": "\(configuration.host):\(server.channel.localAddress?.port ?? 0)"])
        do {
            try await withTaskCancellationHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            } onCancel: {
                server.channel.close(promise: nil)
            }
        } catch  where Task.isCancelled {
            // Stopping is what was asked for: no error.
        }
        logger.info("stopped receiving mail")
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        defer { open.wrappingSubtract(1, ordering: .relaxed) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                func say(_ line: String) async throws {
                    try await outbound.write(ByteBuffer(string: line + "\r\n"))
                }
                guard count <= configuration.maxConnections else {
                    try await say("421 4.3.2 too many connections; try again later")
                    return
                }
                var session = InboundSMTPSession(
                    hostname: configuration.hostname, maxMessageBytes: configuration.maxMessageBytes)
                try await say(session.greeting)
                var reader = LineReader()
                for try await buffer in inbound {
                    reader.append(buffer)
                    while let (line, overlong) = reader.next(
                        limit: session.phase == .data ? InboundSMTPSession.maxDataLine : Self.maxCommandLine)
                    {
                        switch session.receive(line: line, overlong: overlong) {
                        case .reply(let text):
                            try await say(text)
                        case .checkRecipient(let address):
                            let refusal = await receiver.check(recipient: address)
                            if let refusal {
                                logger.info(
                                    "recipient refused", metadata: ["recipient": "\(address)", "reply": "\(refusal)"])
                            }
                            try await say(session.recipientChecked(address, refusal))
                        case .deliver:
                            let envelope = session.envelope
                            let reply = await receiver.receive(envelope)
                            try await say(session.delivered(reply))
                        case .close(let text):
                            try await say(text)
                            return
                        case .none:
                            break
                        }
                    }
                }
            }
        } catch {
            logger.debug("inbound connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// Lines out of a byte stream; a line longer than the limit is returned cut, flagged `overlong`, and
/// the rest of it up to its line break is dropped.
struct LineReader {
    private var buffer: [UInt8] = []
    /// Where the unread bytes start; the buffer is compacted now and then rather than per line.
    private var start = 0
    private var discarding = false

    mutating func append(_ bytes: ByteBuffer) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes.readableBytesView)
    }

    mutating func next(limit: Int) -> (ArraySlice<UInt8>, Bool)? {
        while true {
            guard let newline = buffer[start...].firstIndex(of: 10) else {
                if buffer.count - start > limit {
                    // No line break in sight: the line so far, cut; the rest up to its break is dropped.
                    let line = buffer[start..<(start + limit)]
                    buffer.removeAll(keepingCapacity: true)
                    start = 0
                    if discarding { return nil }
                    discarding = true
                    return (ArraySlice(Array(line)), true)
                }
                return nil
            }
            var end = newline
            let lineStart = start
            start = newline + 1
            if discarding {
                discarding = false
                continue
            }
            if end > lineStart, buffer[end - 1] == 13 { end -= 1 }
            let line = buffer[lineStart..<end]
            if line.count + 2 > limit { return (line.prefix(limit), true) }
            return (line, false)
        }
    }
}

/// Answers a silent connection with 421 and closes it.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            let buffer = context.channel.allocator.buffer(string: "421 4.4.2 idle too long; closing\r\n")
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
