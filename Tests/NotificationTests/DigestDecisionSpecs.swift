import Messaging
import Testing

/// The digest deciders, without I/O: given the directory and the user's digest stream, when a digest
/// command comes, then these events.
@Suite("Digest decisions")
struct DigestDecisionSpecs {
    static let subject = Subject(kind: "contract", ref: "C-1")
    static let digest = DigestScheduled(user: "c1", subject: subject, day: "2026-11-23", threads: ["t1"], unread: 2)
    static let sent = DigestSent(
        user: "c1", subject: subject, day: "2026-11-23", messageID: "<threadlog.9.0@x.example>")

    static var directory: Directory {
        var directory = Directory()
        for (position, event) in [
            Event.partyCreated(PartyCreated(id: "acme", name: "Acme", kind: .external)),
            .userCreated(
                UserCreated(id: "c1", name: "Clara", email: "c@acme.example", party: "acme", roles: [], tokenHash: "")),
        ].enumerated() {
            directory = Directory.evolve(
                directory,
                Recorded(position: UInt64(position + 1), version: 1, timeMillis: 0, actor: "@admin", event: event))
        }
        return directory
    }

    static func decide(_ command: Command, given history: [Event], by actor: Actor = .admin) throws(DomainError)
        -> [Event]
    {
        let records = history.enumerated().map { index, event in
            Recorded(
                position: UInt64(10 + index), version: UInt64(index + 1), timeMillis: 0, actor: "@admin", event: event)
        }
        return try Decider.decide(
            command, context: CommandContext(now: 0, actor: actor), directory: directory,
            loaded: LoadedStreams([StreamName.digest("c1"): records]))
    }

    @Test func aDigestIsDecidedOncePerUserSubjectAndDay() throws {
        #expect(try Self.decide(.scheduleDigest(Self.digest), given: []) == [.digestScheduled(Self.digest)])
        #expect(try Self.decide(.scheduleDigest(Self.digest), given: [.digestScheduled(Self.digest)]).isEmpty)
        var nextDay = Self.digest
        nextDay.day = "2026-11-24"
        #expect(
            try Self.decide(.scheduleDigest(nextDay), given: [.digestScheduled(Self.digest)]) == [
                .digestScheduled(nextDay)
            ])
    }

    @Test func itsDeliveryIsRecordedOnceAndOnlyAfterTheDecision() throws {
        #expect(
            try Self.decide(.recordDigestSent(Self.sent), given: [.digestScheduled(Self.digest)]) == [
                .digestSent(Self.sent)
            ])
        #expect(
            try Self.decide(
                .recordDigestSent(Self.sent), given: [.digestScheduled(Self.digest), .digestSent(Self.sent)]
            ).isEmpty)
        #expect(throws: DomainError.self) { try Self.decide(.recordDigestSent(Self.sent), given: []) }
    }

    @Test func onlyTheAdministratorDecidesAndTheDayMustBeADate() {
        #expect(throws: DomainError.self) { try Self.decide(.scheduleDigest(Self.digest), given: [], by: .user("c1")) }
        var bad = Self.digest
        bad.day = "23.11.2026"
        #expect(throws: DomainError.self) { try Self.decide(.scheduleDigest(bad), given: []) }
        var stranger = Self.digest
        stranger.user = "nobody"
        #expect(throws: DomainError.unknownUser("nobody")) { try Self.decide(.scheduleDigest(stranger), given: []) }
    }

    @Test func theStreamIsTheUsersDigestStream() {
        #expect(Event.digestScheduled(Self.digest).stream == "digest-c1")
        #expect(Event.digestSent(Self.sent).threadID == nil)
        #expect(!EventType.digestScheduled.isDirectory && !EventType.digestSent.isDirectory)
        #expect(
            DigestScheduled.commandID(user: "c1", subject: Self.subject, day: "2026-11-23")
                == "digest:c1:contract:C-1:2026-11-23")
    }
}
