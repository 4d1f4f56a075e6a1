@testable import Engine
import Testing

@Suite struct ProgressReportTests {
    @Test("a line says how much is done and estimates the time left at the rate so far, at most once per interval")
    func linesAndEstimates() {
        let start = ContinuousClock.now
        var report = ProgressReport("rebuild", interval: .seconds(1), started: start)
        // The first line comes at once; nothing done yet, so no estimate.
        #expect(report.line(done: 0, total: 10_000_000, now: start) == "rebuild: 0/10000000 events (0%)")
        // Within the interval: no line.
        #expect(report.line(done: 100, total: 10_000_000, now: start + .milliseconds(500)) == nil)
        // A quarter in 10 s: three quarters left, 30 s at that rate.
        #expect(
            report.line(done: 2_500_000, total: 10_000_000, now: start + .seconds(10))
                == "rebuild: 2500000/10000000 events (25%), about 30 s left")
        // A tenth in 20 s: 180 s left.
        var slow = ProgressReport("migrate", started: start)
        #expect(
            slow.line(done: 1_000_000, total: 10_000_000, now: start + .seconds(20))
                == "migrate: 1000000/10000000 events (10%), about 3 min left")
        // Done: no estimate.
        #expect(
            report.line(done: 10_000_000, total: 10_000_000, now: start + .seconds(40))
                == "rebuild: 10000000/10000000 events (100%)")
    }

    @Test("estimates read as seconds, minutes, or hours and minutes")
    func estimateWords() {
        #expect(ProgressReport.estimate(seconds: 0.2) == "about 1 s left")
        #expect(ProgressReport.estimate(seconds: 59) == "about 59 s left")
        #expect(ProgressReport.estimate(seconds: 150) == "about 3 min left")
        #expect(ProgressReport.estimate(seconds: 2 * 3600 + 5 * 60) == "about 2 h 5 min left")
    }
}
