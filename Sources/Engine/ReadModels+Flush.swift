import EventLog
import Foundation
import Messaging
import Projections

extension ReadModels {
    /// Writes the rows of every changed thread: its state, the inbox rows and unread counts of everyone
    /// who may see it (and removes those of whoever no longer may).
    func flush(_ model: inout ProjectionModel, tables: TableNames, _ txn: borrowing ViewTransaction) throws {
        var (dirty, fanOut) = model.takeChanges()
        for target in fanOut {
            let prefix: [UInt8]
            let table: String
            switch target {
            case .structure(let id):
                (table, prefix) = (tables.byStructure, Array(id.rawValue.utf8) + [0])
            case .category(let id):
                (table, prefix) = (tables.byCategory, Array((id?.rawValue ?? "").utf8) + [0])
            case .subject(let subject):
                (table, prefix) = (tables.bySubject, Array(StreamName.subject(subject).utf8) + [0])
            case .role(let role):
                (table, prefix) = (tables.byRole, Array(role.rawValue.utf8) + [0])
            }
            var found: [ThreadID] = []
            try txn.scan(table, prefix: prefix) { key, _ in
                found.append(ThreadID(ViewKeys.secondPart(key)))
                return true
            }
            for id in found where model.threads.index(forKey: id) == nil {
                try loadThread(id, into: &model, tables: tables, txn)
            }
            dirty.formUnion(found)
        }
        let directory = model.directory
        for id in dirty {
            guard let state = model.threads[id] else { continue }
            try txn.put(tables.threads, ViewKeys.thread(id), ViewCodec.encodeHeader(state))
            let persisted = model.persistedMessages[id] ?? 0
            if state.messages.count < persisted {
                // Purged: the message rows go.
                var keys: [[UInt8]] = []
                try txn.scan(tables.messages, prefix: ViewKeys.threadPrefix(id)) { key, _ in
                    keys.append(Array(key))
                    return true
                }
                for key in keys { try txn.delete(tables.messages, key) }
            } else {
                for message in state.messages[persisted...] {
                    try txn.put(tables.messages, ViewKeys.message(thread: id, number: message.number), ViewCodec.encode(message))
                }
                for message in state.messages[..<persisted]
                where model.changedMessages[id]?.contains(message.number) == true {
                    try txn.put(tables.messages, ViewKeys.message(thread: id, number: message.number), ViewCodec.encode(message))
                }
            }
            model.persistedMessages[id] = state.messages.count
            model.changedMessages[id] = nil
            for structure in state.structures {
                try txn.putIfAbsent(tables.byStructure, ViewKeys.pair(structure.rawValue, id.rawValue), [])
            }
            try txn.putIfAbsent(tables.byCategory, ViewKeys.pair(state.category?.rawValue ?? "", id.rawValue), [])
            try txn.putIfAbsent(tables.bySubject, ViewKeys.pair(StreamName.subject(state.subject), id.rawValue), [])
            for role in state.roles { try txn.putIfAbsent(tables.byRole, ViewKeys.pair(role.rawValue, id.rawValue), []) }

            let users = model.audience.users(of: state, in: directory)
            let previous = try txn.withValue(tables.inboxAudience, ViewKeys.thread(id)) { bytes in
                try bytes.map { bytes in try ViewCodec.decodeAudience(bytes) }
            }
            var tallies = model.unreadTallies.removeValue(forKey: id) ?? [:]
            let rows = users.map { user in
                let tally = Access.unreadTally(of: state, for: user, in: directory, extending: tallies[user])
                tallies[user] = tally
                return InboxRow(thread: state, for: user, in: directory, unread: tally.count)
            }
            model.unreadTallies[id] = tallies
            if let previous {
                // Rows the puts below overwrite need no delete first: same inbox key (the activity did
                // not move), or an unread count that stays above zero.
                let stays = Set(users)
                let unread = Set(zip(users, rows).filter { $0.1.unread > 0 }.map(\.0))
                for user in previous.users {
                    if previous.activityMillis != state.lastActivityMillis || !stays.contains(user) {
                        try txn.delete(tables.inbox, ViewKeys.inbox(user: user, activityMillis: previous.activityMillis, thread: id))
                    }
                    if !unread.contains(user) { try txn.delete(tables.unread, ViewKeys.unread(user: user, thread: id)) }
                }
            }
            for (user, row) in zip(users, rows) {
                try txn.put(tables.inbox, ViewKeys.inbox(user: user, activityMillis: state.lastActivityMillis, thread: id), ViewCodec.encode(row))
                if row.unread > 0 {
                    try txn.put(tables.unread, ViewKeys.unread(user: user, thread: id), ViewKeys.encodeCount(row.unread))
                }
            }
            let audience = AudienceRow(activityMillis: state.lastActivityMillis, users: users)
            try txn.put(tables.inboxAudience, ViewKeys.thread(id), ViewCodec.encode(audience))
        }
    }
}
