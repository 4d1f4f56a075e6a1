// `make bench`: every figure is printed next to a baseline measured in the same run.
//   threadlog-bench            all sections
//   threadlog-bench log        the event log against raw LMDB
//   threadlog-bench views      the read models: rebuild rate and query latency
//   threadlog-bench restart    time to the first acknowledged write after a restart
//   threadlog-bench json       the hand-written JSON reader against Foundation's JSONDecoder
let sections = Set(CommandLine.arguments.dropFirst())
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
