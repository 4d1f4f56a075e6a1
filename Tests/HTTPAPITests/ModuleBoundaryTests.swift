import Foundation
import Testing

/// The one-way arrows between modules, read from the sources: the HTTP routes and the web console
/// reach the log through the engine only, and LMDB's C interface stays inside the LMDB log's module.
@Suite struct ModuleBoundaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The modules each Swift file under `folder` imports, by file (relative to the package root).
    static func imports(under folder: String) throws -> [String: Set<String>] {
        let base = root.appendingPathComponent(folder)
        let files = try #require(FileManager.default.enumerator(atPath: base.path))
        var found: [String: Set<String>] = [:]
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: base.appendingPathComponent(file), encoding: .utf8)
            var modules = Set<String>()
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                if words.count >= 2, words[0] == "import" { modules.insert(String(words[words.count - 1])) }
            }
            found[folder + "/" + file] = modules
        }
        return found
    }

    @Test("the HTTP routes and the web console import no storage module")
    func routesSeeNoStorage() throws {
        let storage: Set<String> = ["EventLog", "PostgresEventLog", "CLMDB"]
        var checked = 0
        for folder in ["Sources/HTTPAPI", "Sources/WebConsole"] {
            for (file, modules) in try Self.imports(under: folder) {
                checked += 1
                #expect(modules.isDisjoint(with: storage), "\(file) imports \(modules.intersection(storage).sorted())")
            }
        }
        #expect(checked > 20)
    }

    @Test("in the tools, only Backends.swift names a log backend")
    func toolsChooseTheBackendInOnePlace() throws {
        let base = Self.root.appendingPathComponent("Tools/threadlog")
        let files = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { $0.hasSuffix(".swift") }
        var knowing: [String] = []
        for file in files {
            let text = try String(contentsOf: base.appendingPathComponent(file), encoding: .utf8)
            if text.contains("LMDBEventStore") || text.contains("PostgresEventStore") || text.contains("import PostgresEventLog") {
                knowing.append(file)
            }
        }
        #expect(files.count > 10)
        #expect(knowing == ["Backends.swift"])
    }

    @Test("only the LMDB log's module imports LMDB's C interface")
    func lmdbStaysInItsModule() throws {
        var importers: [String] = []
        for folder in ["Sources", "Tools"] {
            for (file, modules) in try Self.imports(under: folder) where modules.contains("CLMDB") {
                importers.append(file)
            }
        }
        #expect(!importers.isEmpty)
        #expect(importers.allSatisfy { $0.hasPrefix("Sources/EventLog/") }, "\(importers)")
    }
}
