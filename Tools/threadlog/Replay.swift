import ArgumentParser
import Engine
import EventLog
import Messaging
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

    @OptionGroup var storeOptions: StoreOptions

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

    @Option(name: .customLong("as-of"), help: "With --stream thread-…: print the thread's state at this time (ISO 8601 or YYYY-MM-DD).")
    var asOf: String?

    func validate() throws {
        if let asOf {
            guard ISOTime.parse(asOf) != nil else { throw ValidationError("--as-of '\(asOf)' is not a time like 2026-11-23T10:00:00Z") }
            guard let stream, stream.hasPrefix("thread-") else { throw ValidationError("--as-of needs --stream thread-<id>") }
        }
        if let to, to < from { throw ValidationError("--to (\(to)) is before --from (\(from))") }
        if verify && stream != nil { throw ValidationError("--verify checks the whole log; drop --stream") }
        try storeOptions.validate(data: options)
    }

    func run() async throws {
        let log = try storeOptions.openLog(data: options)
        defer { log.close() }
        if verify {
            guard let verifiable = log as? any VerifiableLog else { throw ToolFailure("this log cannot be verified") }
            return try runVerify(verifiable)
        }
        if let asOf, let stream, let millis = ISOTime.parse(asOf) {
            let engine = CommandHandler(store: log)
            guard let state = try engine.threadState(ThreadID(String(stream.dropFirst("thread-".count))), asOfMillis: millis) else {
                throw ToolFailure("\(stream) did not exist at \(ISOTime.format(millis: millis))")
            }
            print("as of \(ISOTime.format(millis: millis))")
            print(Summary.report(state))
            return
        }
        var out = StandardOutput()
        var line: [UInt8] = []
        func emit(_ event: RecordedEvent) {
            line.removeAll(keepingCapacity: true)
            switch format {
            case .json: event.appendEnvelope(to: &line)
            case .text: line.append(contentsOf: Summary.line(event).utf8)
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
            try log.forEachEvent(from: max(from, 1)) { event in
                guard event.position <= last else { return false }
                emit(event)
                return true
            }
        }
        out.flush()
    }

    private func runVerify(_ log: any VerifiableLog) throws {
        let started = Date()
        // Progress on stderr for long checks, at most twice a second, from half a second in.
        var progress = ProgressReport("verify", interval: .milliseconds(500), firstAtOnce: false)
        let report = try log.verify { checked, total in
            if total >= 100_000, let line = progress.line(done: checked, total: total) { Output.standardError(line) }
        }
        if let fault = report.fault {
            throw ToolFailure("verify failed at \(fault)")
        }
        let seconds = Date().timeIntervalSince(started)
        print("verify: ok, \(report.checked) events in \(report.streams) streams, chain intact (\(String(format: "%.2f", seconds)) s)")
    }
}
