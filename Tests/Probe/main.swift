// A child process for the crash tests, killed with SIGKILL at a random moment:
// - `append LOG_DIR ACK_FILE WRITERS`: appends in a loop and records each acknowledged append in
//   ACK_FILE, one line each: `<id> <first position>`;
// - `project DATA_DIR BATCH`: runs the projection runner over the log in small batches until done.
import Engine
import EventLog
import Foundation

let arguments = CommandLine.arguments

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: threadlog-probe append LOG_DIR ACK_FILE WRITERS | project DATA_DIR BATCH\n".utf8))
    exit(2)
}

guard arguments.count == 5 || arguments.count == 4 else { usage() }
switch arguments[1] {
case "append":
    guard arguments.count == 5, let writers = Int(arguments[4]) else { usage() }
    try await appendLoop(log: arguments[2], ackFile: arguments[3], writers: writers)
case "project":
    guard arguments.count == 4, let batch = Int(arguments[3]) else { usage() }
    let data = try DataDirectory(arguments[2], create: false)
    let log = try LMDBEventStore.openReadOnly(directory: data.log)
    let models = ReadModels(log: log, views: try ViewStore.open(directory: data.views), batchSize: batch)
    try models.catchUp()
    print("caught up at \(models.position)")
default:
    usage()
}

func appendLoop(log path: String, ackFile: String, writers: Int) async throws {
    let log = try LMDBEventStore.open(directory: path)
    let ackFD = open(ackFile, O_WRONLY | O_APPEND | O_CREAT, 0o644)
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
}
