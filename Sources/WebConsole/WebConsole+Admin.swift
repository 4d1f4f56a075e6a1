import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Messaging

// The administration pages: parties, users and their tokens, structures and their members,
// categories, and the deployment's settings. Every change is the same command as the API's, run as
// the administrator through the same command handler, so the same rules refuse the same things.
extension WebConsole {
    /// The administrator session's routes; a user's page (the inbox, a thread) is not theirs.
    func adminRoute(_ parts: [String], _ visit: Visit, _ session: ConsoleSession) async throws -> Response {
        let get = visit.request.method == .get || visit.request.method == .head
        let post = visit.request.method == .post
        switch (parts.first ?? "", parts.count) {
        case ("admin", 1) where get: return Self.redirect("/admin/users")
        case ("operations", 1) where get: return try await operationsPage(visit)
        case ("operations", 4) where post && parts[1] == "outbox" && parts[3] == "resend":
            _ = try await checkedForm(visit, session)
            return try await resendMail(parts[2], visit)
        case ("admin", 2) where get:
            return try adminPage(parts[1], visit)
        case ("admin", _) where post:
            let form = try await checkedForm(visit, session)
            return try await adminAction(Array(parts.dropFirst()), form, visit)
        default: throw ConsoleRefusal.notFound
        }
    }

    func adminPage(
        _ name: String, _ visit: Visit, form: FormData? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok, notice: String? = nil
    ) throws -> Response {
        let directory = try handler.currentDirectory()
        let labels = visit.labels
        var context: [String: Any] = [
            "hasError": error != nil, "error": error ?? "", "hasNotice": notice != nil, "notice": notice ?? "",
            "f": form?.fields ?? [:],
        ]
        let parties = directory.parties.values.sorted { $0.id.rawValue < $1.id.rawValue }
        let users = directory.users.values.sorted { $0.id.rawValue < $1.id.rawValue }
        context["partyOptions"] = parties.map { party in
            ["value": party.id.rawValue, "label": party.name, "selected": form?["party"] == party.id.rawValue]
                as [String: Any]
        }
        context["userOptions"] = users.filter(\.active).map {
            ["value": $0.id.rawValue, "label": "\($0.name) (\($0.id.rawValue))"]
        }
        let template: String
        switch name {
        case "parties":
            template = "adminParties"
            context["parties"] = parties.map { party in
                [
                    "id": party.id.rawValue, "name": party.name,
                    "kindLabel": labels.value("party", party.kind.rawValue),
                    "users": users.filter { $0.party == party.id }.count,
                ] as [String: Any]
            }
            context["kinds"] = Self.options(
                ["internal", "external"], "party", selected: form?["kind"] ?? "external", labels)
        case "users":
            template = "adminUsers"
            context["users"] = users.map { user in
                [
                    "id": user.id.rawValue, "name": user.name, "email": user.email,
                    "party": directory.parties[user.party]?.name ?? user.party.rawValue,
                    "roles": user.roles.map(\.rawValue).joined(separator: ", "), "active": user.active,
                ] as [String: Any]
            }
        case "structures":
            template = "adminStructures"
            context["structures"] = directory.structures.values.sorted { $0.id.rawValue < $1.id.rawValue }.map {
                structure in
                [
                    "sid": structure.id.rawValue, "name": structure.name,
                    "party": directory.parties[structure.party]?.name ?? structure.party.rawValue,
                    "shareHistory": structure.shareHistory,
                    "members": structure.members.keys.sorted { $0.rawValue < $1.rawValue }.map { member in
                        ["id": member.rawValue, "name": directory.users[member]?.name ?? member.rawValue]
                    },
                    "hasMembers": !structure.members.isEmpty,
                ] as [String: Any]
            }
        case "categories":
            template = "adminCategories"
            context["categories"] = directory.categories.values.sorted { $0.id.rawValue < $1.id.rawValue }.map {
                category in
                [
                    "id": category.id.rawValue, "name": category.name,
                    "handlerRoles": category.handlerRoles.map(\.rawValue).joined(separator: ", "),
                    "structures": category.structures.map(\.rawValue).joined(separator: ", "),
                    "defaultRecipients": category.defaultRecipients.map(\.rawValue).joined(separator: ", "),
                    "retention": category.retentionDays.map(String.init) ?? "—",
                ] as [String: Any]
            }
        case "settings":
            template = "adminSettings"
            context.merge(Self.settingsContext(directory.settings, form: form, labels)) { _, new in new }
        default: throw ConsoleRefusal.notFound
        }
        context["section_" + name] = true
        return page(template, title: labels["admin_" + name], context, visit, status: status)
    }

