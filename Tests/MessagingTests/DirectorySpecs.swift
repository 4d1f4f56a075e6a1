import Messaging
import Testing

@Suite struct DirectorySpecs {
    let w = World.self

    @Test func adminCreatesAParty() {
        Spec.given([])
            .when(.createParty(id: "acme", name: " Acme ", kind: .external), by: .admin)
            .then([.partyCreated(PartyCreated(id: "acme", name: "Acme", kind: .external))])
    }

    @Test func onlyTheAdminManagesTheDirectory() {
        Spec.given(w.directory)
            .when(.createParty(id: "x", name: "X", kind: .external), by: .user(w.handler))
            .thenRefused(.notAllowed("only the administrator manages the directory"))
    }

    @Test func partyIDsAreUnique() {
        Spec.given(w.directory)
            .when(.createParty(id: w.acme, name: "Again", kind: .external), by: .admin)
            .thenRefused(.duplicateID("acme"))
    }

    @Test func identifiersUseANarrowCharacterSet() {
        Spec.given([])
            .when(.createParty(id: "a b", name: "X", kind: .external), by: .admin)
            .thenRefused(.invalidID("a b"))
    }

    @Test func namesMustNotBeBlank() {
        Spec.given([])
            .when(.createParty(id: "x", name: "  ", kind: .external), by: .admin)
            .thenRefused(.invalidName)
    }

    @Test func aUserBelongsToAPartyAndIsKnownByItsTokenHashOnly() {
        let command = Command.createUser(
            id: "u9", name: "Una", email: "una@example.com", party: w.acme, roles: ["client", "client"],
            tokenHash: w.hash)
        Spec.given(w.directory).when(command, by: .admin)
            .then([
                .userCreated(
                    UserCreated(
                        id: "u9", name: "Una", email: "una@example.com", party: w.acme, roles: ["client"],
                        tokenHash: w.hash))
            ])
    }

    @Test func userRefusals() {
        let spec = Spec.given(w.directory)
        func create(
            _ id: UserID = "u9", email: String = "u@example.com", party: PartyID = "acme",
            hash: String? = nil
        )
            -> Command
        {
            .createUser(
                id: id, name: "U", email: email, party: party, roles: [], tokenHash: hash ?? w.hash)
        }
        spec.when(create(party: "nobody"), by: .admin).thenRefused(.unknownParty("nobody"))
        spec.when(create(email: "not-an-address"), by: .admin).thenRefused(
            .invalidEmail("not-an-address"))
        spec.when(create(hash: "secret-token"), by: .admin).thenRefused(.invalidTokenHash)
        spec.when(create(hash: String(repeating: "AB", count: 32)), by: .admin).thenRefused(
            .invalidTokenHash)
        spec.when(create(w.client), by: .admin).thenRefused(.duplicateID("c1"))
    }

    @Test func serviceTokensTakeTheGeneratedID() {
        Spec.given([])
            .when(.createServiceToken(name: "Archive", tokenHash: w.hash), by: .admin, newID: "svc1")
            .then([
                .serviceTokenCreated(ServiceTokenCreated(id: "svc1", name: "Archive", tokenHash: w.hash))
            ])
    }

    @Test func structuresBelongToAKnownParty() {
        let spec = Spec.given(w.directory)
        spec.when(
            .createStructure(id: "team", name: "Team", party: w.op, shareHistory: true), by: .admin
        )
        .then([
            .structureCreated(StructureCreated(id: "team", name: "Team", party: w.op, shareHistory: true))
        ])
        spec.when(
            .createStructure(id: "team", name: "Team", party: "nobody", shareHistory: true), by: .admin
        )
        .thenRefused(.unknownParty("nobody"))
        spec.when(
            .createStructure(id: w.circle, name: "Again", party: w.acme, shareHistory: false), by: .admin
        )
        .thenRefused(.duplicateID("acme-circle"))
    }

    @Test func addingAMemberRecordsTheJoinOnceAndKeepsTheFirstPosition() {
        let spec = Spec.given(w.directory)
        spec.when(.addStructureMember(structure: w.circle, user: w.subcontractor), by: .admin)
            .then([
                .structureMemberAdded(StructureMemberAdded(structure: w.circle, user: w.subcontractor))
            ])
        // Already a member: nothing is written, so the join position does not move.
        spec.when(.addStructureMember(structure: w.circle, user: w.client), by: .admin).then([])
        spec.when(.addStructureMember(structure: "nope", user: w.client), by: .admin)
            .thenRefused(.unknownStructure("nope"))
        spec.when(.addStructureMember(structure: w.circle, user: "ghost"), by: .admin)
            .thenRefused(.unknownUser("ghost"))
    }

