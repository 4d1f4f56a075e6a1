// Appends to a log until it is killed, and records each acknowledged append in a file, one line each:
// `<id> <first position>`. The crash tests kill this process with SIGKILL and check that every
// acknowledged append survived.
import EventLog
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4, let writers = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: threadlog-probe LOG_DIR ACK_FILE WRITERS\n".utf8))
    exit(2)
}
let log = try LMDBEventStore.open(directory: arguments[1])
let ackFD = open(arguments[2], O_WRONLY | O_APPEND | O_CREAT, 0o644)
guard ackFD >= 0 else { exit(1) }
let run = UUID().uuidString.prefix(8)

await withTaskGroup(of: Void.self) { group in
    for writer in 0..<writers {
        group.addTask {
            var n = 0
            while true {
                n += 1
                let id = "\(run)-\(writer)-\(n)"
                let payload = Array(#"{"id":"\#(id)","text":"\#(String(repeating: "x", count: 200))"}"#.utf8)
                let event = ProposedEvent(type: "probe.appended", actor: "probe", data: payload)
                do {
                    let result = try await log.append(
                        AppendRequest(commandID: id, stream: "probe-\(n % 7)", expected: .any, events: [event]))
                    let line = Array("\(id) \(result.firstPosition)\n".utf8)
                    _ = line.withUnsafeBytes { write(ackFD, $0.baseAddress, $0.count) }
                } catch {
                    FileHandle.standardError.write(Data("append failed: \(error)\n".utf8))
                    exit(1)
                }
            }
        }
    }
}