    /// A posted administration form: one command, then the page again (or, for a token, the page that
    /// shows it once). A refusal shows the page with what was typed and the reason, changing nothing.
    func adminAction(_ parts: [String], _ form: FormData, _ visit: Visit) async throws -> Response {
        let labels = visit.labels
        let section = parts.first ?? ""
        do {
            switch (section, parts.count) {
            case ("parties", 1):
                guard let kind = form.text("kind").flatMap(PartyKind.init(rawValue:)) else {
                    throw ConsoleInputError(labels["admin_bad_kind"])
                }
                try await admin(
                    .createParty(id: PartyID(form.text("id") ?? ""), name: form.text("name") ?? "", kind: kind))
                return Self.redirect("/admin/parties")
            case ("users", 1):
                let token = SessionStore.randomToken()
                let id = form.text("id") ?? ""
                try await admin(
                    .createUser(
                        id: UserID(id), name: form.text("name") ?? "", email: form.text("email") ?? "",
                        party: PartyID(form.text("party") ?? ""),
                        roles: Self.list(form["roles"]).map(Role.init(rawValue:)),
                        tokenHash: Self.tokenHash(token)))
                return tokenPage(user: id, token: token, created: true, visit)
            case ("users", 3) where parts[2] == "token":
                let token = SessionStore.randomToken()
                try await admin(.replaceUserToken(user: UserID(parts[1]), tokenHash: Self.tokenHash(token)))
                return tokenPage(user: parts[1], token: token, created: false, visit)
            case ("structures", 1):
                try await admin(
                    .createStructure(
                        id: StructureID(form.text("id") ?? ""), name: form.text("name") ?? "",
                        party: PartyID(form.text("party") ?? ""), shareHistory: form["shareHistory"] == "on"))
                return Self.redirect("/admin/structures")
            case ("structures", 3) where parts[2] == "members":
                try await admin(
                    .addStructureMember(structure: StructureID(parts[1]), user: UserID(form.text("user") ?? "")))
                return Self.redirect("/admin/structures")
            case ("structures", 4) where parts[2] == "members" && parts[3] == "remove":
                try await admin(
                    .removeStructureMember(structure: StructureID(parts[1]), user: UserID(form.text("user") ?? "")))
                return Self.redirect("/admin/structures")
            case ("categories", 1):
                try await admin(
                    .createCategory(
                        id: CategoryID(form.text("id") ?? ""), name: form.text("name") ?? "",
                        handlerRoles: Self.list(form["handlerRoles"]).map(Role.init(rawValue:)),
                        structures: Self.list(form["structures"]).map(StructureID.init(rawValue:)),
                        defaultRecipients: Self.list(form["defaultRecipients"]).map(UserID.init(rawValue:))))
                return Self.redirect("/admin/categories")
            case ("settings", 2):
                try await admin(.changeSettings(try Self.settingsPatch(parts[1], form, labels)))
                return try adminPage("settings", visit, notice: labels["admin_saved"])
            default: throw ConsoleRefusal.notFound
            }
        } catch let error as DomainError {
            if case .notAllowed = error { throw error }
            return try adminPage(
                section, visit, form: form, error: Self.localized(error, labels), status: .unprocessableContent)
        } catch let error as ConsoleInputError {
            return try adminPage(section, visit, form: form, error: error.text, status: .unprocessableContent)
        }
    }

    /// Runs a command as the administrator, as the API does for the admin token.
    @discardableResult
    func admin(_ command: Command) async throws -> CommandOutcome {
        try await handler.handle(command, actor: .admin)
    }

    /// The one page that shows a new token; it is not kept anywhere and cannot be shown again.
    func tokenPage(user: String, token: String, created: Bool, _ visit: Visit) -> Response {
        let labels = visit.labels
        return page(
            "adminToken", title: labels[created ? "admin_user_created" : "admin_token_replaced"],
            ["user": user, "token": token, "created": created, "section_users": true], visit,
            status: created ? .created : .ok)
    }

