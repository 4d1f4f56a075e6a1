import EventLog
import EventStoreConformance
import Foundation
import TestSupport
import Testing

@Suite("Durability", .tags(.slow))
struct CrashTests {
    @Test("every acknowledged append survives SIGKILL, with no gap and a valid chain")
    func killNine() async throws {
        let dir = try TempDirectory()
        let log = dir.sub("log")
        let probe = productPath("threadlog-probe")
        var acknowledged: [(id: String, position: UInt64)] = []
        for round in 0..<5 {
            let ackFile = dir.sub("acks-\(round)")
            #expect(FileManager.default.createFile(atPath: ackFile, contents: nil))
            let process = try Child(probe, ["append", log, ackFile, "8"])
            // Wait for the first acknowledgement, then kill at a random moment.
            let started = Date()
            while (try? Data(contentsOf: URL(fileURLWithPath: ackFile)).count) ?? 0 == 0 {
                #expect(process.isRunning, "the probe exited early")
                #expect(Date().timeIntervalSince(started) < 30, "the probe acknowledged nothing")
                if !process.isRunning || Date().timeIntervalSince(started) > 30 { return }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(UInt64.random(in: 20...400)))
            process.send(SIGKILL)
            #expect(process.wait() == .signalled(SIGKILL))

            let lines = try String(contentsOfFile: ackFile, encoding: .utf8).split(separator: "\n")
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let position = UInt64(parts[1]) else { continue }  // a line cut by the kill
                acknowledged.append((String(parts[0]), position))
            }

            let store = try LMDBEventStore.openReadOnly(directory: log)
            let report = try store.verify()
            #expect(report.fault == nil, "round \(round): \(report.fault.map(String.init(describing:)) ?? "")")
            let last = try store.lastPosition()
            for ack in acknowledged {
                #expect(ack.position <= last)
                let stored = try store.read(from: ack.position, limit: 1).first
                #expect(stored?.commandID == ack.id, "acknowledged append \(ack.id) at \(ack.position) is missing")
            }
            store.close()
        }
        #expect(acknowledged.count >= 5)
    }
}

@Suite("Two writing processes")
struct SharedLogTests {
    @Test("appends of another process interleave with ours: no lost write, one unbroken chain, tails see theirs")
    func anotherWriter() async throws {
        let dir = try TempDirectory()
        let path = dir.sub("log")
        let log = try LMDBEventStore.open(directory: path)
        defer { log.close() }
        _ = try await log.append(AppendRequest(stream: "ours", expected: .noStream, events: [event()]))
        let ackFile = dir.sub("acks")
        #expect(FileManager.default.createFile(atPath: ackFile, contents: nil))
        let process = try Child(productPath("threadlog-probe"), ["append", path, ackFile, "4"])
        defer { process.send(SIGKILL) }
        // A tail of this process, waiting beyond our head, sees what only the other process appended.
        let seen = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                for try await recorded in log.subscribe(after: 1) { return recorded.type }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return "nothing within 20 s"
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        #expect(seen == "probe.appended")

        // Both processes now append at once; each of ours must land after whatever the other wrote.
        var ours: [UInt64] = []
        for n in 0..<200 {
            let result = try await log.append(AppendRequest(stream: "ours", expected: .any, events: [event("test.happened", "\(n)")]))
            ours.append(result.firstPosition)
        }
        process.send(SIGKILL)
        process.wait()

        let theirs = try String(contentsOfFile: ackFile, encoding: .utf8).split(separator: "\n")
            .compactMap { line in line.split(separator: " ").last.flatMap { UInt64($0) } }
        #expect(theirs.count > 0)
        #expect(Set(ours).isDisjoint(with: theirs))
        #expect(try log.verify().fault == nil)
        let stream = try log.readStream("ours", fromVersion: 1, limit: .max)
        #expect(stream.map(\.position) == [1] + ours)
    }
}
