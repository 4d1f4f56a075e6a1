import ArgumentParser
import EventLog
import Foundation

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a data directory while the service runs: the views, the log, then the attachments.",
        discussion: """
            Each store is copied as of one moment inside a read transaction, so writers go on meanwhile. \
            The views are copied first and the log after them, so the copy's views never cover an event \
            its log lacks (a service started on the copy catches them up); attachments are copied last, \
            so every one the copied log references is there, with the reply-address key and the admin \
            token's hash. To restore, stop the service and start it \
            with --data on the copy (or move the copy into place).
            """
    )

    @OptionGroup var options: DataOptions

    @Option(name: .customLong("to"), help: "Where the copy goes: a directory that does not exist yet, or an empty one.")
    var target: String

    func run() throws {
        let source = try DataDirectory(options.directory, create: false)
        let fm = FileManager.default
        if fm.fileExists(atPath: target), !((try? fm.contentsOfDirectory(atPath: target)) ?? []).isEmpty {
            throw ToolFailure("\(target) is not empty; a backup goes into a new or empty directory")
        }
        let copy = DataDirectory(unchecked: target)
        if fm.fileExists(atPath: source.views + "/data.mdb") {
            let views = try ViewStore.open(directory: source.views, readOnly: true)
            try views.backup(to: copy.views)
        }
        let position = try Backends.backUpLog(of: source, to: copy)
        let blobs = try copyBlobs(from: source.blobs, to: copy.blobs)
        try copyKeys(from: source.root, to: copy.root)
        print("backed up \(options.directory) to \(target): the log up to position \(position), the views, \(blobs) attachments")
    }

    /// The small files beside the stores that a service started on the copy needs to answer as the
    /// original did: the reply addresses' key (without it, every reply address handed out stops
    /// working) and the admin token's hash. Copied with their permissions (0600).
    static let keyFiles = ["reply-key", "admin-token.sha256"]

    private func copyKeys(from source: String, to target: String) throws {
        let fm = FileManager.default
        for name in Self.keyFiles where fm.fileExists(atPath: source + "/" + name) {
            do {
                try fm.copyItem(atPath: source + "/" + name, toPath: target + "/" + name)
                try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target + "/" + name)
            } catch {
                throw ToolFailure("cannot copy \(source)/\(name): \(error.localizedDescription)")
            }
        }
    }

    /// Copies every attachment file (not the temporary ones) and answers how many.
    private func copyBlobs(from source: String, to target: String) throws -> Int {
        let fm = FileManager.default
        guard let names = fm.enumerator(atPath: source) else { return 0 }
        var count = 0
        for case let name as String in names {
            guard !name.hasPrefix("tmp"), name.contains("/") else { continue }
            let from = source + "/" + name
            let to = target + "/" + name
            do {
                try fm.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fm.copyItem(atPath: from, toPath: to)
            } catch {
                throw ToolFailure("cannot copy the attachment \(from): \(error.localizedDescription)")
            }
            count += 1
        }
        return count
    }
}
