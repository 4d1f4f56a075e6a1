import Foundation

/// The aiosmtpd server of `Tools/smtp-test-server`: a process of its own for a test that needs
/// particular flags, or a listener of its own (port, mail directory, command log) on one process that
/// all plain servers of a test run share (`withSMTPServer` without flags).
///
/// `@unchecked Sendable`: its state is set in `init` and only read afterwards; `stop()` is called from
/// one test at a time.
public final class SMTPTestServer: @unchecked Sendable {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    public static let python = root + "/.venv/bin/python"
    public static let script = root + "/Tools/smtp-test-server/server.py"
    public static let certificateScript = root + "/Tools/smtp-test-server/make-certificates.py"

    public let port: Int
    public let maildir: String
    /// The verbs of the EHLO, HELO, STARTTLS, AUTH and MAIL commands received, one a line.
    private let commandLog: String
    private let directory: TempDirectory
    private let owner: Owner

    private enum Owner {
        /// A process of its own, stopped with the server.
        case process(ServerProcess)
        /// A listener on the shared process, closed with the server.
        case listener(ServerProcess)
    }

    /// Starts the server with extra flags (`--fail-4xx 1`, …) and waits for its `PORT` line; `port`
    /// reuses a port (a server that comes back after being down), `maildir` a mail directory.
    public init(_ flags: [String] = [], port requested: Int = 0, maildir reused: String? = nil) throws {
        directory = try TempDirectory()
        maildir = reused ?? directory.sub("mail")
        commandLog = directory.sub("commands.log")
        let process = try ServerProcess(
            ["--port", "\(requested)", "--maildir", maildir, "--command-log", commandLog, "--exit-on-stdin-eof"] + flags,
            log: directory.sub("server.log"))
        port = try process.port(after: nil)
        owner = .process(process)
    }

    /// A listener of its own on the shared plain server.
    private init(sharedBy process: ServerProcess) throws {
        directory = try TempDirectory()
        maildir = directory.sub("mail")
        commandLog = directory.sub("commands.log")
        port = try process.port(after: "listen \(maildir) \(commandLog)")
        owner = .listener(process)
    }

    /// The process every plain listener of this test run lives on, started on first use; it ends
    /// with the test process, when its standard input closes.
    private static let shared = Result { () throws -> ServerProcess in
        let directory = try TempDirectory()
        return try ServerProcess(["--listeners"], log: directory.sub("server.log"), keeping: directory)
    }

    /// A plain server (no failures, no TLS, no AUTH) with a port, mail directory and command log of
    /// its own, on the process all plain servers share: no process start per test.
    public static func plain() throws -> SMTPTestServer {
        try SMTPTestServer(sharedBy: shared.get())
    }

    /// Stops the server (its own process) or closes its listener (the shared process's), once.
    public func stop() {
        switch owner {
        case .process(let process): process.stop()
        case .listener(let process): process.close(port)
        }
    }

    deinit { stop() }

    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// The commands received so far, by verb (`EHLO`, `HELO`, `STARTTLS`, `AUTH`, `MAIL`), in order.
    public func commands() -> [String] {
        let text = (try? String(contentsOfFile: commandLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// The messages received so far, in order of arrival.
    public func messages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: maildir).filter { $0.hasSuffix(".eml") }
            .sorted()
        return try names.map { name in
            let path = maildir + "/" + name
            let side = try Data(contentsOf: URL(fileURLWithPath: String(path.dropLast(4)) + ".json"))
            return ReceivedMail(
                path: path, raw: try Data(contentsOf: URL(fileURLWithPath: path)),
                envelope: try JSONDecoder().decode(ReceivedMail.Envelope.self, from: side))
        }
    }

    public struct ServerError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}

/// One `server.py` process: its standard input carries requests (and its end stops the process), its
/// standard output the `PORT` and `CLOSED` answers, one a line.
///
/// `@unchecked Sendable`: the pipes are used under `lock`; `lines` is filled by one reader thread.
private final class ServerProcess: @unchecked Sendable {
    private let process: Child
    private let stdin: FileHandle
    private let log: String
    private let lines = LineQueue()
    private let lock = NSLock()
    private let directory: TempDirectory?
    /// The listeners closed so far, under `lock`.
    private var closed: Set<Int> = []

