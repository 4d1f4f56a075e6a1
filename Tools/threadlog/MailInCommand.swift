import ArgumentParser
import Engine
import EventLog
import Foundation
import Logging
import SMTP

struct MailInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail-in",
        abstract: "Post one reply mail, read on stdin, to the thread of its reply address (for a mail server's pipe).",
        discussion: """
            The thread and the posting user come from the reply address (THREADLOG_REPLY_ADDRESS): --recipient, \
            else the message's Delivered-To, X-Original-To, To and Cc; never from From. The quoted mail and the \
            signature are left out. The same Message-ID to the same address is posted once. Exit codes \
            (sysexits): 0 posted (or posted before), 67 no valid reply address, 77 the thread's rules refuse \
            the post (not allowed, blocked, closed, purged), 65 the message is empty or too large, 75 a fault \
            (unset configuration, storage): the mail server should try again later; 2 a usage error. A refusal \
            is one line on stderr; the user is sent an explanation through the outbox (not for an unknown address).
            """
    )

    @OptionGroup var options: DataOptions

    @Option(help: "The reply address the mail was delivered to (default: from the message's headers).")
    var recipient: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "threadlog.mail-in")
        logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let code: Int32
        do {
            let limit = try Serve.byteLimit(
                environment["THREADLOG_INBOUND_MAX_BYTES"], default: 10 << 20, name: "THREADLOG_INBOUND_MAX_BYTES")
            let raw = try Self.readStandardInput(limit: limit)
            let data = try DataDirectory(options.directory, create: false)
            let log = try Backends.localLog(data, writable: true)
            defer { log.close() }
            let views = try ViewStore.open(directory: data.views)
            let handler = CommandHandler(store: log, logger: logger)
            let mailIn = try Self.makeMailIn(
                handler: handler, views: views, data: data,
                mail: try NotificationConfiguration(environment: environment, dataRoot: data.root),
                requireMatchingFrom: try requireMatchingFromSetting(environment), logger: logger)
            let receipt = try await mailIn.take(raw, recipients: recipient.map { [$0] } ?? [])
            print(
                receipt.repeated
                    ? "posted before on thread \(receipt.thread) (position \(receipt.position)); nothing appended"
                    : "posted on thread \(receipt.thread) by \(receipt.user) at position \(receipt.position)")
            code = 0
        } catch let refusal as MailInRefusal {
            Output.standardError("threadlog mail-in: refused: \(refusal.message)")
            code = refusal.exitCode
        } catch let tooLarge as TooLarge {
            Output.standardError("threadlog mail-in: refused: \(tooLarge.message)")
            code = 65
        } catch {
            Output.standardError("threadlog mail-in: \(Self.describe(error)); try again later")
            code = 75
        }
        if code != 0 { Foundation.exit(code) }
    }

    /// The reply addresses, the outbox for explanations and the sender's domain, shared with `serve`.
    static func makeMailIn(
        handler: CommandHandler, views: ViewStore, data: DataDirectory, mail configuration: NotificationConfiguration,
        requireMatchingFrom: Bool, logger: Logger
    ) throws -> MailIn {
        guard let addresses = configuration.replyAddresses else {
            throw ToolFailure("replies by mail need THREADLOG_REPLY_ADDRESS (e.g. reply+{token}@threads.example.com)")
        }
        return MailIn(
            handler: handler, addresses: addresses, outbox: try Outbox(views: views),
            messageIDDomain: configuration.messageIDDomain,
            requireMatchingFrom: requireMatchingFrom, blobs: try BlobStore(root: data.blobs),
            logger: logger)
    }

    struct TooLarge: Error {
        var message: String
    }

    static func readStandardInput(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let input = FileHandle.standardInput
        while true {
            let chunk = input.readData(ofLength: 1 << 16)
            if chunk.isEmpty { break }
            bytes.append(contentsOf: chunk)
            if bytes.count > limit { throw TooLarge(message: "the message is larger than \(limit) bytes") }
        }
        return bytes
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as ToolFailure: failure.message
        case let error as EventLogError: error.message
        default: "\(error)"
        }
    }
}
