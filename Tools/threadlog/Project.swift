import ArgumentParser
import Engine
import EventLog
import Foundation
import Projections

struct Project: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the read models from the log, or show where each stands.",
        discussion: """
            With --store URL (or $THREADLOG_STORE_URL) the log is on PostgreSQL and the views are those of the \
            node in --data DIR. status (like retention run and digest) refuses a DIR without views, a node \
            that never served; rebuild makes them there from the log.
            """,
        subcommands: [Status.self, Rebuild.self]
    )

    /// The log (read-only) and the views of a data directory; with a store URL, the log on PostgreSQL and
    /// the views of the node's directory.
    static func open(
        _ options: DataOptions, _ store: StoreOptions, createViews: Bool = false
    ) throws -> (any EventStore, ViewStore, ReadModels) {
        let node = try store.openNode(options, writable: false, createViews: createViews)
        return (node.log, node.views, node.models)
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each view's checkpoint, lag behind the log and version.")

        @OptionGroup var options: DataOptions

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let (log, views, models) = try Project.open(options, storeOptions)
            defer { log.close() }
            print("view      version  generation  checkpoint        head         lag")
            for status in try models.status() {
                let version = status.version == status.codeVersion ? "v\(status.version)" : "v\(status.version)→v\(status.codeVersion)"
                print(
                    status.name.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + version.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(status.generation).leftPadded(10) + String(status.checkpoint).leftPadded(12)
                        + String(status.head).leftPadded(12) + String(status.lag).leftPadded(12))
            }
            // The mail outbox, when this data directory has one.
            if let counts = try? Outbox(views: views).counts() {
                print("outbox    pending \(counts.pending + counts.sending)  failed \(counts.failed)  delivered \(counts.delivered)")
            }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild views from the whole log into a shadow copy, then swap it in atomically.",
            discussion: """
                A running service keeps answering from the old copy until the swap, then follows on from it. \
                With --store URL (or $THREADLOG_STORE_URL) the log is on PostgreSQL and the views are those of \
                the node in --data DIR; a directory without views yet (a node that never served) gets them here, \
                so the other tools (status, retention run, digest) can work there.
                """
        )

        @OptionGroup var options: DataOptions

        @OptionGroup var storeOptions: StoreOptions

        @Option(help: "The view to rebuild: \(ViewName.allCases.map(\.rawValue).joined(separator: ", ")).")
        var view: String?

        @Flag(help: "Rebuild every view.")
        var all = false

        func validate() throws {
            guard (view != nil) != all else { throw ValidationError("give either --view NAME or --all") }
            if let view, ViewName(rawValue: view) == nil {
                throw ValidationError("unknown view '\(view)'; views: \(ViewName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let selected: Set<ViewName> = all ? Set(ViewName.allCases) : [ViewName(rawValue: view!)!]
            let (log, _, models) = try Project.open(options, storeOptions, createViews: true)
            defer { log.close() }
            let started = Date()
            var report = ProgressReport("rebuild")
            try models.rebuild(selected) { done, total in
                if let line = report.line(done: done, total: total) { Output.standardError(line) }
            }
            let status = try models.status().filter { selected.contains($0.name) }
            let names = status.map(\.name.rawValue).joined(separator: ", ")
            print("rebuilt \(names) up to position \(status.first?.checkpoint ?? 0) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
