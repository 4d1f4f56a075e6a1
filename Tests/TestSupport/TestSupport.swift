import Foundation

/// A fresh directory under the system's temp dir, removed when the test is done with it.
public final class TempDirectory: Sendable {
    public let path: String

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("threadlog-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String { path + "/" + name }
}

/// Where the package's executables are built: beside the test binary.
public func productPath(_ name: String) -> String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // The test binary may sit inside a bundle directory (`*.xctest/`).
    while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name).path
}

public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a command to completion and collects its output; `input`, when given, is its stdin.
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
) throws -> ProcessResult {
    let child = try Child(
        executable, arguments, environment: environment, stdin: input == nil ? .null : .pipe, stdout: .pipe,
        stderr: .pipe)
    if let input, let writer = child.input {
        // Written from a thread of its own, so a child that answers before reading everything cannot block us.
        Thread {
            try? writer.write(contentsOf: input)
            try? writer.close()
        }.start()
    }
    // Drain both pipes while the process runs so a large output cannot block it.
    let errBox = DataBox()
    let errDone = DispatchSemaphore(value: 0)
    let errors = child.errors
    Thread {
        errBox.data = errors?.readDataToEndOfFile() ?? Data()
        errDone.signal()
    }.start()
    let outData = child.output?.readDataToEndOfFile() ?? Data()
    let termination = child.wait()
    errDone.wait()
    return ProcessResult(
        status: termination.status, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// `@unchecked Sendable`: written by one reader thread, read only after it signalled completion.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

/// Every file under `root` (relative paths) whose bytes contain `needle`.
public func files(containing needle: [UInt8], under root: String) throws -> [String] {
    var found: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let relative = enumerator?.nextObject() as? String {
        let path = root + "/" + relative
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if data.range(of: Data(needle)) != nil { found.append(relative) }
    }
    return found
}
