import Foundation
@_spi(Benchmarks) import HTTPAPI
@_spi(Benchmarks) import Messaging

/// The hand-written JSON reader (`JSONValue+Parse`, `EventCodec+Fast`) and `StrictDecoder` against
/// Foundation's `JSONDecoder` on the same bytes: the two busiest request bodies and the two commonest
/// events. One thread, decodes per second of each; the ratio is hand-written / `JSONDecoder`.
func jsonBenchmarks() throws {
    print("JSON decoding: hand-written reader against Foundation's JSONDecoder (same bytes, one thread)")
    print("")
    let text = String(repeating: "Delivery schedule for next week, please confirm. ", count: 3)
    let postBody = Array(#"{"body":"\#(text)"}"#.utf8)
    let openBody = Array(
        (#"{"subject":{"kind":"request","ref":"R-1042"},"title":"Request 1042","priority":"high","type":"task","#
            + #""participants":["u1","u2"],"body":"\#(text)"}"#).utf8)
    let posted = EventCodec.encode(
        .messagePosted(MessagePosted(thread: "t1042", number: 7, author: "u1", text: text)))
    let opened = EventCodec.encode(
        .threadOpened(ThreadOpened(
            thread: "t1042", subject: Subject(kind: "request", ref: "R-1042"), title: "Request 1042", category: nil,
            priority: .high, type: .task, importance: .normal, openedBy: "u1", participants: ["u1", "u2"],
            structures: [])))

    // Both sides must read the same thing, or the figures compare nothing.
    let agree = try [
        RequestBodyDecoding.postMessage(postBody) == RequestBodyDecoding.postMessageWithJSONDecoder(postBody),
        RequestBodyDecoding.openThread(openBody) == RequestBodyDecoding.openThreadWithJSONDecoder(openBody),
        EventCodec.decode(posted) == EventCodec.decodeWithJSONDecoder(.messagePosted, data: posted.data),
        Event.threadOpened(RequestBodyDecoding.strict(ThreadOpened.self, from: opened.data))
            == EventCodec.decodeWithJSONDecoder(.threadOpened, data: opened.data),
    ]
    precondition(!agree.contains(false), "the decoders disagree: \(agree)")

    func rate(_ count: Int, _ work: () throws -> Int) rethrows -> Double {
        var sink = 0
        for _ in 0..<count / 10 { sink &+= try work() }  // warm-up
        let started = now()
        for _ in 0..<count { sink &+= try work() }
        let seconds = now() - started
        if sink == 42 { print("") }  // keeps `sink`, and so the work, alive
        return Double(count) / seconds
    }
    func jsonRow(_ name: String, _ count: Int, hand: () throws -> Int, foundation: () throws -> Int) rethrows {
        let handRate = try rate(count, hand)
        let foundationRate = try rate(count, foundation)
        print(
            "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(fmt(handRate).leftPad(10)) /s   JSONDecoder \(fmt(foundationRate).leftPad(10)) /s   ratio \(fmt(handRate / foundationRate, 2))×"
        )
        recordFigure("json-" + name.split(separator: " ").last!.description, handRate)
    }

    let count = 200_000
    try jsonRow("1. request: post message", count, hand: { try RequestBodyDecoding.postMessage(postBody) },
        foundation: { try RequestBodyDecoding.postMessageWithJSONDecoder(postBody) })
    try jsonRow("2. request: open thread (StrictDecoder)", count, hand: { try RequestBodyDecoding.openThread(openBody) },
        foundation: { try RequestBodyDecoding.openThreadWithJSONDecoder(openBody) })
    try jsonRow("3. event: message.posted (EventCodec+Fast)", count,
        hand: {
            guard case .messagePosted(let e) = try EventCodec.decode(posted) else { return 0 }
            return e.text.utf8.count
        },
        foundation: {
            guard case .messagePosted(let e) = try EventCodec.decodeWithJSONDecoder(.messagePosted, data: posted.data)
            else { return 0 }
            return e.text.utf8.count
        })
    try jsonRow("4. event: thread.opened (StrictDecoder)", count,
        hand: { try RequestBodyDecoding.strict(ThreadOpened.self, from: opened.data).title.utf8.count },
        foundation: {
            guard case .threadOpened(let e) = try EventCodec.decodeWithJSONDecoder(.threadOpened, data: opened.data)
            else { return 0 }
            return e.title.utf8.count
        })
    print("   (the service decodes stored thread.opened events with JSONDecoder; row 4 is what StrictDecoder would do)")
}
