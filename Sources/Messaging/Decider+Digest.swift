extension Decider {
    /// The digest job acts as the administrator. Deciding a digest twice, or recording its delivery
    /// twice, writes nothing the second time.
    static func scheduleDigest(
        _ digest: DigestScheduled, context: CommandContext, directory: Directory, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard directory.users[digest.user] != nil else { throw .unknownUser(digest.user) }
        guard DigestScheduled.isValidDay(digest.day) else {
            throw .invalidSetting(field: "digest.day", reason: "must be a date like 2030-01-31")
        }
        // Digests switched off, or not for the user's side: nothing is decided.
        let settings = directory.settings.digest
        guard settings.enabled, settings.reaches(digest.user, in: directory) else { return [] }
        let ledger = DigestLedger.fold(loaded[StreamName.digest(digest.user)])
        guard ledger.scheduled[DigestLedger.Key(subject: digest.subject, day: digest.day)] == nil else { return [] }
        return [.digestScheduled(digest)]
    }

    static func recordDigestSent(
        _ sent: DigestSent, context: CommandContext, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        let ledger = DigestLedger.fold(loaded[StreamName.digest(sent.user)])
        let key = DigestLedger.Key(subject: sent.subject, day: sent.day)
        guard ledger.scheduled[key] != nil else {
            throw .invalidSetting(field: "digest", reason: "no digest was scheduled for this user, subject and day")
        }
        guard ledger.sent[key] == nil else { return [] }
        return [.digestSent(sent)]
    }
}
