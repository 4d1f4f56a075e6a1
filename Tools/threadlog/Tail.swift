import ArgumentParser
import EventLog
import Foundation

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events as NDJSON, one envelope a line, from a position on.",
        discussion: "With --follow, waits for new events (polling the log's head) until interrupted."
    )

    @OptionGroup var options: DataOptions

    @Option(help: "The first position to print.")
    var from: UInt64 = 1

    @Flag(help: "Keep waiting for new events.")
    var follow = false

    @Option(help: "Print only events of this type (repeatable).")
    var type: [String] = []

    func run() async throws {
        let log = try options.openLog()
        defer { log.close() }
        let types = Set(type)
        var out = StandardOutput()
        var line: [UInt8] = []
        line.reserveCapacity(4096)
        func emit(_ event: RecordedEvent) {
            guard types.isEmpty || types.contains(event.type) else { return }
            line.removeAll(keepingCapacity: true)
            event.appendEnvelope(to: &line)
            line.append(UInt8(ascii: "\n"))
            out.write(line)
        }
        if !follow {
            try log.forEach(from: max(from, 1)) { event in
                emit(event)
                return true
            }
            out.flush()
            return
        }
        out.flush()
        // Signal handlers are not installed: SIGINT ends the process, as a user of `tail -f` expects.
        var iterator = log.subscribe(after: max(from, 1) - 1).makeAsyncIterator()
        while let event = try await iterator.next() {
            emit(event)
            out.flush()
        }
    }
}
