import ArgumentParser
import EventLog
import Foundation
import PostgresEventLog

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
        let source = try LMDBEventStore.openReadOnly(directory: try DataDirectory(from, create: false).log)
        defer { source.close() }
        let target = try PostgresEventStore.open(url: to)
        defer { target.close() }
        let started = Date()
        let total = try source.lastPosition()
        let first = try target.lastPosition() + 1
        if first > 1 {
            // Resume only a copy of this very log: the chain hash at the target's head must match.
            let targetHead = try target.read(from: first - 1, limit: 1).first
            let sourceAtHead = try source.read(from: first - 1, limit: 1).first
            guard let targetHead, let sourceAtHead, targetHead.chainHash == sourceAtHead.chainHash else {
                throw ToolFailure(
                    "the log at \(target.url) holds \(first - 1) events that are not a beginning of the log in \(from)")
            }
        }
        var next = first
        var lastReport = Date()
        while next <= total {
            let batch = try source.read(from: next, limit: 2000)
            guard !batch.isEmpty else { break }
            next = try target.importEvents(batch) + 1
            if Date().timeIntervalSince(lastReport) >= 1 {
                lastReport = Date()
                Output.standardError("migrate: \(next - 1)/\(total) events")
            }
        }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        print("migrated \(next - first) events (log now at position \(next - 1)) to \(target.url) in \(seconds) s")
    }
}
