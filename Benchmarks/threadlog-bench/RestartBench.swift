import Engine
import EventLog
import Foundation
import Logging
import Projections

/// The handler's bearer token in the benchmark's logs, and its SHA-256 as the log keeps it.
let restartToken = "restart-bench-token"
let restartTokenHash = "9dcfe2dc756f2f1ae7cb1552475d97a7c745d398b6f8ce9fad765b6776ef4272"

/// A data directory as a server stopped by kill -9 leaves it: a log of `threads` threads (50 events
/// each, one more outside user per wave of 500), and the views and mail outbox at its head.
func prepareRestartData(_ root: String, threads: Int) async throws -> Int {
    let data = try DataDirectory(root, create: true)
    let log = try LMDBEventStore.open(directory: data.log, options: EventLogOptions(initialMapSize: 4 << 30))
    defer { log.close() }
    let total = try await buildViewLog(
        log, threads: threads, messagesPerThread: 40, markersPerThread: 9, handlerTokenHash: restartTokenHash,
        usersPerWave: 1)
    let views = try ViewStore.open(directory: data.views, initialMapSize: 4 << 30)
    let models = ReadModels(log: log, views: views)
    try models.rebuild(Set(ViewName.allCases))
    try models.catchUp()
    let logger = Logger(label: "threadlog.bench")
    try NotificationServices.projector(log: log, views: views, configuration: NotificationConfiguration(smtp: nil), logger: logger).catchUp()
    return total
}

/// Starts `threadlog serve` on `data`, posts one message as soon as it listens, and kills it (SIGKILL)
/// once the post is acknowledged. Returns the seconds from the start to listening and to the answer.
func firstWriteAfterStart(binary: String, data: String) throws -> (listening: Double, acknowledged: Double) {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: binary)
    server.arguments = ["serve", "--data", data, "--port", "0"]
    var environment = ProcessInfo.processInfo.environment
    environment["THREADLOG_ADMIN_TOKEN"] = "restart-bench-admin"
    environment["LOG_LEVEL"] = environment["RESTART_LOG_LEVEL"] ?? "warning"
    server.environment = environment
    let output = Pipe()
    server.standardOutput = output
    let start = now()
    try server.run()
    defer {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }
    var seen = ""
    var url: String?
    while url == nil {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else { throw BenchFailure("the server ended before listening") }
        seen += String(decoding: chunk, as: UTF8.self)
        if let range = seen.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression),
            seen[range.upperBound...].contains("\n") || seen.hasSuffix(String(seen[range]))
        {
            url = String(seen[range])
        }
    }
    let listening = now() - start
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = [
        "-sf", "-o", "/dev/null", "-X", "POST", "-H", "Authorization: Bearer \(restartToken)",
        "-H", "Content-Type: application/json", "\(url!)/v1/threads/t0/messages", "-d", #"{"body":"after a restart"}"#,
    ]
    try curl.run()
    curl.waitUntilExit()
    guard curl.terminationStatus == 0 else { throw BenchFailure("the post after the start was refused (curl \(curl.terminationStatus))") }
    return (listening, now() - start)
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Time to the first acknowledged write after a restart, for logs of 100k and 1M events, against the
/// same on a log of one thread (the baseline column): each the median of `RESTART_ROUNDS` (3) starts.
func restartBenchmarks() async throws {
    print("Threadlog restart (serve started on a stopped server's data, until its first post is acknowledged)")
    let binary = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("threadlog").path
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw BenchFailure("\(binary) is missing: swift build -c release --product threadlog")
    }
    let rounds = Int(ProcessInfo.processInfo.environment["RESTART_ROUNDS"] ?? "") ?? 3
    let sizes = (ProcessInfo.processInfo.environment["RESTART_THREADS"] ?? "2000,20000").split(separator: ",").compactMap { Int($0) }
    func median(_ data: String) throws -> (Double, Double) {
        var runs: [(listening: Double, acknowledged: Double)] = []
        for _ in 0..<rounds { runs.append(try firstWriteAfterStart(binary: binary, data: data)) }
        runs.sort { $0.acknowledged < $1.acknowledged }
        let middle = runs[runs.count / 2]
        return (middle.listening, middle.acknowledged)
    }
    let baseRoot = tempDir("restart-base")
    defer { remove(baseRoot) }
    _ = try await prepareRestartData(baseRoot + "/data", threads: 1)
    for threads in sizes {
        let root = tempDir("restart")
        defer { remove(root) }
        let built = now()
        let total = try await prepareRestartData(root + "/data", threads: threads)
        print("   log of \(total) events, views and outbox at its head, prepared in \(fmt(now() - built, 1)) s")
        // The baseline is measured beside each size, so a slow spell of the machine weighs on both.
        let (baseListening, base) = try median(baseRoot + "/data")
        let (listening, acknowledged) = try median(root + "/data")
        let name = "8. first write after restart, \(total / 1000)k events"
        print(
            "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(fmt(acknowledged * 1e3).leftPad(10)) ms   "
                + "1-thread log \(fmt(base * 1e3).leftPad(6)) ms   ratio \(fmt(acknowledged / base, 2))×   target ≤ 1.5×")
        print(
            "   listening after \(fmt(listening * 1e3)) ms (1-thread log: \(fmt(baseListening * 1e3)) ms); median of \(rounds) starts, each killed with SIGKILL")
    }
}
