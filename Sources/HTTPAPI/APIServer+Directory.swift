import Engine
import Foundation
import Hummingbird
import Messaging

// The administrator's routes: parties, users, service tokens, structures, categories, settings.
extension APIServer {
    /// Declares (or declares again, replacing) the parties and structures a subject belongs to.
    func declareSubject(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(DeclareSubjectBody.self, request)
        let parties = (body.parties ?? []).map(PartyID.init(rawValue:))
        let structures = (body.structures ?? []).map(StructureID.init(rawValue:))
        let outcome = try await execute(
            .declareSubject(Subject(kind: body.kind, ref: body.ref), parties: parties, structures: structures),
            caller: caller, request: request)
        let ref = body.ref.trimmingCharacters(in: .whitespaces)
        let binding = try handler.currentDirectory().subjects[Subject(kind: body.kind, ref: ref)]
        return try json(
            DeclaredSubject(
                subject: SubjectDTO(kind: body.kind, ref: ref), parties: binding?.parties.map(\.rawValue) ?? [],
                structures: binding?.structures.map(\.rawValue) ?? [], position: outcome.position),
            position: outcome.position)
    }

    func createParty(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreatePartyBody.self, request)
        let outcome = try await execute(
            .createParty(id: PartyID(body.id), name: body.name, kind: body.kind), caller: caller, request: request)
        return try json(
            CreatedID(id: body.id, position: outcome.position), status: .created, position: outcome.position)
    }

    func createUser(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreateUserBody.self, request)
        let token = Tokens.generate()
        let outcome = try await execute(
            .createUser(
                id: UserID(body.id), name: body.name, email: body.email, party: PartyID(body.party),
                roles: body.roles.map(Role.init(rawValue:)), tokenHash: Tokens.hash(token)),
            caller: caller, request: request)
        try refuseRepeatedTokenCreation(outcome)
        return try json(
            CreatedToken(id: body.id, token: token, position: outcome.position), status: .created,
            position: outcome.position)
    }

    func createServiceToken(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(ServiceTokenBody.self, request)
        let token = Tokens.generate()
        let outcome = try await execute(
            .createServiceToken(name: body.name, tokenHash: Tokens.hash(token)), caller: caller, request: request)
        try refuseRepeatedTokenCreation(outcome)
        var id = ""
        for recorded in outcome.events {
            if case .serviceTokenCreated(let created) = recorded.event { id = created.id.rawValue }
        }
        return try json(
            CreatedToken(id: id, token: token, position: outcome.position), status: .created, position: outcome.position
        )
    }

    /// New values for a user's name, e-mail or roles.
    func updateUser(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let id = UserID(try parameter("id", route))
        let body = try await body(UpdateUserBody.self, request)
        let outcome = try await pathResource(
            .updateUser(id: id, name: body.name, email: body.email, roles: body.roles?.map(Role.init(rawValue:))),
            caller, request, missing: \.isUnknownUser)
        return try userAnswer(id, outcome)
    }

    /// The user's token stops working before the answer is sent; their name stays on their messages.
    func deactivateUser(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let id = UserID(try parameter("id", route))
        _ = try await body(EmptyBody.self, request)
        let outcome = try await pathResource(.deactivateUser(id), caller, request, missing: \.isUnknownUser)
        return try userAnswer(id, outcome)
    }

    private func userAnswer(_ id: UserID, _ outcome: CommandOutcome) throws -> Response {
        guard let user = try handler.currentDirectory().users[id] else { throw APIError.notFound }
        return try json(
            UserAnswer(
                id: id.rawValue, name: user.name, email: user.email, party: user.party.rawValue,
                roles: user.roles.map(\.rawValue), active: user.active, position: outcome.position),
            position: outcome.position)
    }

    /// A new token for a user, shown once; the old one stops working before the answer is sent.
    func replaceUserToken(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws
        -> Response
    {
        let user = try parameter("id", route)
        _ = try await body(EmptyBody.self, request)
        let token = Tokens.generate()
        let outcome = try await pathResource(
            .replaceUserToken(user: UserID(user), tokenHash: Tokens.hash(token)), caller, request,
            missing: \.isUnknownUser)
        try refuseRepeatedTokenCreation(outcome)
        return try json(CreatedToken(id: user, token: token, position: outcome.position), position: outcome.position)
    }

    /// Revokes a service principal's token; it stops working before the answer is sent.
    func revokeServiceToken(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws
        -> Response
    {
        let id = try parameter("id", route)
        let outcome = try await pathResource(
            .revokeServiceToken(ServiceID(id)), caller, request, missing: \.isUnknownService)
        return try json(CreatedID(id: id, position: outcome.position), position: outcome.position)
    }

    /// A token is shown once: a repeated idempotent request cannot show the first one again.
    private func refuseRepeatedTokenCreation(_ outcome: CommandOutcome) throws {
        if outcome.deduplicated {
            throw APIError(
                status: .conflict, code: "already_created",
                message: "This Idempotency-Key already issued a token; it was shown once.")
        }
    }

    func createStructure(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreateStructureBody.self, request)
        let outcome = try await execute(
            .createStructure(
                id: StructureID(body.id), name: body.name, party: PartyID(body.party),
                shareHistory: body.shareHistory ?? false),
            caller: caller, request: request)
        return try json(
            CreatedID(id: body.id, position: outcome.position), status: .created, position: outcome.position)
    }

    func addStructureMember(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws
        -> Response
    {
        let structure = try parameter("id", route)
        let body = try await body(AddMemberBody.self, request)
        let outcome = try await pathResource(
            .addStructureMember(structure: StructureID(structure), user: UserID(body.user)), caller, request,
            missing: \.isUnknownStructure)
        return try json(
            MemberAnswer(structure: structure, user: body.user, position: outcome.position), status: .created,
            position: outcome.position)
    }

    func removeStructureMember(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws
        -> Response
    {
        let structure = try parameter("id", route)
        let user = try parameter("user", route)
        let outcome = try await pathResource(
            .removeStructureMember(structure: StructureID(structure), user: UserID(user)), caller, request,
            missing: \.isUnknownStructure)
        return try json(
            MemberAnswer(structure: structure, user: user, position: outcome.position), position: outcome.position)
    }

    /// The structure, user or service principal named in the path is the resource: when it does not
    /// exist the answer is 404 (`missing` tells that refusal from others, such as an unknown user in
    /// the body, which stay 422).
    private func pathResource(
        _ command: Command, _ caller: Caller, _ request: Request, missing: (DomainError) -> Bool
    ) async throws -> CommandOutcome {
        do {
            return try await execute(command, caller: caller, request: request)
        } catch let error as DomainError where missing(error) {
            throw APIError(status: .notFound, code: "not_found", message: error.message)
        }
    }

    /// The administrator places or releases a legal hold: a held thread is not purged.
    func setLegalHold(_ caller: Caller, _ request: Request, _ route: MatchedRoute, hold: Bool) async throws
        -> Response
    {
        let thread = ThreadID(try parameter("id", route))
        let command: Command
        if hold {
            let body = try await body(LegalHoldBody.self, request)
            command = .placeLegalHold(thread: thread, reason: body.reason)
        } else {
            _ = try await body(EmptyBody.self, request)
            command = .releaseLegalHold(thread: thread)
        }
        let outcome = try await execute(command, caller: caller, request: request)
        return try json(
            LegalHoldAnswer(id: thread.rawValue, legalHold: hold, position: outcome.position), position: outcome.position)
    }

    /// A category's own retention period; `days: null` returns it to the deployment's.
    func setCategoryRetention(_ caller: Caller, _ request: Request, _ route: MatchedRoute) async throws -> Response {
        let category = try parameter("id", route)
        let body = try await body(CategoryRetentionBody.self, request)
        let outcome = try await pathResource(
            .setCategoryRetention(category: CategoryID(category), days: body.days), caller, request,
            missing: \.isUnknownCategory)
        return try json(
            CategoryRetentionAnswer(id: category, days: body.days, position: outcome.position),
            position: outcome.position)
    }

    func createCategory(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(CreateCategoryBody.self, request)
        let outcome = try await execute(
            .createCategory(
                id: CategoryID(body.id), name: body.name, handlerRoles: body.handlerRoles.map(Role.init(rawValue:)),
                structures: (body.structures ?? []).map(StructureID.init(rawValue:)),
                defaultRecipients: (body.defaultRecipients ?? []).map(UserID.init(rawValue:))),
            caller: caller, request: request)
        return try json(
            CreatedID(id: body.id, position: outcome.position), status: .created, position: outcome.position)
    }

    func putSettings(_ caller: Caller, _ request: Request) async throws -> Response {
        let body = try await body(SettingsBody.self, request)
        let outcome = try await execute(.changeSettings(body.patch), caller: caller, request: request)
        return try json(SettingsBody(try handler.currentDirectory().settings), position: outcome.position)
    }

    /// `PUT /v1/templates/{name}` `{"text": "…"}` and `DELETE /v1/templates/{name}`: supervisors and the
    /// administrator; answers `{name, text, position}` (no `text` after a removal).
    func setTemplate(_ caller: Caller, _ request: Request, _ route: MatchedRoute, remove: Bool) async throws -> Response {
        guard let name = try parameter("name", route).removingPercentEncoding else {
            throw APIError.unprocessable("invalid_parameter", "The template name is not valid percent-encoded UTF-8.")
        }
        let text = remove ? nil : try await body(TemplateBody.self, request).text
        let outcome = try await execute(.setMessageTemplate(name: name, text: text), caller: caller, request: request)
        return try json(TemplateAnswer(name: name, text: text, position: outcome.position), position: outcome.position)
    }
}

extension DomainError {
    fileprivate var isUnknownStructure: Bool { if case .unknownStructure = self { true } else { false } }
    fileprivate var isUnknownUser: Bool { if case .unknownUser = self { true } else { false } }
    fileprivate var isUnknownService: Bool { if case .unknownService = self { true } else { false } }
    fileprivate var isUnknownCategory: Bool { if case .unknownCategory = self { true } else { false } }
}
