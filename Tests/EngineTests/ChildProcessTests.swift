import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The tests' way of running processes: it must hold with many descriptors open (the whole suite at
/// once), hand a child only its three standard streams, and report exits and signals as they were.
@Suite("child processes of the tests")
struct ChildProcessTests {
    @Test("with 1,500 descriptors open, concurrent children start and see only their standard streams")
    func manyDescriptors() async throws {
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        for _ in 0..<1500 {
            let fd = open("/dev/null", O_RDONLY)
            try #require(fd >= 0)
            opened.append(fd)
        }
        let listings = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    // `ls` itself holds one descriptor on the directory it lists.
                    try run("/bin/ls", ["/proc/self/fd"]).stdout
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for listing in listings {
            let descriptors = Set(listing.split(separator: "\n").compactMap { Int($0) })
            #expect(descriptors.subtracting([3]) == [0, 1, 2], "\(listing)")
        }
    }

    @Test("an exit status, a signal, standard input and a working directory come through")
    func statusSignalInputDirectory() throws {
        #expect(try run("/bin/sh", ["-c", "exit 7"]).status == 7)
        let echoed = try run("/bin/cat", [], input: Data("to the child\n".utf8))
        #expect(echoed.stdout == "to the child\n" && echoed.status == 0)
        let directory = try TempDirectory()
        let place = try Child("/bin/sh", ["-c", "pwd"], directory: directory.path, stdout: .pipe)
        let printed = String(decoding: place.output?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(place.wait() == .exited(0))
        #expect(
            printed.trimmingCharacters(in: .newlines)
                == URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path)

        let sleeper = try Child("/bin/sleep", ["30"])
        #expect(sleeper.isRunning)
        sleeper.send(SIGKILL)
        #expect(sleeper.wait(seconds: 10) == .signalled(SIGKILL))
        #expect(!sleeper.isRunning)
    }

    @Test("a child its owner lets go of is killed and reaped")
    func releasedChildIsReaped() throws {
        var sleeper: Child? = try Child("/bin/sleep", ["30"])
        let pid = try #require(sleeper?.pid)
        sleeper = nil
        _ = sleeper
        // Reaped: no process, not even a zombie, has the number any more.
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }
}
