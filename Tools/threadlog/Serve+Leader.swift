import Engine
import EventLog
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Several nodes on one PostgreSQL log: what must happen once across them (deriving and sending the
/// notifications, the digests, retention) runs on the elected node only.
extension Serve {
    /// The notification services of this node: the one outbox and its projector, the services every
    /// node runs, and the service that runs those of the elected node (`nil` on an LMDB log, where one
    /// node does everything).
    struct NodeServices {
        let outbox: Outbox
        let projector: NotificationProjector
        let everyNode: [any Service]
        let leader: LeaderService?
    }

    static func notificationServices(
        store: any EventStore, views: ViewStore, models: ReadModels, handler: CommandHandler,
        configuration: NotificationConfiguration, logger: Logger
    ) throws -> NodeServices {
        guard let coordination = Backends.coordination(of: store) else {
            let services = try NotificationServices(
                log: store, views: views, readModels: models, handler: handler, configuration: configuration,
                logger: logger)
            return NodeServices(
                outbox: services.outbox, projector: services.projector, everyNode: services.services, leader: nil)
        }
        let ledger = try coordination.mailLedger(logger: logger)
        let nodes = try NotificationServices.forNodes(
            log: store, views: views, readModels: models, handler: handler, configuration: configuration,
            ledger: ledger, logger: logger)
        let leader = LeaderService(
            lock: coordination.election(logger: logger), services: nodes.elected, prepare: nodes.prepare,
            stopped: { ledger.close() }, logger: logger)
        return NodeServices(outbox: nodes.outbox, projector: nodes.projector, everyNode: nodes.everyNode, leader: leader)
    }
}

/// Campaigns for the leader lock every `retry`; while this node holds it, runs `services` (after
/// `prepare`), and checks every `retry` that the lock's session is still there. When it is not (the
/// connection broke), the services are cancelled and the campaign resumes. A node that stops gives
/// the lock up at once.
final class LeaderService: Service, Sendable {
    let lock: any Election
    let services: [any Service]
    let prepare: @Sendable () async throws -> Void
    /// Run once the service has stopped (closes what the elected services used).
    let stopped: @Sendable () -> Void
    let logger: Logger
    let retry: Duration
    private let leading = Atomic<Bool>(false)
    private let more = Mutex<[any Service]>([])

    init(
        lock: any Election, services: [any Service], prepare: @escaping @Sendable () async throws -> Void,
        stopped: @escaping @Sendable () -> Void = {}, logger: Logger, retry: Duration = .seconds(1)
    ) {
        self.lock = lock
        self.services = services
        self.prepare = prepare
        self.stopped = stopped
        self.logger = logger
        self.retry = retry
    }

    /// Adds a service the elected node runs (before the service starts).
    func elect(also service: any Service) {
        more.withLock { $0.append(service) }
    }

    /// Whether this node leads now.
    var isLeading: Bool { leading.load(ordering: .relaxed) }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.campaign() }
        leading.store(false, ordering: .relaxed)
        await lock.release()
        stopped()
    }

    private func campaign() async {
        while !Task.isCancelled {
            if await lock.tryAcquire() {
                do {
                    try await prepare()
                    await lead()
                } catch {
                    logger.error("taking the lead failed; giving it up", metadata: ["error": "\(error)"])
                }
                if !Task.isCancelled { await lock.release() }
            }
            try? await Task.sleep(for: retry)
        }
    }

    /// Runs the elected node's services until the lock is lost, one of them ends, or the task is cancelled.
    private func lead() async {
        leading.store(true, ordering: .relaxed)
        logger.notice("elected: this node runs the notifications, digests and retention")
        Serve.say("elected: this node runs the notifications, digests and retention")
        await withTaskGroup(of: Void.self) { group in
            for service in services + more.withLock({ $0 }) {
                group.addTask {
                    do { try await service.run() } catch {
                        self.logger.error("a service of the elected node failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.retry)
                    if Task.isCancelled { return }
                    if await !self.lock.stillHeld() { return }
                }
            }
            _ = await group.next()
            group.cancelAll()
        }
        leading.store(false, ordering: .relaxed)
        if !Task.isCancelled {
            logger.warning("no longer elected: the leader lock was lost")
            Serve.say("no longer elected")
        }
    }
}