    @Test func removingAMember() {
        let spec = Spec.given(w.directory)
        spec.when(.removeStructureMember(structure: w.circle, user: w.client), by: .admin)
            .then([.structureMemberRemoved(StructureMemberRemoved(structure: w.circle, user: w.client))])
        spec.when(.removeStructureMember(structure: w.circle, user: w.client2), by: .admin)
            .thenRefused(.notAMember(structure: w.circle, user: w.client2))
    }

    @Test func categoriesNameKnownStructuresAndRecipients() {
        let spec = Spec.given(w.directory)
        spec.when(
            .createCategory(
                id: "bugs", name: "Bug report", handlerRoles: [.handler], structures: [w.circle],
                defaultRecipients: [w.supervisor]), by: .admin
        )
        .then([
            .categoryCreated(
                CategoryCreated(
                    id: "bugs", name: "Bug report", handlerRoles: [.handler], structures: [w.circle],
                    defaultRecipients: [w.supervisor]))
        ])
        spec.when(
            .createCategory(
                id: "bugs", name: "B", handlerRoles: [], structures: ["nope"], defaultRecipients: []),
            by: .admin
        ).thenRefused(.unknownStructure("nope"))
        spec.when(
            .createCategory(
                id: "bugs", name: "B", handlerRoles: [], structures: [], defaultRecipients: ["ghost"]),
            by: .admin
        ).thenRefused(.unknownUser("ghost"))
        spec.when(
            .createCategory(
                id: w.payrollCategory, name: "B", handlerRoles: [], structures: [], defaultRecipients: []),
            by: .admin
        ).thenRefused(.duplicateID("payroll"))
    }

    @Test func settingsHaveTheDocumentedDefaults() {
        let settings = Directory().settings
        #expect(settings.retentionDays == 1461)
        #expect(settings.messageSizeLimit == 65536)
        #expect(settings.digest.subjectTemplate == "New messages in Threadlog {{subject.ref}}")
        #expect(settings.defaultHandlerRoles == [.handler])
        #expect(settings.allowReopen)
        #expect(settings.attachmentsAllowed)
    }

    @Test func digestSettingsChangeFieldByFieldAndOldPatchesStillApply() throws {
        // A v2 patch named the time and the subject; read now, it changes just those.
        let v2 = try EventCodec.decode(
            type: "settings.changed", schemaVersion: 2,
            data: Array(#"{"digest":{"time":"06:15","subjectTemplate":"News {{subject.ref}}"}}"#.utf8))
        let first = Spec.given([v2]).directory.settings
        #expect(first.digest == DigestSettings(time: "06:15", subjectTemplate: "News {{subject.ref}}"))
        #expect(first.digest.enabled && first.digest.audience == [.internal, .outside])
        #expect(first.notificationsEnabled)
        let patch = SettingsPatch(
            digest: DigestPatch(bodyTemplate: "{{unread}} new", enabled: false, audience: ["outside"]),
            notificationsEnabled: false)
        let spec = Spec.given([.settingsChanged(patch), v2])
        #expect(
            spec.directory.settings.digest
                == DigestSettings(
                    time: "06:15", subjectTemplate: "News {{subject.ref}}", bodyTemplate: "{{unread}} new",
                    enabled: false, audience: [.outside]))
        #expect(!spec.directory.settings.notificationsEnabled)
        spec.when(.changeSettings(SettingsPatch(digest: DigestPatch())), by: .admin).then([])
        spec.when(.changeSettings(SettingsPatch(digest: DigestPatch(audience: ["supplier"]))), by: .admin)
            .thenRefused(
                .invalidSetting(
                    field: "digest.audience",
                    reason: "name each of internal, outside at most once, at least one (enabled: false sends none)"))
    }

    @Test func settingsChangeByPatch() {
        let patch = SettingsPatch(retentionDays: 30, allowReopen: false)
        let spec = Spec.given([]).when(.changeSettings(patch), by: .admin).then([
            .settingsChanged(patch)
        ])
        #expect(spec.directory.settings.retentionDays == 30)
        #expect(spec.directory.settings.allowReopen == false)
        #expect(spec.directory.settings.messageSizeLimit == 65536)
        Spec.given([]).when(.changeSettings(SettingsPatch()), by: .admin).then([])
    }

    @Test func invalidSettingsAreRefused() {
        let spec = Spec.given([])
        spec.when(.changeSettings(SettingsPatch(retentionDays: 0)), by: .admin)
            .thenRefused(
                .invalidSetting(field: "retentionDays", reason: "must be between 1 and 36500 days"))
        spec.when(.changeSettings(SettingsPatch(digest: DigestPatch(time: "25:00"))), by: .admin)
            .thenRefused(.invalidSetting(field: "digest.time", reason: "use HH:MM"))
        spec.when(
            .changeSettings(SettingsPatch(displayPolicy: DisplayPolicy(mode: .custom))), by: .admin
        )
        .thenRefused(.invalidSetting(field: "displayPolicy", reason: "custom mode needs a text"))
        spec.when(.changeSettings(SettingsPatch(messageSizeLimit: 0)), by: .admin)
            .thenRefused(
                .invalidSetting(field: "messageSizeLimit", reason: "must be between 1 and 4194304 bytes"))
        spec.when(.changeSettings(SettingsPatch(defaultHandlerRoles: [])), by: .admin)
            .thenRefused(
                .invalidSetting(field: "defaultHandlerRoles", reason: "needs at least one valid role"))
    }

    @Test func tokenHashesFindTheirPrincipal() {
        let spec = Spec.given([
            .partyCreated(PartyCreated(id: "p", name: "P", kind: .internal)),
            .userCreated(
                UserCreated(id: "u", name: "U", email: "u@x.io", party: "p", roles: [], tokenHash: w.hash)),
            .serviceTokenCreated(
                ServiceTokenCreated(id: "s", name: "S", tokenHash: String(repeating: "0", count: 64))),
        ])
        #expect(spec.directory.principal(withTokenHash: w.hash) == .user("u"))
        #expect(
            spec.directory.principal(withTokenHash: String(repeating: "0", count: 64)) == .service("s"))
        #expect(spec.directory.principal(withTokenHash: String(repeating: "1", count: 64)) == nil)
    }

