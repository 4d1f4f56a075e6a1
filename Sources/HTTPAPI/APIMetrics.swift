import Engine
import Metrics
import Prometheus
import Synchronization

/// The service's metrics, kept in a registry of its own (no process-wide bootstrap, so several
/// servers can live in one test process) and rendered in the Prometheus text format.
final class APIMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requestCounters = Mutex<[String: Metrics.Counter]>([:])
    private let requestTimers = Mutex<[String: Metrics.Timer]>([:])
    private let lagGauges = Mutex<[String: Metrics.Gauge]>([:])
    /// A counter per projector and the failures it has counted (`ProjectionFailures` keeps the tally).
    private let projectionFailures = Mutex<[String: (counter: Metrics.Counter, counted: Int)]>([:])
    private let appendTimer: Metrics.Timer
    private let groupCommits: Metrics.Gauge
    private let groupAppends: Metrics.Gauge
    private let groupAverage: Metrics.Gauge
    private let logPosition: Metrics.Gauge
    private let directoryFoldEvents: Metrics.Gauge

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        appendTimer = Metrics.Timer(label: "threadlog_append_duration_seconds", factory: factory)
        groupCommits = Metrics.Gauge(label: "threadlog_log_group_commits", factory: factory)
        groupAppends = Metrics.Gauge(label: "threadlog_log_group_appends", factory: factory)
        groupAverage = Metrics.Gauge(label: "threadlog_log_group_size_average", factory: factory)
        logPosition = Metrics.Gauge(label: "threadlog_log_position", factory: factory)
        directoryFoldEvents = Metrics.Gauge(label: "threadlog_directory_fold_events_read", factory: factory)
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(method) \(route) \(status)"
        let counter = requestCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Metrics.Counter(
                label: "threadlog_http_requests_total",
                dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timerKey = "\(method) \(route)"
        let timer = requestTimers.withLock { timers in
            if let timer = timers[timerKey] { return timer }
            let timer = Metrics.Timer(
                label: "threadlog_http_request_duration_seconds", dimensions: [("route", route), ("method", method)],
                factory: factory)
            timers[timerKey] = timer
            return timer
        }
        timer.recordNanoseconds(duration.nanoseconds)
    }

    func append(duration: Duration) {
        appendTimer.recordNanoseconds(duration.nanoseconds)
    }

    /// The text exposition; the log's gauges are read now.
    func render(log: LogFeed, head: UInt64?, lag: [(view: String, lag: UInt64)]) -> [UInt8] {
        for (view, behind) in lag {
            let gauge = lagGauges.withLock { gauges in
                if let gauge = gauges[view] { return gauge }
                let gauge = Metrics.Gauge(
                    label: "threadlog_view_lag_events", dimensions: [("view", view)], factory: factory)
                gauges[view] = gauge
                return gauge
            }
            gauge.record(Double(behind))
        }
        if let statistics = log.groupStatistics {
            groupCommits.record(Double(statistics.commits))
            groupAppends.record(Double(statistics.appends))
            groupAverage.record(statistics.commits == 0 ? 0 : Double(statistics.appends) / Double(statistics.commits))
        }
        if let head { logPosition.record(Double(head)) }
        directoryFoldEvents.record(Double(DirectoryFolds.eventsRead))
        projectionFailures.withLock { counters in
            for (projector, failures) in ProjectionFailures.all {
                let known = counters[projector] ?? (
                    Metrics.Counter(
                        label: "threadlog_projection_failures_total", dimensions: [("projector", projector)],
                        factory: factory),
                    0
                )
                if failures > known.counted { known.counter.increment(by: failures - known.counted) }
                counters[projector] = (known.counter, failures)
            }
        }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