    init(_ arguments: [String], log: String, keeping directory: TempDirectory? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: SMTPTestServer.python) else {
            throw SMTPTestServer.ServerError("no \(SMTPTestServer.python); run `make deps` to create the virtual environment")
        }
        self.log = log
        self.directory = directory
        process = try Child(
            SMTPTestServer.python, [SMTPTestServer.script] + arguments, stdin: .pipe, stdout: .pipe, stderr: .file(log))
        stdin = process.input!
        let reader = process.output!
        let lines = lines
        Thread {
            var text = ""
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                while let end = text.firstIndex(of: "\n") {
                    lines.put(String(text[..<end]))
                    text = String(text[text.index(after: end)...])
                }
            }
            lines.put(nil)
        }.start()
    }

    /// Sends `request` (when given) and waits for the `PORT` line that answers it.
    func port(after request: String?) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        if let request { try stdin.write(contentsOf: Data((request + "\n").utf8)) }
        while let line = lines.take(timeout: 30) {
            if line.hasPrefix("PORT "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) {
                return port
            }
        }
        if request == nil { stop() }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw SMTPTestServer.ServerError("the SMTP test server did not start: \(text)")
    }

    /// Closes the listener on `port` and waits until it no longer accepts connections.
    func close(_ port: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard closed.insert(port).inserted, process.isRunning,
            (try? stdin.write(contentsOf: Data("close \(port)\n".utf8))) != nil
        else { return }
        while let line = lines.take(timeout: 30), line != "CLOSED \(port)" {}
    }

    /// Closes the process's stdin and sends SIGTERM (either one stops it), then waits for it to end.
    func stop() {
        guard process.isRunning else { return }
        try? stdin.close()
        process.terminate()
        process.wait()
    }
}

/// Lines handed from a reader thread to waiting callers; `nil` marks the end of the output.
private final class LineQueue: @unchecked Sendable {
    private var lines: [String?] = []
    private let lock = NSLock()
    private let available = DispatchSemaphore(value: 0)

    func put(_ line: String?) {
        lock.lock()
        lines.append(line)
        lock.unlock()
        available.signal()
    }

    /// The next line; `nil` at the end of the output or after `timeout` seconds without one.
    func take(timeout: Double) -> String? {
        guard available.wait(timeout: .now() + timeout) == .success else { return nil }
        lock.lock()
        defer { lock.unlock() }
        let line = lines.removeFirst()
        if line == nil {
            // The end stays for every later caller.
            lines.insert(nil, at: 0)
            available.signal()
        }
        return line
    }
}

/// Runs `body` with a fresh server and always stops it: without flags a listener of its own on the
/// shared plain server, with flags a process of its own.
public func withSMTPServer<T>(_ flags: [String] = [], _ body: (SMTPTestServer) async throws -> T) async throws -> T {
    let server = try flags.isEmpty ? SMTPTestServer.plain() : SMTPTestServer(flags)
    defer { server.stop() }
    return try await body(server)
}

/// A certificate authority of its own and a server certificate it signed, made for one test by
/// `Tools/smtp-test-server/make-certificates.py` (Python's `cryptography`, in the virtual environment).
public final class TestCertificates: Sendable {
    private let directory: TempDirectory
    /// The authority's certificate (PEM): what a client must trust.
    public var caFile: String { directory.sub("ca.pem") }
    public var certificateFile: String { directory.sub("server.pem") }
    public var keyFile: String { directory.sub("server-key.pem") }

    /// `names`: what the server certificate is for (host names or IP addresses); by default
    /// localhost, 127.0.0.1 and ::1.
    public init(names: [String] = []) throws {
        directory = try TempDirectory()
        let arguments = [SMTPTestServer.certificateScript, directory.path] + names.flatMap { ["--name", $0] }
        let result = try run(SMTPTestServer.python, arguments)
        guard result.status == 0 else {
            throw SMTPTestServer.ServerError("making test certificates failed: \(result.stderr)")
        }
    }

    /// The test server's flags to offer STARTTLS with this certificate (and refuse mail without it).
    public var startTLSFlags: [String] { ["--tls-cert", certificateFile, "--tls-key", keyFile, "--starttls"] }
    /// The test server's flags to speak TLS from the first byte with this certificate.
    public var implicitTLSFlags: [String] { ["--tls-cert", certificateFile, "--tls-key", keyFile, "--implicit-tls"] }
}

public struct ReceivedMail {
    public struct Envelope: Decodable {
        public var mailFrom: String
        public var recipients: [String]
        public var helo: String?
        public var esmtp: Bool
        public var authUser: String?
        /// The TLS version the mail came over (`TLSv1.3`), `nil` in clear.
        public var tls: String?

        enum CodingKeys: String, CodingKey {
            case mailFrom = "mail_from"
            case recipients = "rcpt_tos"
            case helo, esmtp, tls
            case authUser = "auth_user"
        }
    }

