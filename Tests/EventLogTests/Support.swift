import EventLog
import Foundation
import Testing

/// A fresh directory under the system's temp dir, removed when the test is done with it.
final class TempDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("threadlog-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func sub(_ name: String) -> String { path + "/" + name }
}

/// The backends the conformance suite runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case lmdb

    var testDescription: String { rawValue }

    /// A new, empty store; the directory lives as long as the returned handle.
    func make() throws -> (store: any EventStore, keepAlive: TempDirectory) {
        switch self {
        case .lmdb:
            let dir = try TempDirectory()
            return (try LMDBEventStore.open(directory: dir.sub("log")), dir)
        }
    }
}

func event(_ type: String = "test.happened", _ text: String = "hello", actor: String = "user-1") -> ProposedEvent {
    ProposedEvent(type: type, actor: actor, correlationID: "corr-1", data: Array(#"{"text":"\#(text)"}"#.utf8))
}

/// Where the package's executables are built: beside the test binary.
func productPath(_ name: String) -> String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // The test binary may sit inside a bundle directory (`*.xctest/`).
    while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name).path
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command to completion and collects its output.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes while the process runs so a large output cannot block it.
    let errBox = DataBox()
    let errDone = DispatchSemaphore(value: 0)
    Thread {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        errDone.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errDone.wait()
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// `@unchecked Sendable`: written by one reader thread, read only after it signalled completion.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
