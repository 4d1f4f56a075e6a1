import Foundation

/// The person or company a message is about (an employee, a client company), as the portal names
/// them: shown with the message to everyone who reads it.
public struct Concerning: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case person
        case company
    }

    public var kind: Kind
    /// 1 to 200 characters, not blank, without control characters.
    public var name: String
    /// The portal's own id of the person or company: 1 to 100 characters without control characters.
    public var ref: String?

    public static let maxNameLength = 200
    public static let maxRefLength = 100

    public init(kind: Kind, name: String, ref: String? = nil) {
        self.kind = kind
        self.name = name
        self.ref = ref
    }

    /// Why the value cannot be recorded, `nil` when it can.
    public var problem: String? {
        func hasControl(_ text: String) -> Bool {
            text.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }
        if name.isBlank || name.count > Self.maxNameLength || hasControl(name) {
            return "the name has 1 to \(Self.maxNameLength) characters, not all blank, without control characters"
        }
        if let ref, ref.isEmpty || ref.count > Self.maxRefLength || hasControl(ref) {
            return "the ref has 1 to \(Self.maxRefLength) characters without control characters"
        }
        return nil
    }
}