    public var path: String
    public var raw: Data
    public var envelope: Envelope

    /// The header section as received, one entry per physical line.
    public var headerLines: [String] {
        let text = String(decoding: raw, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.components(separatedBy: "\r\n")
    }

    /// The field names of the header section.
    public var headerNames: [String] {
        headerLines.filter { !$0.hasPrefix(" ") && !$0.hasPrefix("\t") }.compactMap {
            $0.split(separator: ":", maxSplits: 1).first.map(String.init)
        }
    }

    /// The message as Python's `email` package reads it.
    public func parsed() throws -> ParsedMail {
        try [self].parsed()[0]
    }
}

extension [ReceivedMail] {
    /// The messages as Python's `email` package reads them, all in one Python process.
    public func parsed() throws -> [ParsedMail] {
        if isEmpty { return [] }
        let result = try run(SMTPTestServer.python, ["-c", ParsedMail.script] + map(\.path))
        guard result.status == 0 else {
            throw SMTPTestServer.ServerError("parsing \(map(\.path)) failed: \(result.stderr)")
        }
        return try JSONDecoder().decode([ParsedMail].self, from: Data(result.stdout.utf8))
    }
}

public struct ParsedMail: Decodable {
    public struct Mailbox: Decodable, Equatable {
        public init(name: String, address: String) {
            self.name = name
            self.address = address
        }

        public var name: String
        public var address: String
    }

    public var subject: String
    public var from: [Mailbox]
    public var to: [Mailbox]
    public var cc: [Mailbox]
    public var date: String?
    public var messageID: String?
    public var contentType: String
    public var charset: String?
    public var transferEncoding: String?
    public var mimeVersion: String?
    public var body: String
    public var headers: [[String]]
    public var defects: [String]

    /// Decodes with the modern `email.policy.default`; line ends normalised to `\n`, as a reader sees them.
    /// One JSON array for the paths given, in their order.
    static let script = #"""
        import email, email.policy, json, sys
        def read(path):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            return parse(msg)
        def parse(msg):
          def boxes(name):
              header = msg[name]
              if header is None:
                  return []
              return [{"name": a.display_name, "address": a.addr_spec} for a in header.addresses]
          defects = [repr(d) for d in msg.defects]
          for name, value in msg.items():
              defects += [repr(d) for d in getattr(value, "defects", [])]
          return {
              "subject": str(msg["subject"]),
              "from": boxes("from"), "to": boxes("to"), "cc": boxes("cc"),
              "date": str(msg["date"]) if msg["date"] else None,
              "messageID": str(msg["message-id"]) if msg["message-id"] else None,
              "contentType": msg.get_content_type(),
              "charset": msg.get_content_charset(),
              "transferEncoding": msg["content-transfer-encoding"],
              "mimeVersion": msg["mime-version"],
              "body": msg.get_content().replace("\r\n", "\n"),
              "headers": [[k, str(v)] for k, v in msg.items()],
              "defects": defects,
          }
        print(json.dumps([read(path) for path in sys.argv[1:]]))
        """#
}

/// Reply mails built by Python's `email` package (`Tools/smtp-test-server/reply_mail.py`): written to
/// bytes, or sent with `smtplib` to a listener.
public enum ReplyMailScript {
    public static let script = SMTPTestServer.root + "/Tools/smtp-test-server/reply_mail.py"

    /// How one SMTP transaction ended: `stage` is `rcpt`, `data` or `mail` for a refusal, `done` when taken.
    public struct SendResult: Decodable, Sendable {
        public var ok: Bool
        public var code: Int
        public var stage: String
        public var text: String
    }

    /// Sends the mail `spec` describes (see the script) to 127.0.0.1:`port`; blocks, so call it off the
    /// cooperative pool (`onThread`).
    public static func send(_ spec: [String: Any], port: Int) throws -> SendResult {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let result = try run(SMTPTestServer.python, [script, "send", "127.0.0.1", "\(port)", json])
        guard result.status == 0 else { throw SMTPTestServer.ServerError("sending a reply failed: \(result.stderr)") }
        return try JSONDecoder().decode(SendResult.self, from: Data(result.stdout.utf8))
    }

    /// The bytes of the mail `spec` describes.
    public static func build(_ spec: [String: Any]) throws -> Data {
        let directory = try TempDirectory()
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let result = try run(SMTPTestServer.python, [script, "build", json, directory.sub("mail.eml")])
        guard result.status == 0 else { throw SMTPTestServer.ServerError("building a reply failed: \(result.stderr)") }
        return try Data(contentsOf: URL(fileURLWithPath: directory.sub("mail.eml")))
    }
}
