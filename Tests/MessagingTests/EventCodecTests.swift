import Foundation
import Messaging
import TestSupport
import Testing

@Suite struct EventCodecTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
    static let schemas = root.appending(path: "Schemas/events")
    static let examples = root.appending(path: "Schemas/examples")

    /// Runs `Schemas/validate.py` and answers its exit status and output.
    func validate(_ instances: URL) throws -> (Int32, String) {
        let child = try Child(
            "/usr/bin/env",
            ["python3", Self.root.appending(path: "Schemas/validate.py").path, Self.schemas.path, instances.path],
            stdout: .pipe, stderr: .output)
        let output = child.output?.readDataToEndOfFile() ?? Data()
        return (child.wait().status, String(decoding: output, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appending(
            path: "messaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func thereIsOneSamplePerEventType() {
        #expect(EventSamples.all.map(\.type) == EventType.allCases)
    }

    @Test func everyEncodedEventValidatesAgainstItsSchema() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for event in EventSamples.all {
            let encoded = EventCodec.encode(event)
            try Data(encoded.data).write(
                to: directory.appending(path: "\(encoded.type).v\(encoded.schemaVersion).json"))
        }
        let (status, output) = try validate(directory)
        #expect(status == 0, "\(output)")
    }

    @Test func theValidatorRejectsABadPayload() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"thread":"t1","extra":true}"#.utf8).write(
            to: directory.appending(path: "thread.blocked.v1.json"))
        try Data(#"{"thread":"t1"}"#.utf8).write(to: directory.appending(path: "no.such_type.v1.json"))
        let (status, output) = try validate(directory)
        #expect(status == 1)
        #expect(output.split(separator: "\n").count == 2, "\(output)")
    }

    @Test func everyGoldenExampleValidates() throws {
        let (status, output) = try validate(Self.examples)
        #expect(status == 0, "\(output)")
    }

    @Test func everyTypeAndVersionHasASchemaAndAGoldenExample() {
        for type in EventType.allCases {
            for version in 1...type.latestSchemaVersion {
                let name = "\(type.rawValue).v\(version)"
                #expect(
                    FileManager.default.fileExists(
                        atPath: Self.schemas.appending(path: "\(name).schema.json").path), "\(name)")
                #expect(
                    FileManager.default.fileExists(
                        atPath: Self.examples.appending(path: "\(name).json").path), "\(name)")
            }
        }
    }

    @Test func everyGoldenExampleDecodesToItsExpectedEvent() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examples.path).filter {
            $0.hasSuffix(".json")
        }
        #expect(!files.isEmpty)
        let expected = EventSamples.golden
        for file in files {
            let stem = String(file.dropLast(".json".count))
            guard let range = stem.range(of: ".v", options: .backwards),
                let version = UInt16(stem[range.upperBound...])
            else {
                Issue.record("\(file) is not named <type>.v<N>.json")
                continue
            }
            let type = String(stem[..<range.lowerBound])
            let data = try Data(contentsOf: Self.examples.appending(path: file))
            let event = try EventCodec.decode(type: type, schemaVersion: version, data: Array(data))
            #expect(event == expected[stem], "\(file)")
        }
    }

    @Test func encodingIsStableAndRoundTrips() throws {
        for event in EventSamples.all {
            let first = EventCodec.encode(event)
            #expect(first == EventCodec.encode(event))
            #expect(first.schemaVersion == event.type.latestSchemaVersion)
            #expect(try EventCodec.decode(first) == event)
        }
        let text = String(decoding: EventCodec.encode(EventSamples.all[2]).data, as: UTF8.self)
        #expect(text == #"{"id":"svc-archive","name":"Archive","tokenHash":"\#(EventSamples.hash)"}"#)
    }

    @Test func messagePostedVersion1IsUpcastWithPlainFormat() throws {
        let v1 =
            #"{"attachments":[],"author":"c1","kind":"message","number":3,"text":"Hi","thread":"t1"}"#
        let event = try EventCodec.decode(
            type: "message.posted", schemaVersion: 1, data: Array(v1.utf8))
        #expect(
            event
                == .messagePosted(
                    MessagePosted(thread: "t1", number: 3, author: "c1", format: .plain, text: "Hi")))
        // The encoder writes the latest version, with the format.
        let encoded = EventCodec.encode(event)
        #expect(encoded.schemaVersion == 3)
        #expect(String(decoding: encoded.data, as: UTF8.self).contains(#""format":"plain""#))
        // The step is a pure function of the JSON.
        let upcast = Upcasters.step(.messagePosted, from: 1)?(.object(["text": .string("x")]))
        #expect(upcast == .object(["text": .string("x"), "format": .string("plain")]))
    }

    @Test func unknownTypesAndVersionsAreCodingErrors() {
        #expect(throws: EventCodingError.self) {
            try EventCodec.decode(type: "nope.nope", schemaVersion: 1, data: [])
        }
        do {
            _ = try EventCodec.decode(
                type: "thread.blocked", schemaVersion: 2, data: Array(#"{"thread":"t"}"#.utf8))
            Issue.record("version 2 of thread.blocked decoded")
        } catch {
            #expect(error.isUnsupportedVersion)
        }
        do {
            _ = try EventCodec.decode(type: "thread.blocked", schemaVersion: 1, data: Array("{}".utf8))
            Issue.record("an empty payload decoded")
        } catch {
            #expect(error.isMalformedPayload)
        }
    }
}
