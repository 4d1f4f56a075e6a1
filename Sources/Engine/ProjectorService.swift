import EventLog
import Logging
import ServiceLifecycle
import Synchronization

/// Runs one projector beside the server (the read models, the notification outbox): catch up on a
/// thread of its own, wait for the log to grow, pace, repeat; on graceful shutdown one last catch-up,
/// so the projection stops at the log's head.
///
/// The failure policy, the same for every projector: a failed catch-up (a full disk, an event that does
/// not decode, …) is logged, one line per failure, counted in
/// `threadlog_projection_failures_total{projector=<name>}`, and tried again after a pause that doubles
/// from `backoff.initial` up to `backoff.maximum` (100 ms to 5 s); a catch-up that succeeds resets the
/// pause and logs that the projector resumed. A failure never ends the service (under a service group
/// that would end the whole server without a graceful shutdown); only a closed log or the shutdown do.
public struct ProjectorService: Service {
    /// The pauses between failed catch-ups.
    public struct Backoff: Sendable {
        public var initial: Duration
        public var maximum: Duration

        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
            self.initial = initial
            self.maximum = maximum
        }

        /// The pause after `failures` failures in a row (1 or more).
        public func pause(after failures: Int) -> Duration {
            var pause = initial
            for _ in 1..<max(1, failures) where pause < maximum { pause *= 2 }
            return min(pause, maximum)
        }
    }

    let name: String
    let log: any EventStore
    let pacer: CommitPacer
    let backoff: Backoff
    let logger: Logger
    let prepare: @Sendable () throws -> Void
    let catchUp: @Sendable () throws -> UInt64

    /// `prepare` runs before the first catch-up (and again after it failed); `catchUp` applies what the
    /// log holds beyond the projector's checkpoint and returns the position reached.
    public init(
        name: String, log: any EventStore, pacer: CommitPacer? = nil, backoff: Backoff = Backoff(), logger: Logger,
        prepare: @escaping @Sendable () throws -> Void = {}, catchUp: @escaping @Sendable () throws -> UInt64
    ) {
        self.name = name
        self.log = log
        self.pacer = pacer ?? CommitPacer(interval: .zero)
        self.backoff = backoff
        self.logger = logger
        self.prepare = prepare
        self.catchUp = catchUp
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            let lane = SerialThread.catchUp("threadlog.\(name)")
            var prepared = false
            var failures = 0
            following: while !Task.isCancelled {
                do {
                    let started = ContinuousClock.now
                    let needsPreparing = !prepared
                    let reached = try await lane.run {
                        if needsPreparing { try prepare() }
                        return try catchUp()
                    }
                    prepared = true
                    if failures > 0 {
                        logger.notice("projection resumed", metadata: ["projector": "\(name)", "position": "\(reached)"])
                        failures = 0
                    }
                    try await log.waitForAppend(after: reached)
                    await pacer.pause(since: started)
                } catch is CancellationError {
                    break following
                } catch let error as EventLogError where error.code == .closed {
                    return
                } catch {
                    failures += 1
                    ProjectionFailures.count(name)
                    let pause = backoff.pause(after: failures)
                    logger.error(
                        "projection failed; retrying",
                        metadata: [
                            "projector": "\(name)", "error": "\(error)", "failures": "\(failures)", "retryIn": "\(pause)",
                        ])
                    try? await Task.sleep(for: pause)
                }
            }
            guard prepared else { return }
            do {
                _ = try await lane.run { try catchUp() }
            } catch {
                logger.error("the last catch-up before stopping failed", metadata: ["projector": "\(name)", "error": "\(error)"])
            }
        }
    }
}

/// How many catch-ups failed in this process, by projector (`/metrics`:
/// `threadlog_projection_failures_total{projector=…}`).
public enum ProjectionFailures {
    private static let counts = Mutex<[String: Int]>([:])

    /// The failures so far, by projector name.
    public static var all: [String: Int] { counts.withLock { $0 } }

    static func count(_ projector: String) {
        counts.withLock { $0[projector, default: 0] += 1 }
    }
}
