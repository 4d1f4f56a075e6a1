@testable import Engine
import EventLog
import Foundation
import Logging
import Messaging
import Synchronization
import Testing

@Suite("Projector service")
struct ProjectorServiceTests {
    struct InjectedFailure: Error {}

    /// Fails the first `failures` catch-ups that have something to apply, then lets them through.
    final class FailingCatchUps: Sendable {
        let left: Mutex<Int>
        init(_ failures: Int) { left = Mutex(failures) }

        func check(_ log: any EventStore, reached: UInt64) throws {
            guard try log.lastPosition() > reached else { return }
            let fail = left.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            if fail { throw InjectedFailure() }
        }
    }

    @Test("the pause after failures doubles from its start up to its cap")
    func backoff() {
        let backoff = ProjectorService.Backoff()
        #expect(backoff.pause(after: 1) == .milliseconds(100))
        #expect(backoff.pause(after: 2) == .milliseconds(200))
        #expect(backoff.pause(after: 6) == .milliseconds(3200))
        #expect(backoff.pause(after: 7) == .seconds(5))
        #expect(backoff.pause(after: 1000) == .seconds(5))
    }

    @Test("a failing catch-up is retried: the views and the outbox recover, catch up and follow the log")
    func recovers() async throws {
        let f = try EngineFixture()
        let views = try ViewStore.open(directory: f.directory.sub("views"))
        let models = ReadModels(log: f.store, views: views, commitInterval: .zero)
        let projector = NotificationProjector(
            log: f.store, outbox: try Outbox(views: views),
            configuration: NotificationConfiguration(smtp: nil, backfill: true, commitInterval: .zero),
            logger: Logger(label: "test"))
        try await f.party("acme", .internal)
        try await f.party("supplier", .external)
        try await f.member("hana", party: "acme", roles: [.handler])
        try await f.member("sam", party: "supplier")
        let failedBefore = ProjectionFailures.all

        let viewFailures = FailingCatchUps(3)
        let outboxFailures = FailingCatchUps(4)
        let backoff = ProjectorService.Backoff(initial: .milliseconds(20), maximum: .milliseconds(80))
        let services = [
            models.service(backoff: backoff) { models in
                try viewFailures.check(models.log, reached: models.position)
                return try models.catchUp()
            },
            projector.service(backoff: backoff) { projector in
                try outboxFailures.check(projector.log, reached: try projector.outbox.cursor()?.checkpoint ?? 0)
                return try projector.catchUp()
            },
        ]
        let running = services.map { service in Task { try await service.run() } }

        let opened = try await f.user(
            "sam", .openThread(OpenThread(subjectKind: "request", subjectRef: "R-1", title: "Help", body: NewMessage(text: "Hello"))))
        let thread = try #require(opened.thread)
        try await caughtUp(models, projector, to: try f.store.lastPosition())
        #expect(viewFailures.left.withLock { $0 } == 0 && outboxFailures.left.withLock { $0 } == 0)
        let failed = ProjectionFailures.all
        #expect((failed["views"] ?? 0) >= (failedBefore["views"] ?? 0) + 3)
        #expect((failed["notifications"] ?? 0) >= (failedBefore["notifications"] ?? 0) + 4)
        #expect(try await models.threadView(thread, reader: "sam", minPosition: opened.position).messages.count == 1)
        #expect(try projector.outbox.entries().contains { $0.thread == thread })

        // Still running after the failures: later events reach both.
        let answered = try await f.user("hana", .postMessage(thread: thread, message: NewMessage(text: "On it")))
        try await caughtUp(models, projector, to: answered.position)
        #expect(try await models.threadView(thread, reader: "sam", minPosition: answered.position).messages.count == 2)

        for task in running { task.cancel() }
        for task in running { try await task.value }
    }

    /// Waits (at most a minute: the projectors' threads run at a lower priority than the rest of a busy
    /// suite) until the views and the outbox reach `position`.
    func caughtUp(_ models: ReadModels, _ projector: NotificationProjector, to position: UInt64) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if models.position >= position, try projector.outbox.cursor()?.checkpoint ?? 0 >= position { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("not caught up to \(position): views at \(models.position), outbox at \(try projector.outbox.cursor()?.checkpoint ?? 0)")
    }
}
