import ArgumentParser
import EventLog
import Foundation

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit the history: print events readably, or verify the whole log's integrity.",
        discussion: """
            --verify checks the hash chain, payload digests, sequence gaps and the stream index; it names \
            the first bad position and exits 1 on any fault.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var options: DataOptions

    @Option(help: "Only the events of this stream.")
    var stream: String?

    @Option(help: "The first position (with --stream: the first version) to print.")
    var from: UInt64 = 1

    @Option(help: "The last position (with --stream: the last version) to print.")
    var to: UInt64?

    @Flag(help: "Check the log's integrity instead of printing it.")
    var verify = false

    @Option(help: "Output format: text or json (one envelope a line).")
    var format: Format = .text

    func validate() throws {
        if let to, to < from { throw ValidationError("--to (\(to)) is before --from (\(from))") }
        if verify && stream != nil { throw ValidationError("--verify checks the whole log; drop --stream") }
    }

    func run() async throws {
        let log = try options.openLog()
        defer { log.close() }
        if verify { return try runVerify(log) }
        var out = StandardOutput()
        var line: [UInt8] = []
        func emit(_ event: RecordedEvent) {
            line.removeAll(keepingCapacity: true)
            switch format {
            case .json: event.appendEnvelope(to: &line)
            case .text: line.append(contentsOf: Self.describe(event).utf8)
            }
            line.append(UInt8(ascii: "\n"))
            out.write(line)
        }
        if let stream {
            let limit = to.map { Int(clamping: $0 - from + 1) } ?? Int.max
            guard try log.head(of: stream) != nil else { throw ToolFailure("no stream '\(stream)' in the log") }
            for event in try log.readStream(stream, fromVersion: max(from, 1), limit: limit) { emit(event) }
        } else {
            let last = to ?? UInt64.max
            try log.forEach(from: max(from, 1)) { event in
                guard event.position <= last else { return false }
                emit(event)
                return true
            }
        }
        out.flush()
    }

    static func describe(_ event: RecordedEvent) -> String {
        let payload = event.isPurged ? "[purged]" : String(decoding: event.data, as: UTF8.self)
        let actor = event.actor.isEmpty ? "-" : event.actor
        return "#\(event.position) \(event.time) \(event.stream) v\(event.version) \(event.type) by \(actor) \(payload)"
    }

    private func runVerify(_ log: LMDBEventStore) throws {
        let started = Date()
        var lastReport = Date()
        let report = try log.verify { checked, total in
            // Progress on stderr for long checks, at most twice a second.
            if total >= 100_000, Date().timeIntervalSince(lastReport) >= 0.5 {
                lastReport = Date()
                Output.standardError("verify: \(checked)/\(total) events (\(checked * 100 / max(total, 1))%)")
            }
        }
        if let fault = report.fault {
            throw ToolFailure("verify failed at \(fault)")
        }
        let seconds = Date().timeIntervalSince(started)
        print("verify: ok, \(report.checked) events in \(report.streams) streams, chain intact (\(String(format: "%.2f", seconds)) s)")
    }
}
