// `make bench`: every figure is printed next to a baseline measured in the same run.
//   threadlog-bench            all sections
//   threadlog-bench log        the event log against raw LMDB
//   threadlog-bench views      the read models: rebuild rate and query latency
//   threadlog-bench restart    time to the first acknowledged write after a restart
//   threadlog-bench json       the hand-written JSON reader against Foundation's JSONDecoder
//   threadlog-bench pg --url postgresql://user@host:port/db
//                              the PostgreSQL log against raw PostgreSQL (only when asked for: it needs
//                              a server; `make bench` runs it in a throwaway cluster with fsync on)
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
var pgURL: String?
if let flag = arguments.firstIndex(of: "--url") {
    guard flag + 1 < arguments.count else {
        print("threadlog-bench: --url needs a PostgreSQL URL")
        exit(2)
    }
    pgURL = arguments[flag + 1]
    arguments.removeSubrange(flag...(flag + 1))
}
let sections = Set(arguments)
if sections.contains("pg") {
    guard let pgURL else {
        print("threadlog-bench: pg needs --url postgresql://user@host:port/database")
        exit(2)
    }
    try await pgBenchmarks(url: pgURL)
    if sections.count > 1 { print("") }
}
if sections.isEmpty || sections.contains("log") {
    try await logBenchmarks()
    print("")
}
if sections.isEmpty || sections.contains("views") {
    try await viewBenchmarks()
    print("")
}
if sections.isEmpty || sections.contains("restart") {
    try await restartBenchmarks()
}
if sections.isEmpty || sections.contains("json") {
    print("")
    try jsonBenchmarks()
}
