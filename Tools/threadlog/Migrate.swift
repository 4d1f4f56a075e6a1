import ArgumentParser
import Engine
import Foundation

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the LMDB log of a data directory into a log on PostgreSQL.",
        discussion: """
            Positions, times, hashes and erased payloads are copied unchanged; every event is checked \
            against the hash chain on the way. The target must be empty or hold a beginning of the same \
            log (an interrupted copy then resumes). Stop the service first: events appended meanwhile \
            are not copied.
            """
    )

    @Option(help: "The data directory whose log is copied.")
    var from: String

    @Option(help: "The PostgreSQL log, e.g. postgresql://user@127.0.0.1:5432/threadlog (created when missing).")
    var to: String

    func run() async throws {
        let started = Date()
        var progress = ProgressReport("migrate", firstAtOnce: false)
        let (first, head, target) = try Backends.migrate(from: from, to: to) { copied, total in
            if let line = progress.line(done: copied, total: total) { Output.standardError(line) }
        }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        print("migrated \(head + 1 - first) events (log now at position \(head)) to \(target) in \(seconds) s")
    }
}
