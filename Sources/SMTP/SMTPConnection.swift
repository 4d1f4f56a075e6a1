import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// One TCP connection to an SMTP server: writes command lines and waits for replies, every wait
/// bounded by the timeout.
///
/// The pipeline is `ByteToMessageHandler(SMTPReplyDecoder)` → ``SMTPReplyHandler``, with a
/// `NIOSSLClientHandler` in front of both from ``startTLS(_:step:)`` on: right after connecting for
/// implicit TLS, after the server's 220 to STARTTLS otherwise.
final class SMTPConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<SMTPReplyHandler>
    private let timeout: TimeAmount
    private let logger: Logger

    private init(channel: any Channel, handler: NIOLoopBound<SMTPReplyHandler>, timeout: TimeAmount, logger: Logger) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
        self.logger = logger
    }

    static func connect(
        host: String, port: Int, timeout: TimeAmount, group: any EventLoopGroup, logger: Logger
    ) async throws(SMTPError) -> SMTPConnection {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(SMTPReplyDecoder()), SMTPReplyHandler())
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw SMTPError(.connectionFailed, "cannot connect to \(host):\(port): \(error)")
        }
        do {
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self),
                    eventLoop: channel.eventLoop)
            }.get()
            return SMTPConnection(channel: channel, handler: handler, timeout: timeout, logger: logger)
        } catch {
            channel.close(promise: nil)
            throw SMTPError(.connectionFailed, "the connection to \(host):\(port) closed at once: \(error)")
        }
    }

    /// The next reply, without sending anything (the greeting).
    func reply(to step: String) async throws(SMTPError) -> SMTPReply {
        try await exchange(nil, step: step)
    }

    /// Sends one command line and waits for its reply. `logged` replaces the line in the log when it
    /// holds a secret.
    func command(_ line: String, step: String, logged: String? = nil) async throws(SMTPError) -> SMTPReply {
        logger.trace("SMTP >>> \(logged ?? line)")
        var buffer = channel.allocator.buffer(capacity: line.utf8.count + 2)
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        return try await exchange(buffer, step: step)
    }

    /// Sends raw bytes (the message content after DATA) and waits for the reply.
    func send(_ bytes: [UInt8], step: String) async throws(SMTPError) -> SMTPReply {
        logger.trace("SMTP >>> (\(bytes.count) bytes of message content)")
        return try await exchange(channel.allocator.buffer(bytes: bytes), step: step)
    }

    /// Puts TLS in front of the decoder and waits for the handshake, the server's certificate checked.
    /// For implicit TLS this comes before the greeting, which the server sends only over TLS.
    func startTLS(_ tls: TLS, step: String) async throws(SMTPError) {
        let context = try tls.context()
        let serverHostname = tls.serverHostname
        let channel = self.channel
        let handler = self.handler
        let timeout = self.timeout
        let future = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            handler.value.awaitHandshake(promise)
            do {
                let tlsHandler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                try channel.pipeline.syncOperations.addHandler(tlsHandler, position: .first)
            } catch {
                handler.value.fail(SMTPError(.tlsFailed, "cannot start TLS: \(error)"))
                channel.close(promise: nil)
            }
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                handler.value.fail(SMTPError(.timeout, "no TLS handshake within \(timeout.seconds) s"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            return promise.futureResult
        }
        do {
            try await future.get()
        } catch let error as SMTPError {
            throw SMTPError(error.code, "\(step): \(error.message)")
        } catch {
            throw SMTPError(.tlsFailed, "\(step): \(error)")
        }
        logger.trace("SMTP TLS established")
    }

    func close() async {
        try? await channel.close()
    }

    private func exchange(_ bytes: ByteBuffer?, step: String) async throws(SMTPError) -> SMTPReply {
        let channel = self.channel
        let handler = self.handler
        let timeout = self.timeout
        let future = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
            // Queue the wait before writing so a reply can never arrive with nobody to take it.
            handler.value.awaitReply(promise)
            if let bytes {
                channel.writeAndFlush(bytes).whenFailure { error in
                    handler.value.fail(SMTPError(.connectionFailed, "cannot write to the server: \(error)"))
                }
            }
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                handler.value.fail(SMTPError(.timeout, "no reply within \(timeout.seconds) s"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            return promise.futureResult
        }
        let reply: SMTPReply
        do {
            reply = try await future.get()
        } catch let error as SMTPError {
            throw SMTPError(
                error.code, "\(step): \(error.message)", replyCode: error.replyCode, replyText: error.replyText)
        } catch {
            throw SMTPError(.connectionFailed, "\(step): \(error)")
        }
        logger.trace("SMTP <<< \(reply.code) \(reply.text)")
        return reply
    }
}

/// Hands decoded replies to whoever waits for them, in order, and fails every wait once the
/// connection is broken.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply

    private var waiting = CircularBuffer<EventLoopPromise<SMTPReply>>()
    private var unclaimed = CircularBuffer<SMTPReply>()
    private var handshake: EventLoopPromise<Void>?
    private var failure: SMTPError?

    /// Completes when TLS reports its handshake done, or fails with the connection.
    func awaitHandshake(_ promise: EventLoopPromise<Void>) {
        if let failure {
            promise.fail(failure)
        } else if !unclaimed.isEmpty {
            // Replies that came in clear before the handshake could be an attacker's, injected before TLS.
            fail(SMTPError.protocolViolation("the server sent replies in clear before the TLS handshake"))
            promise.fail(failure!)
        } else {
            handshake = promise
        }
    }

    func awaitReply(_ promise: EventLoopPromise<SMTPReply>) {
        if let reply = unclaimed.popFirst() {
            promise.succeed(reply)
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }

    /// Fails every wait, now and later, with the first error seen.
    func fail(_ error: SMTPError) {
        if failure == nil { failure = error }
        while let promise = waiting.popFirst() { promise.fail(failure!) }
        handshake?.fail(failure!)
        handshake = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Self.unwrapInboundIn(data)
        if let promise = waiting.popFirst() {
            promise.succeed(reply)
        } else {
            unclaimed.append(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as SMTPError: fail(error)
        case let error as NIOSSLError where error == .uncleanShutdown:
            fail(SMTPError(.connectionFailed, "the server closed the connection without ending TLS"))
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            // Most often the server's certificate: an unknown authority, expired, or for another name.
            fail(SMTPError(.tlsFailed, "TLS failed (is the server's certificate trusted and for this host?): \(error)"))
        default: fail(SMTPError(.connectionFailed, "connection error: \(error)"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPError(.connectionFailed, "the server closed the connection"))
        context.fireChannelInactive()
    }
}

/// A client's TLS: the context (settings and trust roots) and the name the server's certificate must
/// hold. The context is made on first use and kept: a server without STARTTLS costs no loading of
/// trust roots, and a busy one costs it once rather than for every mail.
final class TLS: Sendable {
    private let settings: TLSConfiguration?
    private let made = Mutex<NIOSSLContext?>(nil)
    /// `nil` for an IP address: the certificate must then name the address itself.
    let serverHostname: String?

    init(_ configuration: SMTPConfiguration) {
        settings = configuration.tlsConfiguration
        // SNI takes no IP address; NIOSSL then checks the certificate against the peer's address.
        let host = configuration.host
        serverHostname = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    func context() throws(SMTPError) -> NIOSSLContext {
        let settings = self.settings
        return try made.withLock { (made) throws(SMTPError) -> NIOSSLContext in
            if let made { return made }
            guard let settings else { throw SMTPError(.invalidConfiguration, "TLS is off (?tls=none)") }
            do {
                let context = try NIOSSLContext(configuration: settings)
                made = context
                return context
            } catch {
                throw SMTPError(.invalidConfiguration, "cannot set up TLS: \(error)")
            }
        }
    }
}

// Lives on its channel's event loop; reached from elsewhere only through `NIOLoopBound`.
@available(*, unavailable)
extension SMTPReplyHandler: Sendable {}

extension TimeAmount {
    fileprivate var seconds: String {
        let value = Double(nanoseconds) / 1_000_000_000
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
