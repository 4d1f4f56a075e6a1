import Foundation

/// Request bodies are decoded strictly: malformed JSON is 400 `invalid_json`, a field the route does
/// not know is 400 `unknown_field`, a missing or mistyped field is 422. Unknown keys are found by
/// comparing the input with the decoded value encoded again, so every DTO (nested ones too) is
/// covered without listing its keys twice.
enum StrictJSON {
    static func decode<T: Codable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let data = Data(bytes.isEmpty ? Array("{}".utf8) : bytes)
        let raw: Any
        do {
            raw = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw APIError.badRequest("invalid_json", "The body is not valid JSON.")
        }
        guard raw is [String: Any] else {
            throw APIError.badRequest("invalid_json", "The body must be a JSON object.")
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
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
        let known = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        if let unknown = firstUnknownKey(raw, known, path: "") {
            throw APIError.badRequest("unknown_field", "Unknown field '\(unknown)'.")
        }
        return value
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func firstUnknownKey(_ input: Any, _ known: Any, path: String) -> String? {
        switch (input, known) {
        case (let input as [String: Any], let known as [String: Any]):
            for key in input.keys.sorted() {
                let value = input[key]!
                let here = path.isEmpty ? key : path + "." + key
                guard let knownValue = known[key] else {
                    // An explicit null for an optional field the value leaves out is fine.
                    if value is NSNull { continue }
                    return here
                }
                if let unknown = firstUnknownKey(value, knownValue, path: here) { return unknown }
            }
        case (let input as [Any], let known as [Any]):
            for (index, pair) in zip(input, known).enumerated() {
                if let unknown = firstUnknownKey(pair.0, pair.1, path: "\(path)[\(index)]") { return unknown }
            }
        default:
            break
        }
        return nil
    }
}
