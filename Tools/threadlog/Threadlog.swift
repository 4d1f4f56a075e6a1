import ArgumentParser
import EventLog
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

@main
struct Threadlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threadlog",
        abstract: "An event-sourced message service on an append-only LMDB log.",
        subcommands: [Serve.self, Tail.self, Replay.self, Project.self, RetentionCommand.self, Digest.self, MailInCommand.self, Backup.self, Migrate.self]
    )

    /// Exit codes of the outside contract: 0 success, 1 a fault (one line on stderr), 2 a usage error.
    static func main() async {
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        // A damaged page that LMDB follows past the file ends the command with one line, not a signal.
        DamagedFileGuard.install()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as ToolFailure {
            Output.standardError("threadlog: \(failure.message)")
            Foundation.exit(1)
        } catch let error as EventLogError {
            Output.standardError("threadlog: \(error.message)")
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                Output.standardError(fullMessage(for: error))
                Foundation.exit(2)
            }
            let message = fullMessage(for: error)
            Output.standardError("threadlog: \(message.isEmpty ? String(describing: error) : message)")
            Foundation.exit(code == .failure ? 1 : code.rawValue)
        }
    }
}

/// A fault that ends a command with exit code 1 and this one line on stderr.
struct ToolFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Options shared by the commands that read a data directory.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (default: $THREADLOG_DATA or ./data).")
    var data: String?

    var directory: String {
        data ?? ProcessInfo.processInfo.environment["THREADLOG_DATA"] ?? "./data"
    }

    /// Opens the log read-only: these commands never change the data.
    func openLog() throws -> any ErasableLog {
        try Backends.localLog(DataDirectory(directory, create: false), writable: false)
    }
}

enum Output {
    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Buffered stdout: lines collect in memory and go out in large writes.
struct StandardOutput: ~Copyable {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        Self.writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { Self.writeAll(buffer) }

    private static func writeAll(_ buffer: [UInt8]) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                // The reader went away (a closed pipe): nothing more to say.
                Foundation.exit(0)
            }
            offset += written
        }
    }
}
