import AsyncHTTPClient
import Crypto
import Engine
import EventLog
import Foundation
import Messaging
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// How webhooks are delivered.
public struct WebhookSettings: Sendable {
    /// The wait after the first failure of an event; it doubles with each further failure, up to
    /// `maxBackoff`.
    public var backoff: Duration
    public var maxBackoff: Duration
    /// How often the list of webhooks is looked at for new, resumed or removed ones.
    public var scanInterval: Duration

    public init(
        backoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(300), scanInterval: Duration = .milliseconds(250)
    ) {
        self.backoff = backoff
        self.maxBackoff = maxBackoff
        self.scanInterval = scanInterval
    }
}

/// Delivers the log's events to the registered webhooks: each event an HTTP POST of its envelope,
/// signed with HMAC-SHA256 of the body under the webhook's secret
/// (`X-Threadlog-Signature: sha256=<hex>`), one at a time and in position order per webhook. A
/// failure (no answer within the webhook's timeout, or a status outside 2xx) is retried after a
/// backoff that doubles; after `maxFailures` failures in a row the webhook is paused until resumed.
/// The position delivered is written (durably, with the attempt) after the receiver's 2xx, so a kill
/// between the two sends that one event again, with the same `X-Threadlog-Position`.
public struct WebhookService: Service {
    public static let signatureHeader = "X-Threadlog-Signature"

    private let store: SubscriptionStore
    private let log: any EventStore
    private let settings: WebhookSettings
    private let logger: Logger

    public init(store: SubscriptionStore, log: any EventStore, settings: WebhookSettings = WebhookSettings(), logger: Logger) {
        self.store = store
        self.log = log
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        // Graceful shutdown cancels the deliveries: a request or backoff under way ends at once.
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                let running = Running()
                while !Task.isCancelled {
                    let hooks = (try? store.webhooks()) ?? []
                    for hook in hooks where hook.state == .active && running.start(hook.id) {
                        let id = hook.id
                        group.addTask {
                            await deliver(id, client: client)
                            running.end(id)
                        }
                    }
                    try? await Task.sleep(for: settings.scanInterval)
                }
                group.cancelAll()
            }
        }
        try? await client.shutdown()
    }

    /// The webhooks with a delivery task.
    private final class Running: Sendable {
        private let ids = Mutex<Set<String>>([])
        func start(_ id: String) -> Bool { ids.withLock { $0.insert(id).inserted } }
        func end(_ id: String) { ids.withLock { _ = $0.remove(id) } }
    }

    /// Delivers to one webhook until it is paused or removed, or the service stops.
    private func deliver(_ id: String, client: HTTPClient) async {
        while !Task.isCancelled {
            do {
                guard let hook = try store.webhook(id), hook.state == .active else { return }
                let filter = EventTypeFilter(hook.types)
                let batch = try log.read(from: hook.delivered + 1, limit: 256)
                guard let next = batch.first(where: { filter.matches($0.type) }) else {
                    if let last = batch.last {
                        // Nothing of its types: the webhook has settled these positions.
                        _ = try await store.update(webhook: id) { $0.delivered = Swift.max($0.delivered, last.position) }
                    } else {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    continue
                }
                let started = ContinuousClock.now
                let outcome = await post(next, to: hook, client: client)
                let elapsed = ContinuousClock.now - started
                let attempt = DeliveryRecord(
                    position: next.position, type: next.type, attempt: hook.failures + 1,
                    at: ISOTime.format(millis: Int64(Date().timeIntervalSince1970 * 1000)), status: outcome.status,
                    error: outcome.error, millis: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
                    delivered: outcome.error == nil)
                let now = attempt.at
                let updated = try await store.record(attempt, webhook: id) { hook in
                    if attempt.delivered {
                        hook.delivered = next.position
                        hook.failures = 0
                        hook.lastError = nil
                    } else {
                        hook.failures += 1
                        hook.lastError = outcome.error
                        if hook.failures >= hook.maxFailures {
                            hook.state = .paused
                            hook.pausedAt = now
                        }
                    }
                }
                guard let updated else { return }
                if !attempt.delivered {
                    if updated.state == .paused {
                        logger.warning(
                            "webhook paused after repeated failures",
                            metadata: ["webhook": "\(id)", "position": "\(next.position)", "error": "\(outcome.error ?? "")"])
                        return
                    }
                    try await Task.sleep(for: backoff(afterFailures: updated.failures))
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("webhook delivery stopped on a storage error; retrying", metadata: ["webhook": "\(id)", "error": "\(error)"])
                try? await Task.sleep(for: settings.backoff)
            }
        }
    }

    func backoff(afterFailures failures: Int) -> Duration {
        var wait = settings.backoff
        for _ in 1..<Swift.max(failures, 1) {
            wait = wait * 2
            if wait >= settings.maxBackoff { return settings.maxBackoff }
        }
        return Swift.min(wait, settings.maxBackoff)
    }

    private struct Outcome {
        var status: Int?
        var error: String?
    }

    private func post(_ event: RecordedEvent, to hook: WebhookRecord, client: HTTPClient) async -> Outcome {
        let body = event.envelopeJSON()
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "threadlog-webhooks")
        request.headers.add(name: "X-Threadlog-Webhook", value: hook.id)
        request.headers.add(name: "X-Threadlog-Position", value: String(event.position))
        request.headers.add(name: "X-Threadlog-Event", value: event.type)
        request.headers.add(name: Self.signatureHeader, value: Self.signature(body: body, secret: hook.secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(hook.timeoutMillis)))
            let status = Int(response.status.code)
            // The answer's body is read (so the connection can be reused) but not kept.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(status) else {
                return Outcome(status: status, error: "the receiver answered \(status)")
            }
            return Outcome(status: status, error: nil)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return Outcome(status: nil, error: "no answer within \(hook.timeoutMillis) ms")
        } catch {
            return Outcome(status: nil, error: "\(error)")
        }
    }

    /// `sha256=` and the hex HMAC-SHA256 of the body under the secret.
    public static func signature(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }
}
