/// A long run's progress as one line for stderr: how much of the total is done, the percentage, and,
/// once part of it is done, an estimate of the time left at the rate so far. Lines come at most once
/// per `interval`; the first comes at once, or with `firstAtOnce` false one interval after the start.
public struct ProgressReport: Sendable {
    public let label: String
    public let unit: String
    public let interval: Duration
    private let started: ContinuousClock.Instant
    private var lastLine: ContinuousClock.Instant?

    public init(
        _ label: String, unit: String = "events", interval: Duration = .seconds(1), firstAtOnce: Bool = true,
        started: ContinuousClock.Instant = .now
    ) {
        self.label = label
        self.unit = unit
        self.interval = interval
        self.started = started
        self.lastLine = firstAtOnce ? nil : started
    }

    /// The line for `done` of `total` at `now`, e.g. `rebuild: 2500000/10000000 events (25%), about 30 s
    /// left`; `nil` while the last line is younger than the interval.
    public mutating func line(done: UInt64, total: UInt64, now: ContinuousClock.Instant = .now) -> String? {
        if let lastLine, now - lastLine < interval { return nil }
        lastLine = now
        let shown = min(done, total)
        var text = "\(label): \(shown)/\(total) \(unit) (\(shown * 100 / max(total, 1))%)"
        let elapsed = now - started
        if shown > 0 && total > shown && elapsed > .zero {
            let seconds = elapsed / .seconds(1) * Double(total - shown) / Double(shown)
            text += ", \(Self.estimate(seconds: seconds))"
        }
        return text
    }

    /// `about 40 s left`, `about 3 min left`, `about 2 h 5 min left`.
    static func estimate(seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "about \(max(whole, 1)) s left" }
        let minutes = Int((seconds / 60).rounded())
        if minutes < 60 { return "about \(minutes) min left" }
        return "about \(minutes / 60) h \(minutes % 60) min left"
    }
}
