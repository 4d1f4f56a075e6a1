import Foundation
import Messaging

/// The request bodies decoded as the routes decode them, and with Foundation's `JSONDecoder`, for the
/// release benchmark (`threadlog-bench json`); not part of the API. Each answers a figure of the
/// decoded value, so that the work cannot be optimized away.
@_spi(Benchmarks)
public enum RequestBodyDecoding {
    /// `POST /v1/threads/{id}/messages`: the parser and the route's shortcut for `{"body": "…"}`.
    public static func postMessage(_ bytes: [UInt8]) throws -> Int {
        try StrictJSON.decode(PostMessageBody.self, from: bytes, shortcut: PostMessageBody.plain).body.utf8.count
    }

    public static func postMessageWithJSONDecoder(_ bytes: [UInt8]) throws -> Int {
        try JSONDecoder().decode(PostMessageBody.self, from: Data(bytes)).body.utf8.count
    }

    /// `POST /v1/threads`: the parser and `StrictDecoder`.
    public static func openThread(_ bytes: [UInt8]) throws -> Int {
        try StrictJSON.decode(OpenThreadBody.self, from: bytes).title.utf8.count
    }

    public static func openThreadWithJSONDecoder(_ bytes: [UInt8]) throws -> Int {
        try JSONDecoder().decode(OpenThreadBody.self, from: Data(bytes)).title.utf8.count
    }

    /// Any `Decodable` through the parser and `StrictDecoder`, unknown members refused.
    public static func strict<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try StrictJSON.decode(type, from: bytes)
    }
}
