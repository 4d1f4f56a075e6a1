import Messaging

/// Request bodies are decoded strictly: malformed JSON, or an object that repeats a key, is 400
/// `invalid_json`, a field the route does not know is 400 `unknown_field`, a missing or mistyped
/// field is 422. The body is parsed once and decoded by `StrictDecoder`, which notes the members each
/// DTO asks for: any other member (in nested objects too) is unknown, without listing a DTO's keys
/// twice. Duplicates are refused by the parser, before any shortcut or the decoder sees the members.
enum StrictJSON {
    /// `shortcut` may build the value straight from the members of a body of the common shape; it
    /// answers `nil` for anything else, which then goes through the decoder (and its refusals).
    static func decode<T: Decodable>(
        _ type: T.Type, from bytes: [UInt8], shortcut: (([String: JSONValue]) -> T?)? = nil
    ) throws -> T {
        let raw: JSONValue
        do {
            raw = try JSONValue(parsing: bytes.isEmpty ? Array("{}".utf8) : bytes)
        } catch .duplicateKey(let path) {
            throw APIError.badRequest("invalid_json", "The body repeats the key '\(path)'.")
        } catch {
            throw APIError.badRequest("invalid_json", "The body is not valid JSON.")
        }
        guard case .object(let members) = raw else {
            throw APIError.badRequest("invalid_json", "The body must be a JSON object.")
        }
        if let shortcut, let value = shortcut(members) { return value }
        let visits = StrictDecoder.Visits()
        let value: T
        do {
            value = try StrictDecoder(value: raw, codingPath: [], visits: visits).decode(type)
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.unprocessable("invalid_field", "Field '\(path(context.codingPath))' has the wrong type.")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.unprocessable("missing_field", "Field '\(path(context.codingPath))' is required.")
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.unprocessable(
                "missing_field", "Field '\(path(context.codingPath + [key]))' is required.")
        } catch let DecodingError.dataCorrupted(context) {
            throw APIError.unprocessable("invalid_field", "Field '\(path(context.codingPath))' has an invalid value.")
        } catch {
            throw APIError.badRequest("invalid_json", "The body does not decode.")
        }
        if let unknown = visits.firstUnknown() {
            throw APIError.badRequest("unknown_field", "Unknown field '\(unknown)'.")
        }
        return value
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }
}
