import EventLog
import EventStoreConformance
import Foundation
import TestSupport
import Testing

extension ToolTests {
    /// Flips single bytes of the record-pointer arrays (bytes 16…30) of events leaf pages, one flip per
    /// copy of a stopped log, and runs `replay --verify` on each copy: it exits 0 (a harmless flip) or 1
    /// with at most one line on stderr, and never dies by a signal. `THREADLOG_DAMAGE_PAGES=N` flips
    /// bytes of N pages (default 4) with four masks each instead of one.
    @Test("a damaged record pointer in an events page ends verify with one line and exit 1, never a signal")
    func damagedPagePointers() async throws {
        let dir = try TempDirectory()
        let root = dir.sub("data")
        let data = try DataDirectory(root, create: true)
        let store = try LMDBEventStore.open(directory: data.log)
        // 3,000 events of a few hundred bytes over 20 streams, appended 100 at a time.
        for batch in 0..<30 {
            let events = (0..<100).map { index in
                event("message.posted", String(repeating: "x", count: (batch * 7 + index * 13) % 300) + "-\(batch)-\(index)")
            }
            _ = try await store.append(AppendRequest(stream: "thread-\(batch % 20)", expected: .any, events: events))
        }
        #expect(try store.verify().fault == nil)
        store.close()

        let original = try Data(contentsOf: URL(fileURLWithPath: data.log + "/data.mdb"))
        let pages = Self.eventsLeafPages(original)
        #expect(pages.count >= 20, "only \(pages.count) events leaf pages")
        let wanted = Int(ProcessInfo.processInfo.environment["THREADLOG_DAMAGE_PAGES"] ?? "") ?? 4
        // The first, the last (near the file's end, where a pointer most easily leads past it) and some between.
        let chosen = (0..<min(wanted, pages.count)).map { pages[$0 * (pages.count - 1) / max(1, min(wanted, pages.count) - 1)] }
        let masks: [UInt8] = wanted > 4 ? [0xFF, 0x80, 0x10, 0x01] : [0xFF]

        let copy = dir.sub("copy")
        try FileManager.default.createDirectory(atPath: copy + "/log", withIntermediateDirectories: true)
        var outcomes: [String: Int] = [:]
        var failures: [String] = []
        for page in chosen {
            for offset in 16...30 {
                for mask in masks {
                    var damaged = original
                    damaged[page * 4096 + offset] ^= mask
                    try damaged.write(to: URL(fileURLWithPath: copy + "/log/data.mdb"))
                    try? FileManager.default.removeItem(atPath: copy + "/log/lock.mdb")
                    let result = try Self.runChild(productPath("threadlog"), ["replay", "--verify", "--data", copy])
                    let lines = result.stderr.split(separator: "\n")
                    let what = "page \(page) byte \(offset) ^ \(mask)"
                    if let signal = result.signal {
                        failures.append("\(what): killed by signal \(signal)")
                    } else if result.status == 0 {
                        outcomes["harmless", default: 0] += 1
                    } else if result.status == 1 && lines.count == 1 {
                        outcomes[lines[0].contains("points outside the file") ? "outside the file" : "verify failed", default: 0] += 1
                    } else {
                        failures.append("\(what): exit \(result.status), stderr \(result.stderr.debugDescription)")
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        #expect((outcomes["verify failed"] ?? 0) + (outcomes["outside the file"] ?? 0) > 0, "\(outcomes)")
        if wanted > 4 { print("damaged pages: \(chosen.count) pages, outcomes \(outcomes)") }
    }

    /// Pages of the events table's leaves: LMDB page header flags (offset 10) say P_LEAF, and the first
    /// node holds an 8-byte key that starts with zero bytes (a big-endian position).
    static func eventsLeafPages(_ file: Data) -> [Int] {
        let pageSize = 4096
        return file.withUnsafeBytes { raw in
            var found: [Int] = []
            for page in 2..<(raw.count / pageSize) {
                let base = page * pageSize
                let flags = UInt16(raw[base + 10]) | UInt16(raw[base + 11]) << 8
                guard flags & 0x02 != 0, flags & 0x20 == 0 else { continue }
                let lower = Int(UInt16(raw[base + 12]) | UInt16(raw[base + 13]) << 8)
                guard lower >= 16 + 2 * 8, lower < pageSize else { continue }
                let node = Int(UInt16(raw[base + 16]) | UInt16(raw[base + 17]) << 8)
                guard node + 16 <= pageSize else { continue }
                let keySize = Int(UInt16(raw[base + node + 6]) | UInt16(raw[base + node + 7]) << 8)
                guard keySize == 8, raw[base + node + 8] == 0, raw[base + node + 9] == 0 else { continue }
                found.append(page)
            }
            return found
        }
    }

    struct ChildResult {
        var status: Int32
        var signal: Int32?
        var stderr: String
    }

    /// Runs a command to its end, telling an exit from a death by signal.
    static func runChild(_ executable: String, _ arguments: [String]) throws -> ChildResult {
        var environment = ProcessInfo.processInfo.environment
        // No crash report: a signal should show as a signal, quickly.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let process = try Child(executable, arguments, environment: environment, stderr: .pipe)
        let errData = process.errors?.readDataToEndOfFile() ?? Data()
        let termination = process.wait()
        var signal: Int32?
        if case .signalled(let number) = termination { signal = number }
        return ChildResult(status: termination.status, signal: signal, stderr: String(decoding: errData, as: UTF8.self))
    }
}
