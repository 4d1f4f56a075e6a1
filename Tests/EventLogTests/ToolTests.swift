import EventLog
import EventStoreConformance
import Foundation
import TestSupport
import Testing

/// The `threadlog` binary run as a user would: real processes, real data directories.
@Suite("threadlog tail and replay")
struct ToolTests {
    let threadlog = productPath("threadlog")

    /// A data directory with `count` events over three streams.
    func makeData(_ dir: TempDirectory, count: Int = 12) async throws -> String {
        let root = dir.sub("data")
        let data = try DataDirectory(root, create: true)
        let store = try LMDBEventStore.open(directory: data.log)
        for i in 1...count {
            _ = try await store.append(AppendRequest(stream: "thread-\(i % 3)", expected: .any, events: [event("message.posted", "m\(i)")]))
        }
        store.close()
        return root
    }

    @Test("tail prints NDJSON envelopes from a position")
    func tailPrints() async throws {
        let dir = try TempDirectory()
        let root = try await makeData(dir)
        let result = try run(threadlog, ["tail", "--data", root, "--from", "5"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 8)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["position"] as? Int == 5)
        #expect(first?["stream"] as? String == "thread-2")
        #expect(first?["version"] as? Int == 2)
        #expect(first?["type"] as? String == "message.posted")
        #expect(first?["schemaVersion"] as? Int == 1)
        #expect((first?["time"] as? String)?.hasSuffix("Z") == true)
        #expect(first?["actor"] as? String == "user-1")
        #expect(first?["correlationId"] as? String == "corr-1")
        #expect((first?["data"] as? [String: Any])?["text"] as? String == "m5")

        let filtered = try run(threadlog, ["tail", "--data", root, "--type", "other.type"])
        #expect(filtered.status == 0 && filtered.stdout.isEmpty)
    }

    @Test("tail --follow prints new events as they are appended")
    func tailFollows() async throws {
        let dir = try TempDirectory()
        let root = try await makeData(dir, count: 2)
        let process = try Child(threadlog, ["tail", "--data", root, "--from", "2", "--follow"], stdout: .pipe)
        defer { process.terminate() }

        // Wait for the existing event, so the next ones arrive while the tail is following.
        var received = ""
        let deadline = Date().addingTimeInterval(20)
        while !received.contains("\n") && Date() < deadline {
            received += String(decoding: process.output!.availableData, as: UTF8.self)
        }
        let store = try LMDBEventStore.open(directory: root + "/log")
        for i in 3...5 { _ = try await store.append(AppendRequest(stream: "late", expected: .any, events: [event("e", "\(i)")])) }
        store.close()

        while received.split(separator: "\n").count < 4 && Date() < deadline {
            let chunk = process.output!.availableData
            received += String(decoding: chunk, as: UTF8.self)
        }
        let positions = received.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["position"] as? Int
        }
        #expect(positions == [2, 3, 4, 5])
    }

    @Test("replay prints events readably, by stream and range, and as JSON")
    func replayPrints() async throws {
        let dir = try TempDirectory()
        let root = try await makeData(dir)
        let text = try run(threadlog, ["replay", "--data", root, "--from", "3", "--to", "4"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        // These payloads are not domain events: the line says so and still names type and stream.
        #expect(lines[0].hasPrefix("#3 ") && lines[0].contains("message.posted on thread-0 [undecodable"))

        let stream = try run(threadlog, ["replay", "--data", root, "--stream", "thread-1", "--from", "2", "--format", "json"])
        let versions = stream.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["version"] as? Int
        }
        #expect(versions == [2, 3, 4])

        let missing = try run(threadlog, ["replay", "--data", root, "--stream", "thread-9"])
        #expect(missing.status == 1 && missing.stderr.contains("thread-9"))
    }

    @Test("replay --verify passes on a whole log and names the first bad position of a tampered copy")
    func verify() async throws {
        let dir = try TempDirectory()
        let root = try await makeData(dir)
        let ok = try run(threadlog, ["replay", "--data", root, "--verify"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("ok, 12 events in 3 streams"))

        let file = URL(fileURLWithPath: root + "/log/data.mdb")
        var bytes = try Data(contentsOf: file)
        var from = bytes.startIndex
        while let found = bytes.range(of: Data(#""text":"m7""#.utf8), in: from..<bytes.endIndex) {
            bytes[found.lowerBound + 9] = UInt8(ascii: "X")
            from = found.upperBound
        }
        try bytes.write(to: file)
        let bad = try run(threadlog, ["replay", "--data", root, "--verify"])
        #expect(bad.status == 1)
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(bad.stderr.contains("position 7"))
    }

    @Test("bad arguments exit 2, missing data exits 1, each with one clear line; nothing is created")
    func errors() async throws {
        let dir = try TempDirectory()
        let nowhere = dir.sub("nowhere")
        let missing = try run(threadlog, ["tail", "--data", nowhere])
        #expect(missing.status == 1)
        #expect(missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("no Threadlog data directory"))
        #expect(!FileManager.default.fileExists(atPath: nowhere))

        let foreign = dir.sub("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: foreign + "/file"))
        let notOurs = try run(threadlog, ["replay", "--data", foreign, "--verify"])
        #expect(notOurs.status == 1 && notOurs.stderr.contains("not a Threadlog data directory"))

        #expect(try run(threadlog, ["tail", "--from", "abc"]).status == 2)
        #expect(try run(threadlog, ["replay", "--bogus"]).status == 2)
        #expect(try run(threadlog, ["replay", "--from", "5", "--to", "2"]).status == 2)
        #expect(try run(threadlog, ["nonsense"]).status == 2)
        let help = try run(threadlog, ["--help"])
        #expect(help.status == 0 && help.stdout.contains("tail"))
    }
}
