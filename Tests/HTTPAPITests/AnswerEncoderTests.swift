import Engine
import Foundation
import Messaging
import Testing

@testable import HTTPAPI

/// The answer encoder must write exactly what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
/// writes: every case here is encoded both ways and compared byte for byte.
@Suite struct AnswerEncoderTests {
    func same<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = Array(try AnswerEncoder.foundation.encode(value))
        let actual = try AnswerEncoder.encode(value)
        #expect(
            String(decoding: actual, as: UTF8.self) == String(decoding: expected, as: UTF8.self),
            sourceLocation: sourceLocation)
    }

    /// Whether the fast path wrote `value` itself (rather than handing it to Foundation).
    func written<T: Encodable>(_ value: T) -> Bool {
        let writer = AnswerEncoder.Writer()
        return (try? writer.encodeValue(value)) != nil && !writer.refused
    }

    @Test func inboxPagesAndThreadViewsAsFoundationWritesThem() throws {
        let inbox = """
            {"items":[{"answeredByCustomer":false,"id":"t-1","importance":"normal","lastActivity":"2026-12-07T01:55:20.886Z",
            "messageCount":91,"number":"B-247","openedBy":"bob","openedByName":"Bob \\"B\\" / Ltd","priority":"normal",
            "status":"new","subject":{"kind":"request","ref":"B-247"},"title":"Bench <1>\\n\\ttab","type":"message","unread":3},
            {"answeredByCustomer":true,"id":"t-2","importance":"high","lastActivity":"2026-12-07T01:55:20.886Z",
            "messageCount":0,"priority":"urgent","status":"open","subject":{"kind":"contract","ref":"C-9"},
            "title":"Ünïcode ✓ 😀 \\u2028","type":"task","unread":0,"category":"hr","handler":"ann","handlerName":"Ann"}],
            "nextCursor":"abc_-"}
            """
        let page = try JSONDecoder().decode(InboxPage.self, from: Data(inbox.utf8))
        #expect(page.items.count == 2)
        #expect(written(page))
        try same(page)
        try same(InboxPage(items: [], nextCursor: nil))
    }

    /// A thread view with every optional member present, and with each left out: the answer's own
    /// writer (`DirectAnswer`) gives Foundation's bytes in both.
    @Test func threadViewsAndUnreadCountsWriteThemselvesAsFoundationWritesThem() throws {
        let summary = ThreadSummary(
            id: "t-1", number: "TT5", subject: SubjectDTO(kind: "contract", ref: "C \"9\""), title: "Ünïcode ✓ 😀 \u{2028}",
            status: "open", priority: "urgent", type: "task", importance: "high", category: "hr", handler: "ann",
            messageCount: 2, lastActivity: "2026-12-07T01:55:20.886Z", openedBy: "bob", answeredByCustomer: true)
        var bare = summary
        (bare.number, bare.category, bare.handler, bare.openedBy) = (nil, nil, nil, nil)
        let message = MessageDTO(
            id: "m-1", number: 1, author: AuthorDTO(id: "bob", name: "Bob / Ltd"), time: "2026-12-07T01:55:20.886Z",
            body: "line\nnext\t\u{01}", kind: "message", format: "markdown",
            attachments: [Attachment(name: "a.pdf", contentType: "application/pdf", size: 12, sha256: "ab")],
            concerning: Concerning(kind: .company, name: "Acme", ref: "K-1"), template: "greeting")
        let plain = MessageDTO(
            id: "m-2", number: 2, author: AuthorDTO(id: nil, name: nil), time: "t", body: "", kind: "message",
            format: "plain", attachments: [], concerning: nil, template: nil)
        let full = ThreadView(
            thread: ThreadDetail(summary: summary, blocked: true, participants: ["ann", "bob"], structures: ["s/1"]),
            messages: [message, plain],
            contacts: [ContactDTO(id: "ann", name: "Ann", party: "acme", internal: true), ContactDTO(id: nil, name: "Team", party: "sup", internal: false)],
            unread: 1, notes: [NoteDTO(number: 1, author: AuthorDTO(id: "ann", name: "Ann"), time: "t", body: "note")],
            page: MessagePage(limit: 50, hasOlder: true, hasNewer: false, before: 3, after: 1))
        let empty = ThreadView(
            thread: ThreadDetail(summary: bare, blocked: false, participants: [], structures: []), messages: [],
            contacts: [], unread: 0, notes: nil, page: MessagePage(limit: 1, hasOlder: false, hasNewer: true, before: nil, after: nil))
        for view in [full, empty] {
            try same(view)
            try same(InboxPage(items: [InboxItem(summary: view.thread.summary, handlerName: "Ann", openedByName: nil, unread: 4)], nextCursor: nil))
        }
        var noPage = empty
        noPage.page = nil
        try same(noPage)
        try same(UnreadSummary(total: 3, threads: [UnreadThread(id: "a", unread: 1), UnreadThread(id: "b", unread: 2)]))
        try same(UnreadSummary(total: 0, threads: []))
    }

    @Test func everyASCIICharacterAndSomeBeyond() throws {
        var text = String(decoding: (0...0x7F).map { UInt8($0) }, as: UTF8.self)
        text += "é\u{2028}\u{2029}😀\u{FEFF}/\\\""
        try same(text)
        try same(["key \u{01}": text])
        try same([text, text])
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let scalars = (0..<Int.random(in: 0...20, using: &generator)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2FFF, using: &generator))
            }
            try same(String(String.UnicodeScalarView(scalars)))
        }
    }

    /// Strings are checked eight bytes at a time: each byte JSON escapes, at every place in a word and in
    /// the tail, and bytes either side of the ones it escapes.
    @Test func escapesFoundAtEveryOffset() throws {
        let specials: [Character] = ["\"", "\\", "\u{00}", "\u{01}", "\n", "\u{1F}"]
        let neighbours: [Character] = [" ", "!", "#", "[", "]", "\u{7F}", "é", "😀"]
        for length in 0...24 {
            try same(String(repeating: "a", count: length))
            for offset in 0..<max(length, 1) {
                for special in specials {
                    var characters = Array(repeating: Character("a"), count: max(length, 1))
                    characters[offset] = special
                    try same(String(characters))
                }
            }
        }
        for neighbour in neighbours {
            try same(String(repeating: String(neighbour), count: 17))
        }
    }

    @Test func keysInFoundationsOrder() throws {
        try same(["b": 1, "a": 2, "B": 3, "a10": 4, "a9": 5, "_x": 6, "Z1": 7, "é": 8, "e": 9, "": 10])
        try same(["openedBy": "x", "openedByName": "y", "id": "z", "importance": "w"])
        try same([String: Int]())
        try same([[String: Int]]())
    }

    struct Shapes: Codable {
        var optional: String?
        var present: String? = "here"
        var numbers: [Int64] = [-1, 0, Int64.max, Int64.min]
        var unsigned: UInt64 = UInt64.max
        var flags: [Bool] = [true, false]
        var nested: [[Int?]] = [[1, nil], [], [nil]]
        var empty = Empty()
        var small: Int8 = -128
    }

    struct Empty: Codable {}

    @Test func optionalsArraysIntegersAndEmptyObjects() throws {
        #expect(written(Shapes()))
        try same(Shapes())
        try same(Empty())
        try same([Empty(), Empty()])
        try same(Optional<Int>.none)
        try same(42)
        try same(true)
    }

    enum Tagged: Codable {
        case one(Int)
        case two(name: String)
    }

    struct WithDate: Codable {
        var when = Date(timeIntervalSinceReferenceDate: 12.5)
        var data = Data([1, 2, 3])
        var url = URL(string: "https://example.test/a/b")!
        var ratio = 0.1
    }

    final class Base: Codable {
        var a = 1
    }

    @Test func whatTheFastPathLeavesToFoundationComesOutTheSame() throws {
        #expect(!written(WithDate()))
        try same(WithDate())
        #expect(!written(Tagged.two(name: "x")))
        try same([Tagged.one(1), Tagged.two(name: "x")])
        try same(["a": 1.5, "b": 1e300])
        try same(Base())
    }
}
