import Foundation

/// One pure step that rewrites a payload of schema version `v` into version `v + 1`.
public typealias Upcaster = @Sendable (JSONValue) -> JSONValue

/// The upcaster chain. A new schema version of a type adds exactly one step here, keyed by the
/// version it starts from; steps are never changed once released, because stored payloads and the
/// golden examples depend on them.
public enum Upcasters {
    public static func step(_ type: EventType, from version: UInt16) -> Upcaster? {
        steps[type]?[version]
    }

    static let steps: [EventType: [UInt16: Upcaster]] = [
        .messagePosted: [1: messagePostedV1toV2, 2: messagePostedV2toV3],
        .settingsChanged: [1: settingsChangedV1toV2, 2: settingsChangedV2toV3],
        .threadStatusChanged: [1: threadStatusChangedV1toV2],
        .threadOpened: [1: threadOpenedV1toV2],
        .threadPurged: [1: threadPurgedV1toV2],
    ]

    /// `thread.purged` v2 carries `attachments`, the digests of the thread's attachment files, and may
    /// carry `roles`; a v1 purge named no attachments (its files were deleted by the node that ran
    /// retention only) and no roles.
    static let threadPurgedV1toV2: Upcaster = { payload in
        var payload = payload
        if payload["attachments"] == nil { payload["attachments"] = .array([]) }
        return payload
    }

    /// `thread.opened` v2 may carry `roles`; a v1 opening added none.
    static let threadOpenedV1toV2: Upcaster = { payload in payload }

    /// `thread.status_changed` v2 may carry the reason `handlerAction`; v1 payloads are valid v2.
    static let threadStatusChangedV1toV2: Upcaster = { payload in payload }

    /// `settings.changed` v2 may carry `messageTemplates`; a v1 patch simply did not change them.
    static let settingsChangedV1toV2: Upcaster = { payload in payload }

    /// `settings.changed` v3 may carry `notificationsEnabled` and a digest naming only the fields it
    /// changes (with `enabled`, `bodyTemplate`, `audience`); a v2 digest named `time` and
    /// `subjectTemplate` both, which v3 reads as changing just those.
    static let settingsChangedV2toV3: Upcaster = { payload in payload }

    /// `message.posted` v3 may carry `concerning` and `template`; a v2 payload had neither.
    static let messagePostedV2toV3: Upcaster = { payload in payload }

    /// `message.posted` v2 added `format`; everything written before was plain text.
    static let messagePostedV1toV2: Upcaster = { payload in
        var payload = payload
        if payload["format"] == nil { payload["format"] = .string(MessageFormat.plain.rawValue) }
        return payload
    }
}
