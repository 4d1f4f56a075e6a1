import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Sits on each connection between the HTTP/1 codec and the request handling, and keeps two promises
/// the server's own request loop does not:
/// - a request head arrives whole within `headerTimeout` of the connection's start or of the end of
///   the previous response, else the connection is closed (a client trickling header bytes holds a
///   connection only that long; a request being answered, such as an event stream, is never timed);
/// - a request the HTTP parser refuses gets a 400 in the error shape, then the connection closes.
///
/// Not Sendable: a channel handler lives on its channel's event loop.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What happens once every request read so far has its response.
    private enum AfterAnswers {
        case awaitHead
        case refuse(APIError)
        case close
    }

    private let headerTimeout: TimeAmount
    private let logger: Logger
    /// Requests whose head arrived and whose response has not ended yet.
    private var unanswered = 0
    /// A request's head arrived and its end did not: its body is still being read.
    private var readingBody = false
    private var afterAnswers = AfterAnswers.awaitHead
    /// Set once the connection is being closed here: nothing more is written, no head is awaited.
    private var closing = false
    /// The header timeout, or the last wait of a closing connection.
    private var timer: Scheduled<Void>?

    init(headerTimeout: TimeAmount, logger: Logger) {
        self.headerTimeout = headerTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { awaitHead(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTiming()
    }

    func channelActive(context: ChannelHandlerContext) {
        awaitHead(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTiming()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing read after a refusal or a timeout reaches the server's request loop.
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head:
            stopTiming()
            unanswered += 1
            readingBody = true
        case .body:
            break
        case .end:
            readingBody = false
            // The response may have gone before the body was read (a refusal, say).
            awaitHead(context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closing else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        let part = unwrapOutboundIn(data)
        if case .head(var head) = part, head.status.kind != .informational, case .close = afterAnswers,
            unanswered == 1
        {
            // The last answer before the connection closes says so.
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        }
        guard case .end = part, unanswered > 0 else {
            context.write(data, promise: promise)
            return
        }
        unanswered -= 1
        guard unanswered == 0 else {
            context.write(data, promise: promise)
            return
        }
        switch afterAnswers {
        case .awaitHead:
            context.write(data, promise: promise)
            awaitHead(context)
        case .refuse(let refusal):
            context.write(data, promise: promise)
            refuse(context, refusal)
        case .close:
            closing = true
            let written = context.writeAndFlush(data)
            written.cascade(to: promise)
            written.assumeIsolated().whenComplete { _ in self.closeGently(context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once refused, the decoder's later complaints about the bytes after the error are moot.
        if closing { return }
        guard let refusal = Self.refusal(for: error) else {
            context.fireErrorCaught(error)
            return
        }
        logger.debug("refused a malformed request", metadata: ["error": "\(error)"])
        if readingBody {
            // The body's reader fails with the error and the route answers; then the connection
            // closes, as nothing after a framing error can be trusted.
            afterAnswers = .close
            context.fireErrorCaught(error)
        } else if unanswered > 0 {
            // Pipelined behind requests still being answered: refused after their responses.
            afterAnswers = .refuse(refusal)
        } else {
            refuse(context, refusal)
        }
    }

    /// The answer to an error of the HTTP parser, `nil` for any other error.
    static func refusal(for error: any Error) -> APIError? {
        let message: String
        switch error {
        case let error as HTTPParserError:
            switch error {
            case .headerOverflow: message = "The request's header section is too large."
            case .invalidHeaderToken: message = "A header name or value holds a character HTTP does not allow."
            case .invalidMethod: message = "The request line does not start with an HTTP method."
            case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment, .invalidHost, .invalidPort:
                message = "The request target is not a valid URL path."
            case .invalidContentLength, .unexpectedContentLength:
                message = "The Content-Length header is not valid for this request."
            case .invalidChunkSize: message = "The chunked request body is not valid."
            default: message = "The request is not valid HTTP/1.1."
            }
        case is HTTP1TypeConversionError:
            message = "The request line does not start with an HTTP method."
        default:
            return nil
        }
        return .badRequest("bad_request", message)
    }

    /// Starts the header timeout once every request read so far is answered and no body is still
    /// arriving, unless one is timed already.
    private func awaitHead(_ context: ChannelHandlerContext) {
        guard !closing, unanswered == 0, !readingBody, timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) {
            self.timer = nil
            guard !self.closing, self.unanswered == 0 else { return }
            self.logger.debug("no request head within the header timeout: closing the connection")
            self.closing = true
            context.close(promise: nil)
        }
    }

    private func stopTiming() {
        timer?.cancel()
        timer = nil
    }

    /// Answers in the error shape and closes once the answer is written.
    private func refuse(_ context: ChannelHandlerContext, _ refusal: APIError) {
        stopTiming()
        closing = true
        let body = ByteBuffer(bytes: refusal.body)
        var fields = refusal.headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: refusal.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            self.closeGently(context)
        }
    }

    /// Closes the output first, so a client still sending (the rest of an oversize head, say) reads
    /// the answer rather than a reset; what it still sends is read and dropped until it closes its
    /// side, or for a second at most.
    private func closeGently(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
            self.timer = nil
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}
