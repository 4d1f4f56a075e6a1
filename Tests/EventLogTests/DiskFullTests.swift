import EventLog
import EventStoreConformance
import Foundation
import TestSupport
import Testing

@Suite("a full disk under the stores")
struct DiskFullTests {
    @Test("a commit the disk refuses fails with storageFull, loses nothing, and the writer takes appends again once space returns")
    func logOnFullDisk() async throws {
        let disk = try SmallDisk(megabytes: 4)
        // No reserve: the file system itself refuses LMDB's writes.
        let store = try LMDBEventStore.open(directory: disk.path + "/log", options: EventLogOptions(diskReserve: 0))
        defer { store.close() }
        _ = try await store.append(AppendRequest(stream: "s-0", expected: .any, events: [event()]))
        let filler = try disk.fill("filler", bytes: disk.available - (256 << 10))
        var acknowledged: [UInt64] = []
        var refusal: EventLogError?
        let text = String(repeating: "y", count: 1000)
        for index in 0..<5_000 {
            do {
                let result = try await store.append(
                    AppendRequest(stream: "s-\(index % 5)", expected: .any, events: [event("t", "\(text)\(index)")]))
                acknowledged.append(result.lastPosition)
            } catch let error as EventLogError {
                refusal = error
                break
            }
        }
        #expect(refusal?.code == .storageFull, "\(String(describing: refusal))")
        #expect(acknowledged.count > 10)
        // Reads go on and hold every acknowledged append.
        let stored = Set(try store.read(from: 1, limit: 10_000).map(\.position))
        #expect(acknowledged.allSatisfy(stored.contains))
        #expect(try store.verify().fault == nil)

        try FileManager.default.removeItem(atPath: filler)
        let after = try await store.append(AppendRequest(stream: "s-0", expected: .any, events: [event("t", "after")]))
        #expect(after.lastPosition == (try store.lastPosition()))
        #expect(after.lastPosition > acknowledged.last ?? 0)
        #expect(try store.verify().fault == nil)
    }

    @Test("with a reserve, appends are refused while less than it is free, so the views can still write")
    func reserveKeepsRoomForViews() async throws {
        let disk = try SmallDisk(megabytes: 4)
        let store = try LMDBEventStore.open(directory: disk.path + "/log", options: EventLogOptions(diskReserve: 1 << 20))
        defer { store.close() }
        let views = try ViewStore.open(directory: disk.path + "/views")
        _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        let filler = try disk.fill("filler", bytes: disk.available - (1 << 19))
        var refused: EventLogError?
        do {
            _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
        } catch let error as EventLogError {
            refused = error
        }
        #expect(refused?.code == .storageFull, "\(String(describing: refused))")
        // The views write into the reserve.
        try views.prepare(tables: ["rows"])
        try await views.queuedWrite { txn in
            for index in 0..<50 { try txn.put("rows", Array("row-\(index)".utf8), [UInt8](repeating: 7, count: 2000)) }
        }
        #expect(try views.read { txn in try txn.count("rows") } == 50)
        // Filled to the last byte, a view write fails as storageFull too, and works once space returns.
        let rest = try disk.fill("rest", bytes: Int.max)
        var viewFault: EventLogError?
        do {
            try await views.queuedWrite { txn in
                for index in 0..<400 { try txn.put("rows", Array("big-\(index)".utf8), [UInt8](repeating: 8, count: 2000)) }
            }
        } catch let error as EventLogError {
            viewFault = error
        }
        #expect(viewFault?.code == .storageFull, "\(String(describing: viewFault))")
        try FileManager.default.removeItem(atPath: rest)
        try FileManager.default.removeItem(atPath: filler)
        try await views.queuedWrite { txn in try txn.put("rows", Array("again".utf8), [1]) }
        _ = try await store.append(AppendRequest(stream: "s", expected: .any, events: [event()]))
    }
}
