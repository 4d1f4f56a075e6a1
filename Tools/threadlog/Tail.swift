import ArgumentParser
import Engine
import EventFeed
import EventLog
import Foundation

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events as NDJSON, one envelope a line, from a position on.",
        discussion: """
            Reads the log of a data directory, or with --url and --token the event feed of a running \
            service. With --follow, waits for new events until interrupted (a local log is polled; a \
            service's live stream is followed and resumed after the last event seen when it drops).
            """
    )

    @OptionGroup var options: DataOptions

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The base URL of a running service, e.g. http://127.0.0.1:8080 (instead of --data).")
    var url: String?

    @Option(help: "A service token (or the admin token) for --url.")
    var token: String?

    @Option(help: "The first position to print.")
    var from: UInt64 = 1

    @Flag(help: "Keep waiting for new events.")
    var follow = false

    @Option(help: "Print only events of this type (repeatable).")
    var type: [String] = []

    @Option(help: "Take events as a member of this consumer group (with --url): each printed event is acknowledged.")
    var group: String?

    @Option(help: "The member name within --group (default: the host name and process id).")
    var member: String?

    func validate() throws {
        if url != nil && options.data != nil { throw ValidationError("give either --data or --url, not both") }
        if url != nil && storeOptions.store != nil { throw ValidationError("give either --store or --url, not both") }
        try storeOptions.validate(data: options)
        if url != nil && token == nil { throw ValidationError("--url needs --token") }
        if url == nil && token != nil { throw ValidationError("--token goes with --url") }
        if group != nil && url == nil { throw ValidationError("--group needs --url") }
        if member != nil && group == nil { throw ValidationError("--member goes with --group") }
    }

    func run() async throws {
        if let url, let token, let group {
            try await runGroup(url: url, token: token, group: group)
            return
        }
        if let url, let token {
            try await runRemote(url: url, token: token)
            return
        }
        let log = try storeOptions.openLog(data: options)
        defer { log.close() }
        let types = Set(type)
        var out = StandardOutput()
        var line: [UInt8] = []
        line.reserveCapacity(4096)
        func emit(_ event: RecordedEvent) {
            guard types.isEmpty || types.contains(event.type) else { return }
            line.removeAll(keepingCapacity: true)
            event.appendEnvelope(to: &line)
            line.append(UInt8(ascii: "\n"))
            out.write(line)
        }
        if !follow {
            try log.forEachEvent(from: max(from, 1)) { event in
                emit(event)
                return true
            }
            out.flush()
            return
        }
        out.flush()
        // Signal handlers are not installed: SIGINT ends the process, as a user of `tail -f` expects.
        var iterator = log.subscribe(after: max(from, 1) - 1).makeAsyncIterator()
        while let event = try await iterator.next() {
            emit(event)
            out.flush()
        }
    }

    /// Pages `GET /v1/events`; with --follow, the live stream, reconnecting with `Last-Event-ID`.
    private func runRemote(url: String, token: String) async throws {
        let endpoint = try EventFeedClient.Endpoint(url: url)
        let types = Set(type)
        var out = StandardOutput()
        func emit(_ envelope: [UInt8], type eventType: String?) {
            if !types.isEmpty {
                guard let eventType = eventType ?? Self.type(of: envelope), types.contains(eventType) else { return }
            }
            out.write(envelope + [UInt8(ascii: "\n")])
        }
        if !follow {
            var next = max(from, 1)
            while true {
                let page: (envelopes: [[UInt8]], next: UInt64)
                do {
                    page = try await EventFeedClient.page(endpoint, token: token, from: next)
                } catch let failure as EventFeedClient.Failure {
                    throw ToolFailure(failure.description)
                }
                if page.envelopes.isEmpty { break }
                for envelope in page.envelopes { emit(envelope, type: nil) }
                next = page.next
            }
            out.flush()
            return
        }
        var last = max(from, 1) - 1
        var connectedOnce = false
        while true {
            do {
                last = try await EventFeedClient.stream(endpoint, token: token, after: last) { item in
                    connectedOnce = true
                    if case .event(let position, let eventType, let envelope) = item {
                        last = position
                        emit(envelope, type: eventType)
                        out.flush()
                    }
                    return true
                }
            } catch let failure as EventFeedClient.Failure {
                // A refusal (bad token, bad position) will not heal; a dropped connection may.
                if failure.status != nil || !connectedOnce { throw ToolFailure(failure.description) }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Takes a consumer group's events as one member: prints each batch, flushes, then acknowledges
    /// it, so an event is acknowledged only once it is out. Without --follow, stops when the group has
    /// nothing more for this member.
    private func runGroup(url: String, token: String, group: String) async throws {
        let endpoint = try EventFeedClient.Endpoint(url: url)
        let member = self.member ?? "\(ProcessInfo.processInfo.hostName.prefix(40))-\(getpid())"
            .map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.reduce(into: "") { $0.append($1) }
        let types = Set(type)
        var out = StandardOutput()
        while true {
            let envelopes: [[UInt8]]
            do {
                envelopes = try await EventFeedClient.groupPoll(
                    endpoint, token: token, group: group, member: member, waitSeconds: follow ? 10 : 0)
            } catch let failure as EventFeedClient.Failure {
                if failure.status != nil || !follow { throw ToolFailure(failure.description) }
                try await Task.sleep(for: .seconds(1))
                continue
            }
            if envelopes.isEmpty {
                if follow { continue }
                out.flush()
                return
            }
            var positions: [UInt64] = []
            for envelope in envelopes {
                if let position = EventFeedClient.position(of: envelope) { positions.append(position) }
                if !types.isEmpty {
                    guard let eventType = Self.type(of: envelope), types.contains(eventType) else { continue }
                }
                out.write(envelope + [UInt8(ascii: "\n")])
            }
            out.flush()
            do {
                try await EventFeedClient.groupAck(endpoint, token: token, group: group, member: member, positions: positions)
            } catch let failure as EventFeedClient.Failure {
                // Unacknowledged events come again (to this member or another): at-least-once.
                if failure.status != nil || !follow { throw ToolFailure(failure.description) }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The envelope's `type`, read without decoding: its fields come in a fixed order, so the first
    /// `"type":` is the envelope's own.
    static func type(of envelope: [UInt8]) -> String? {
        let marker = Array(#","type":""#.utf8)
        guard envelope.count > marker.count else { return nil }
        for start in 0...(envelope.count - marker.count)
        where envelope[start..<start + marker.count].elementsEqual(marker) {
            let rest = envelope[(start + marker.count)...]
            guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return String(decoding: rest[..<end], as: UTF8.self)
        }
        return nil
    }
}