    @Test func aReplacedUserTokenNoLongerFindsItsUser() {
        let fresh = String(repeating: "1e", count: 32)
        let spec = Spec.given(w.directory)
        spec.when(.replaceUserToken(user: w.client, tokenHash: fresh), by: .admin)
            .then([.userTokenReplaced(UserTokenReplaced(id: w.client, tokenHash: fresh))])
        spec.when(.replaceUserToken(user: "nobody", tokenHash: fresh), by: .admin).thenRefused(.unknownUser("nobody"))
        spec.when(.replaceUserToken(user: w.client, tokenHash: "secret"), by: .admin).thenRefused(.invalidTokenHash)
        spec.when(.replaceUserToken(user: w.client, tokenHash: fresh), by: .user(w.handler))
            .thenRefused(.notAllowed("only the administrator manages the directory"))

        let created: [Event] = [
            .partyCreated(PartyCreated(id: "p", name: "P", kind: .internal)),
            .userCreated(UserCreated(id: "u", name: "U", email: "u@x.io", party: "p", roles: [], tokenHash: w.hash)),
        ]
        let before = Spec.given(created).directory
        let after = Spec.given(created + [.userTokenReplaced(UserTokenReplaced(id: "u", tokenHash: fresh))]).directory
        #expect(before.principal(withTokenHash: w.hash) == .user("u"))
        #expect(after.principal(withTokenHash: w.hash) == nil)
        #expect(after.principal(withTokenHash: fresh) == .user("u"))
        #expect(after.tokenRevision == before.tokenRevision + 1)
    }

    @Test func aRevokedServiceTokenFindsNoOne() {
        let created: [Event] = [
            .serviceTokenCreated(ServiceTokenCreated(id: "svc1", name: "Archive", tokenHash: w.hash))
        ]
        let spec = Spec.given(created)
        spec.when(.revokeServiceToken("svc1"), by: .admin)
            .then([.serviceTokenRevoked(ServiceTokenRevoked(id: "svc1"))])
        spec.when(.revokeServiceToken("svc2"), by: .admin).thenRefused(.unknownService("svc2"))
        spec.when(.revokeServiceToken("svc1"), by: .service("svc1"))
            .thenRefused(.notAllowed("only the administrator manages the directory"))

        let revoked = Spec.given(created + [.serviceTokenRevoked(ServiceTokenRevoked(id: "svc1"))])
        #expect(spec.directory.principal(withTokenHash: w.hash) == .service("svc1"))
        #expect(revoked.directory.principal(withTokenHash: w.hash) == nil)
        revoked.when(.revokeServiceToken("svc1"), by: .admin).thenRefused(.unknownService("svc1"))
    }
}