    /// `a, b c` as `[a, b, c]`.
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }

    // MARK: Settings

    static let displayModes = DisplayPolicy.Mode.allCases.map(\.rawValue)

    static func settingsContext(_ settings: Settings, form: FormData?, _ labels: Labels) -> [String: Any] {
        func json<T: Encodable>(_ value: T) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        func value(_ name: String, _ current: String) -> String { form?[name] ?? current }
        return [
            "modes": options(
                displayModes, "mode", selected: value("mode", settings.displayPolicy.mode.rawValue), labels),
            "customText": value("text", settings.displayPolicy.text ?? ""),
            "digestTime": value("time", settings.digest.time),
            "digestSubject": value("subjectTemplate", settings.digest.subjectTemplate),
            "digestBody": value("bodyTemplate", settings.digest.bodyTemplate),
            "digestEnabled": settings.digest.enabled,
            "digestInternal": settings.digest.audience.contains(.internal),
            "digestOutside": settings.digest.audience.contains(.outside),
            "notificationsEnabled": settings.notificationsEnabled,
            "retentionDays": value("days", String(settings.retentionDays)),
            "allowReopen": settings.allowReopen, "attachmentsAllowed": settings.attachmentsAllowed,
            "messageSizeLimit": value("messageSizeLimit", String(settings.messageSizeLimit)),
            "defaultHandlerRoles": value(
                "defaultHandlerRoles", settings.defaultHandlerRoles.map(\.rawValue).joined(separator: ", ")),
            "templatesJSON": value("templates", json(settings.messageTemplates)),
            "partyPoliciesJSON": value(
                "partyPolicies",
                json(
                    Dictionary(uniqueKeysWithValues: settings.partyDisplayPolicies.map { ($0.key.rawValue, $0.value) }))
            ),
            "notificationsJSON": value("notifications", json(settings.notifications)),
            "triggers": NotificationRule.Trigger.allCases.map(\.rawValue).joined(separator: ", "),
            "recipients": NotificationRule.Recipient.allCases.map(\.rawValue).joined(separator: ", "),
        ]
    }

    /// The patch of one settings form; a value the form cannot turn into a setting is refused here,
    /// one the domain refuses is refused by the command.
    static func settingsPatch(_ group: String, _ form: FormData, _ labels: Labels) throws -> SettingsPatch {
        func number(_ name: String) throws -> Int {
            guard let text = form.text(name), let value = Int(text) else {
                throw ConsoleInputError(labels["admin_bad_number"].replacingOccurrences(of: "{field}", with: name))
            }
            return value
        }
        func decoded<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
            do {
                return try JSONDecoder().decode(type, from: Data((form[name] ?? "").utf8))
            } catch {
                throw ConsoleInputError(labels["admin_bad_json"].replacingOccurrences(of: "{field}", with: name))
            }
        }
        switch group {
        case "display":
            guard let mode = form.text("mode").flatMap(DisplayPolicy.Mode.init(rawValue:)) else {
                throw ConsoleInputError(labels["admin_bad_mode"])
            }
            return SettingsPatch(
                displayPolicy: DisplayPolicy(mode: mode, text: mode == .custom ? form.text("text") : nil))
        case "digest":
            let audience = DigestAudience.allCases.filter {
                form[$0 == .internal ? "audienceInternal" : "audienceOutside"] == "on"
            }
            return SettingsPatch(
                digest: DigestPatch(
                    time: form.text("time") ?? "", subjectTemplate: form["subjectTemplate"] ?? "",
                    bodyTemplate: form["bodyTemplate"].map { $0.replacingOccurrences(of: "\r\n", with: "\n") },
                    enabled: form["enabled"] == "on", audience: audience.map(\.rawValue)))
        case "retention":
            return SettingsPatch(retentionDays: try number("days"))
        case "messages":
            return SettingsPatch(
                allowReopen: form["allowReopen"] == "on", messageSizeLimit: try number("messageSizeLimit"),
                attachmentsAllowed: form["attachmentsAllowed"] == "on",
                defaultHandlerRoles: list(form["defaultHandlerRoles"]).map(Role.init(rawValue:)))
        case "templates":
            return SettingsPatch(
                messageTemplates: try decoded([String: String].self, "templates")
                    .mapValues { $0.replacingOccurrences(of: "\r\n", with: "\n") })
        case "partyPolicies":
            let policies = try decoded([String: DisplayPolicy].self, "partyPolicies")
            return SettingsPatch(
                partyDisplayPolicies: Dictionary(uniqueKeysWithValues: policies.map { (PartyID($0.key), $0.value) }))
        case "notifications":
            return SettingsPatch(
                notifications: try decoded([NotificationRule].self, "notifications"),
                notificationsEnabled: form["notificationsEnabled"] == "on")
        default: throw ConsoleRefusal.notFound
        }
    }

    /// The domain's refusals of administration commands in the visitor's language; any other in the
    /// domain's own words.
    static func localized(_ error: DomainError, _ labels: Labels) -> String {
        func fill(_ key: String, _ values: [String: String]) -> String {
            values.reduce(labels[key]) { text, pair in text.replacingOccurrences(of: "{\(pair.key)}", with: pair.value)
            }
        }
        switch error {
        case .duplicateID(let id): return fill("error_duplicate_id", ["id": id])
        case .invalidID(let id): return fill("error_invalid_id", ["id": id])
        case .invalidName: return labels["error_invalid_name"]
        case .invalidEmail(let email): return fill("error_invalid_email", ["email": email])
        case .unknownParty(let id): return fill("error_unknown_party", ["id": id.rawValue])
        case .unknownUser(let id): return fill("error_unknown_user", ["id": id.rawValue])
        case .unknownStructure(let id): return fill("error_unknown_structure", ["id": id.rawValue])
        case .unknownCategory(let id): return fill("error_unknown_category", ["id": id.rawValue])
        case .notAMember(_, let user): return fill("error_not_a_member", ["id": user.rawValue])
        case .invalidSetting(let field, let reason):
            return fill("error_invalid_setting", ["field": field, "reason": reason])
        default: return error.message
        }
    }
}

/// A form value the console cannot turn into a command (not a number, not JSON), in the visitor's words.
struct ConsoleInputError: Error {
    var text: String
    init(_ text: String) { self.text = text }
}
