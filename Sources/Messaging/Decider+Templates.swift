import Foundation

extension Decider {
    /// The administrator and internal supervisors (role `supervisor`) set or remove one message template;
    /// the change is a `settings.changed` carrying the whole new template set. Setting a template to the
    /// text it has writes nothing; removing one that does not exist is refused.
    static func setMessageTemplate(
        _ name: String, text: String?, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        switch context.actor {
        case .admin:
            break
        case .user(let id):
            guard let user = directory.users[id], user.active, directory.isInternal(id),
                user.roles.contains(.supervisor)
            else { throw .notAllowed("only supervisors and the administrator manage message templates") }
        case .service:
            throw .notAllowed("only supervisors and the administrator manage message templates")
        }
        // The set as of the loaded settings stream, whose version the append expects: two changes at
        // once conflict instead of one undoing the other.
        var templates: [String: String] = [:]
        for recorded in loaded[StreamName.settings] {
            if case .settingsChanged(let patch) = recorded.event, let set = patch.messageTemplates { templates = set }
        }
        if let text {
            try validTemplate(name: name, text: text)
            guard templates[name] != text else { return [] }
            templates[name] = text
        } else {
            guard templates.removeValue(forKey: name) != nil else { throw .templateNotFound(name) }
        }
        return [.settingsChanged(SettingsPatch(messageTemplates: templates))]
    }

    /// A name of 1 to 100 characters, not blank; a text of 1 byte to 64 KiB, not blank.
    static func validTemplate(name: String, text: String) throws(DomainError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 100 else {
            throw .invalidSetting(field: "messageTemplates", reason: "a template name has 1 to 100 characters")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            text.utf8.count <= Settings.defaultMessageSizeLimit
        else {
            throw .invalidSetting(field: "messageTemplates.\(name)", reason: "a template text has 1 byte to 64 KiB")
        }
    }
}
