import Engine
import EventLog
import Foundation
import Logging
import Messaging
import PostgresEventLog
import TestSupport
import Testing

/// `threadlog digest` on a log on PostgreSQL (`--store URL`), with the node's views and outbox in `--data DIR`.
@Suite("digest tool on a PostgreSQL log", .serialized)
struct DigestToolPostgresTests {
    static let day = "2026-11-23"

    static let expectedMails = [
        "carl@acme.example New messages in Threadlog C-1",
        "clara@acme.example New messages in Threadlog C-1",
        "hana@ops.example New messages in Threadlog C-1",
        "hugo@ops.example New messages in Threadlog C-1",
        "hugo@ops.example New messages in Threadlog C-2",
    ]

    static func mailEnvironment(_ server: SMTPTestServer, _ extra: [String: String] = [:]) -> [String: String] {
        RetentionToolPostgresTests.toolEnvironment(
            [
                "THREADLOG_SMTP_URL": server.url, "THREADLOG_MAIL_FROM": "Threadlog <noreply@threadlog.example>",
                "THREADLOG_PUBLIC_URL": "https://threads.example", "THREADLOG_MAIL_POLL_MS": "20",
                "THREADLOG_MAIL_BACKOFF_MS": "50",
            ].merging(extra) { $1 })
    }

    /// Who got which digest: `address subject`, sorted.
    static func digestMails(_ server: SMTPTestServer) throws -> [String] {
        try server.messages().parsed().filter { $0.subject.hasPrefix("New messages in Threadlog") }
            .map { "\($0.to.map(\.address).joined(separator: ",")) \($0.subject)" }.sorted()
    }

    /// The operator `ops` (handlers h1, h2) and the customer `acme` (c1, c2) on two contracts, with
    /// unread messages from the other side for each of them: five digests are due.
    static func conversation(_ store: any EventStore) async throws {
        let handler = CommandHandler(store: store)
        func admin(_ command: Command) async throws { _ = try await handler.handle(command, actor: .admin) }
        func user(_ id: UserID, _ command: Command) async throws -> CommandOutcome {
            try await handler.handle(command, actor: .user(id))
        }
        let hash = String(repeating: "b", count: 64)
        try await admin(.createParty(id: "ops", name: "Operations", kind: .internal))
        try await admin(.createParty(id: "acme", name: "Acme Supplies", kind: .external))
        for (id, name, email, party, roles) in [
            ("h1", "Hana Handler", "hana@ops.example", "ops", [Role("handler")]),
            ("h2", "Hugo Helper", "hugo@ops.example", "ops", [Role("handler")]),
            ("c1", "Clara Client", "clara@acme.example", "acme", []),
            ("c2", "Carl Customer", "carl@acme.example", "acme", []),
        ] as [(UserID, String, String, PartyID, [Role])] {
            try await admin(.createUser(id: id, name: name, email: email, party: party, roles: roles, tokenHash: hash))
        }
        func open(_ ref: String, _ body: String) async throws -> ThreadID {
            try await admin(.declareSubject(Subject(kind: "contract", ref: ref), parties: ["acme"], structures: []))
            let outcome = try await user(
                "c1",
                .openThread(
                    OpenThread(
                        subjectKind: "contract", subjectRef: ref, title: "Invoice \(ref)", participants: ["c2"],
                        body: NewMessage(text: body))))
            return try #require(outcome.thread)
        }
        let first = try await open("C-1", "Is the invoice paid?")
        _ = try await user("h1", .postMessage(thread: first, message: NewMessage(text: "Paid on Monday.")))
        _ = try await user("c2", .postMessage(thread: first, message: NewMessage(text: "Thanks!")))
        let second = try await open("C-2", "And this one?")
        _ = try await user("h1", .moveReadMarker(thread: second, upTo: 1))
    }

    /// How many events of `type` the log holds.
    static func count(_ type: EventType, in url: String) throws -> Int {
        let store = try PostgresEventStore.open(url: url, create: false)
        defer { store.close() }
        return try store.read(from: 1, limit: 10_000).count { $0.type == type.rawValue }
    }

