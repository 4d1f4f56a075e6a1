import Foundation

/// The aiosmtpd server of `Tools/smtp-test-server`, a process of its own for each test.
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
    private let process: Process
    private let stdin: Pipe

    /// Starts the server with extra flags (`--fail-4xx 1`, …) and waits for its `PORT` line; `port`
    /// reuses a port (a server that comes back after being down), `maildir` a mail directory.
    public init(_ flags: [String] = [], port requested: Int = 0, maildir reused: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw ServerError("no \(Self.python); run `make deps` to create the virtual environment")
        }
        directory = try TempDirectory()
        maildir = reused ?? directory.sub("mail")
        commandLog = directory.sub("commands.log")
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        // Closing stdin stops the server too, so a test process that dies leaves none behind.
        process.arguments =
            [
                Self.script, "--port", "\(requested)", "--maildir", maildir, "--command-log", commandLog,
                "--exit-on-stdin-eof",
            ] + flags
        let stdout = Pipe()
        stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        _ = FileManager.default.createFile(atPath: directory.sub("server.log"), contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory.sub("server.log"))
        try process.run()

        let found = PortBox()
        let ready = DispatchSemaphore(value: 0)
        let reader = stdout.fileHandleForReading
        Thread {
            var text = ""
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                let complete = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                if let line = complete.first(where: { $0.hasPrefix("PORT ") }) {
                    found.port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
                    break
                }
            }
            ready.signal()
        }.start()
        guard ready.wait(timeout: .now() + 30) == .success, let port = found.port else {
            process.terminate()
            process.waitUntilExit()
            let log = (try? String(contentsOfFile: directory.sub("server.log"), encoding: .utf8)) ?? ""
            throw ServerError("the SMTP test server did not start: \(log)")
        }
        self.port = port
    }

    /// Closes the server's stdin and sends SIGTERM (either one stops it), then waits for it to end.
    public func stop() {
        guard process.isRunning else { return }
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
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

/// Runs `body` with a fresh server and always stops it.
public func withSMTPServer<T>(_ flags: [String] = [], _ body: (SMTPTestServer) async throws -> T) async throws -> T {
    let server = try SMTPTestServer(flags)
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

/// `@unchecked Sendable`: written by the reader thread before it signals, read only after.
private final class PortBox: @unchecked Sendable {
    public var port: Int?
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
