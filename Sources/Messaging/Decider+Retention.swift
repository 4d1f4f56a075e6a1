extension Decider {
    static func setCategoryRetention(
        _ category: CategoryID, days: Int?, context: CommandContext, directory: Directory
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        guard directory.categories[category] != nil else { throw .unknownCategory(category) }
        if let days, !(1...36_500).contains(days) {
            throw .invalidSetting(field: "retention.days", reason: "must be between 1 and 36500 days")
        }
        return [.categoryRetentionSet(CategoryRetentionSet(category: category, days: days))]
    }

    /// The administrator's thread: every thread exists for them, so a missing one is simply not found.
    static func existingThread(_ id: ThreadID, loaded: LoadedStreams) throws(DomainError) -> ThreadState {
        guard let thread = loaded.thread(id) else { throw .threadNotFound(id) }
        return thread
    }

    static func setLegalHold(
        _ hold: Bool, reason: String, thread id: ThreadID, context: CommandContext, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        let thread = try existingThread(id, loaded: loaded)
        guard !thread.isPurged else { throw .threadPurged(id) }
        guard thread.legalHold != hold else { return [] }
        return hold
            ? [.legalHoldPlaced(LegalHoldPlaced(thread: id, reason: reason))]
            : [.legalHoldReleased(LegalHoldReleased(thread: id))]
    }

    static func purgeThread(
        _ id: ThreadID, reason: String, context: CommandContext, loaded: LoadedStreams
    ) throws(DomainError) -> [Event] {
        try requireAdmin(context)
        let thread = try existingThread(id, loaded: loaded)
        guard !thread.legalHold else { throw .legalHold(id) }
        // Purging twice changes nothing: the first purge is the audit record.
        guard !thread.isPurged else { return [] }
        let attachments = Set(thread.messages.flatMap { $0.attachments.map(\.sha256) }).sorted()
        return [
            .threadPurged(
                ThreadPurged(
                    thread: id, subject: thread.subject, category: thread.category, openedBy: thread.openedBy,
                    participants: thread.participants, structures: thread.structures, reason: reason, attachments: attachments,
                    roles: thread.roles.isEmpty ? nil : thread.roles))
        ]
    }
}