    @Test(
        "digest --store --data sends each due digest once, records it as on LMDB; a second run, another node, or a run beside an elected node sends nothing twice"
    )
    func sendsOnceOnPostgres() async throws {
        let url = try ServePostgresTests.freshDatabase()
        let directory = try TempDirectory()
        let node = directory.sub("node")
        do {
            let store = try PostgresEventStore.open(url: url)
            defer { store.close() }
            try await Self.conversation(store)
        }
        let threadlog = productPath("threadlog")
        let environment = RetentionToolPostgresTests.toolEnvironment()

        // A node that never served has no views: the command says how to make them.
        let noViews = try run(
            threadlog, ["digest", "--store", url, "--data", node, "--date", Self.day], environment: environment)
        #expect(noViews.status == 1)
        #expect(
            noViews.stderr
                == "threadlog: no views in \(node): run `threadlog project rebuild --all --store URL --data \(node)` or start `serve` there first\n",
            "\(noViews.stderr)")
        // So do the other tools that work on a node's views.
        for arguments in [
            ["retention", "--store", url, "--data", node, "--dry-run"],
            ["project", "status", "--store", url, "--data", node],
        ] {
            let result = try run(threadlog, arguments, environment: environment)
            #expect(result.status == 1, "\(arguments)")
            #expect(
                result.stderr.hasPrefix("threadlog: no views in \(node): run `threadlog project rebuild"),
                "\(result.stderr)")
        }
        let rebuild = try run(
            threadlog, ["project", "rebuild", "--all", "--store", url, "--data", node], environment: environment)
        #expect(rebuild.status == 0, "\(rebuild.stderr)")

        let dry = try run(
            threadlog, ["digest", "--data", node, "--date", Self.day, "--dry-run"],
            environment: RetentionToolPostgresTests.toolEnvironment(["THREADLOG_STORE_URL": url]))
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            dry.stdout == """
                would send c1 contract C-1: 1 unread in 1 thread
                would send c2 contract C-1: 1 unread in 1 thread
                would send h1 contract C-1: 2 unread in 1 thread
                would send h2 contract C-1: 2 unread in 1 thread
                would send h2 contract C-2: 1 unread in 1 thread
                5 digests due on 2026-11-23 (dry run: nothing sent, nothing recorded)

                """)
        #expect(try Self.count(.digestScheduled, in: url) == 0)

        try await withSMTPServer { server in
            let arguments = ["digest", "--store", url, "--data", node, "--date", Self.day]
            let first = try run(threadlog, arguments, environment: Self.mailEnvironment(server))
            #expect(first.status == 0, "\(first.stderr)")
            #expect(
                first.stdout.hasSuffix("5 digests sent for 2026-11-23; 0 already handled earlier\n"), "\(first.stdout)")
            #expect(try Self.digestMails(server) == Self.expectedMails)
            // Only digests: the immediate notifications are the elected service's.
            #expect(try server.messages().count == 5)
            // What the run appends on LMDB: one decision and one delivery per digest.
            #expect(try Self.count(.digestScheduled, in: url) == 5)
            #expect(try Self.count(.digestSent, in: url) == 5)

            let second = try run(threadlog, arguments, environment: Self.mailEnvironment(server))
            #expect(second.status == 0, "\(second.stderr)")
            #expect(
                second.stdout.hasSuffix("0 digests sent for 2026-11-23; 5 already handled earlier\n"),
                "\(second.stdout)")

            // Another node of the same log derives the same mails, and the shared ledger says they went out.
            let other = directory.sub("other")
            let otherRebuild = try run(
                threadlog, ["project", "rebuild", "--all", "--store", url, "--data", other], environment: environment)
            #expect(otherRebuild.status == 0, "\(otherRebuild.stderr)")
            let elsewhere = try run(
                threadlog, ["digest", "--store", url, "--data", other, "--date", Self.day],
                environment: Self.mailEnvironment(server))
            #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
            #expect(
                elsewhere.stdout.hasSuffix("0 digests sent for 2026-11-23; 5 already handled earlier\n"),
                "\(elsewhere.stdout)")
            #expect(try server.messages().count == 5)
            #expect(try Self.count(.digestScheduled, in: url) == 5)
            #expect(try Self.count(.digestSent, in: url) == 5)

            // Beside an elected node (here: the test holds the election) the command records the next
            // day's decisions but leaves the sending to that node, and gives up waiting after the timeout.
            let nextDay = "2026-11-24"
            var logger = Logger(label: "test.digest")
            logger.logLevel = .critical
            let election = LeaderLock(url: try PostgresURL(url), logger: logger)
            #expect(await election.tryAcquire())
            let beside = try run(
                threadlog, ["digest", "--store", url, "--data", node, "--date", nextDay],
                environment: Self.mailEnvironment(server, ["THREADLOG_DIGEST_TIMEOUT": "1"]))
            await election.release()
            #expect(beside.status == 1)
            #expect(
                beside.stdout.contains("another node is elected (a running service): it sends the digests"),
                "\(beside.stdout)")
            // (Log lines may precede it; the fault is the last line.)
            #expect(
                beside.stderr.hasSuffix(
                    "\nthreadlog: 5 digest mails for \(nextDay) are not delivered yet; the elected node (a running service) sends them\n"
                ),
                "\(beside.stderr)")
            #expect(try server.messages().count == 5)
            #expect(try Self.count(.digestScheduled, in: url) == 10)
            // Once the election is free, the next run sends them (once).
            let after = try run(
                threadlog, ["digest", "--store", url, "--data", node, "--date", nextDay],
                environment: Self.mailEnvironment(server))
            #expect(after.status == 0, "\(after.stderr)")
            #expect(
                after.stdout.hasSuffix("5 digests sent for \(nextDay); 5 already handled earlier\n"), "\(after.stdout)")
            #expect(try server.messages().count == 10)
            #expect(try Self.count(.digestSent, in: url) == 10)

            // Beside a running service (elected, on the first node) a run on the other node leaves today's
            // digests to the service, which decides them too (whichever decides first, each is decided
            // and mailed once), and reports their delivery.
            let today = Digests.day(of: Date())
            let service = try ServeProcess.start(
                data: node,
                environment: Self.mailEnvironment(
                    server, ["THREADLOG_STORE_URL": url, "THREADLOG_ADMIN_TOKEN": "pg-admin-token"]))
            defer { if service.process.isRunning { service.signal(SIGKILL) } }
            let electedBy = Date().addingTimeInterval(20)
            while !service.stdout.contains("elected: this node"), Date() < electedBy {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(service.stdout.contains("elected: this node"), "\(service.stdout) \(service.stderr)")
            let besideService = try run(
                threadlog, ["digest", "--store", url, "--data", other, "--date", today],
                environment: Self.mailEnvironment(server, ["THREADLOG_DIGEST_TIMEOUT": "30"]))
            #expect(besideService.status == 0, "\(besideService.stderr)")
            #expect(
                besideService.stdout.contains("another node is elected (a running service)"), "\(besideService.stdout)")
            #expect(
                besideService.stdout.contains("5 digests for \(today) delivered by the elected node"),
                "\(besideService.stdout)")
            let recordedBy = Date().addingTimeInterval(20)
            while try Self.count(.digestSent, in: url) < 15, Date() < recordedBy {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try Self.count(.digestScheduled, in: url) == 15)
            #expect(try Self.count(.digestSent, in: url) == 15)
            service.signal(SIGTERM)
            #expect(await service.waitForExit() == 0)
            #expect(try server.messages().count == 15)
        }
    }

    @Test(
        "a bad store URL or an unreachable server stops digest with one line, exit 1; --store without --data is a usage error"
    )
    func badStore() throws {
        let directory = try TempDirectory()
        let node = directory.sub("node")
        _ = try ViewStore.open(directory: node + "/views")
        let threadlog = productPath("threadlog")
        let cases: [(url: String, says: String)] = [
            ("postgres://127.0.0.1/threadlog", "bad store URL"),
            ("postgresql://postgres@127.0.0.1:1/threadlog", "cannot connect to PostgreSQL"),
        ]
        for (url, says) in cases {
            for extra in [[], ["--dry-run"]] {
                let arguments = ["digest", "--store", url, "--data", node, "--date", Self.day] + extra
                let result = try run(threadlog, arguments, environment: RetentionToolPostgresTests.toolEnvironment())
                #expect(result.status == 1, "\(arguments)")
                #expect(
                    result.stderr.hasPrefix("threadlog: \(says)") && result.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(result.stderr)")
            }
        }
        for arguments in [
            ["digest", "--store", "postgresql://postgres@127.0.0.1:1/threadlog"],
            ["digest", "--store", "postgresql://postgres@127.0.0.1:1/threadlog", "--dry-run"],
        ] {
            let noData = try run(threadlog, arguments, environment: RetentionToolPostgresTests.toolEnvironment())
            #expect(noData.status == 2, "\(arguments)")
            #expect(noData.stderr.contains("digest needs --data DIR"), "\(noData.stderr)")
        }
    }
}
