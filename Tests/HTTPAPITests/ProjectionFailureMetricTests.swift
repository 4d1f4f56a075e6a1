import Engine
import Foundation
import Logging
import Testing

@Suite("Projection failures on /metrics")
struct ProjectionFailureMetricTests {
    struct Refused: Error {}

    @Test("a projector's failed catch-ups are counted in threadlog_projection_failures_total{projector}")
    func counted() async throws {
        try await withHarness { h in
            let name = "failing-\(UUID().uuidString.prefix(8))"
            let service = ProjectorService(
                name: name, log: h.store, backoff: .init(initial: .milliseconds(5), maximum: .milliseconds(10)),
                logger: Logger(label: "test"), catchUp: { throw Refused() })
            let running = Task { try await service.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            while (ProjectionFailures.all[name] ?? 0) < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            running.cancel()
            try await running.value
            let failures = try #require(ProjectionFailures.all[name])
            #expect(failures >= 3)
            let metrics = try await h.call(.get, "/metrics").text
            #expect(metrics.contains(#"threadlog_projection_failures_total{projector="\#(name)"} \#(failures)"#), "\(metrics)")
        }
    }
}
