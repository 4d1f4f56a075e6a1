import EventLog
import Foundation
import TestSupport
import Testing

@Suite("Durability")
struct CrashTests {
    @Test("every acknowledged append survives SIGKILL, with no gap and a valid chain")
    func killNine() async throws {
        let dir = try TempDirectory()
        let log = dir.sub("log")
        let probe = productPath("threadlog-probe")
        var acknowledged: [(id: String, position: UInt64)] = []
        for round in 0..<5 {
            let ackFile = dir.sub("acks-\(round)")
            FileManager.default.createFile(atPath: ackFile, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: probe)
            process.arguments = ["append", log, ackFile, "8"]
            try process.run()
            // Wait for the first acknowledgement, then kill at a random moment.
            let started = Date()
            while (try? Data(contentsOf: URL(fileURLWithPath: ackFile)).count) ?? 0 == 0 {
                #expect(process.isRunning, "the probe exited early")
                #expect(Date().timeIntervalSince(started) < 30, "the probe acknowledged nothing")
                if !process.isRunning || Date().timeIntervalSince(started) > 30 { return }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(UInt64.random(in: 20...400)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)

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
