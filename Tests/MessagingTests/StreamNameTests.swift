import Messaging
import Testing

@Suite struct StreamNameTests {
    @Test func everyEventGoesToItsAggregatesStream() {
        let expected = [
            "party-acme", "user-c1", "service-svc-archive", "structure-acme-circle", "structure-acme-circle",
            "structure-acme-circle", "category-payroll", "settings", "thread-t1", "subject-contract-C-2024-0042",
            "tickets", "thread-t1", "thread-t1", "thread-t1", "thread-t1", "thread-t1", "thread-t1",
            "category-payroll", "thread-t1", "thread-t1", "thread-t1", "digest-c1", "digest-c1", "user-c1",
            "service-svc-archive", "blob-2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "subject-contract-C-2024-0042", "thread-t1", "user-c1", "user-c2", "thread-t1", "thread-t1",
        ]
        #expect(EventSamples.all.map(\.stream) == expected)
    }

    @Test func onlyDirectoryEventsAreDirectoryTypes() {
        let directoryTypes = EventType.allCases.filter(\.isDirectory).map(\.rawValue)
        #expect(
            directoryTypes == [
                "party.created", "user.created", "service.token_created", "structure.created",
                "structure.member_added", "structure.member_removed", "category.created", "settings.changed",
                "category.retention_set", "user.token_replaced", "service.token_revoked", "subject.declared",
                "user.updated", "user.deactivated",
            ])
    }

    @Test func actorsRoundTripThroughTheEnvelope() {
        for actor in [Actor.admin, .user("c1"), .service("svc.1")] {
            #expect(Actor(recordedValue: actor.recordedValue) == actor)
        }
        #expect(Actor.user("c1").recordedValue == "c1")
    }

    @Test func commandsNameTheStreamsToLoad() {
        let context = CommandContext(now: 0, actor: .user("c1"), newID: "t9")
        #expect(
            Command.openThread(OpenThread(subjectKind: "contract", subjectRef: "C-1", title: "T"))
                .streamsToLoad(context: context) == ["thread-t9", "subject-contract-C-1"])
        #expect(
            Command.openThread(OpenThread(subjectKind: "ticket", title: "T")).streamsToLoad(context: context)
                == ["thread-t9", "tickets"])
        #expect(
            Command.openThread(OpenThread(subjectKind: "request", subjectRef: "R", title: "T"))
                .streamsToLoad(context: context) == ["thread-t9"])
        #expect(Command.blockThread("t1").streamsToLoad(context: context) == ["thread-t1"])
        #expect(Command.changeSettings(SettingsPatch()).streamsToLoad(context: context) == ["settings"])
    }
}
