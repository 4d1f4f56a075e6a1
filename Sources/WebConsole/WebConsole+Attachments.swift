import Engine
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Messaging
import NIOCore

// Attachments (uploads with a message, downloads), message templates and the handler's assignment.
extension WebConsole {
    /// Whether the post boxes take files: the console has the blob store and the settings allow them.
    func attachmentsAllowed(_ directory: Directory) -> Bool {
        blobs != nil && directory.settings.attachmentsAllowed
    }

    /// A `multipart/form-data` body: its fields and files (a body larger than the upload limit is
    /// refused before it is read; one that is not well formed counts as a form from elsewhere).
    func multipartForm(_ request: Request, boundary: String) async throws -> FormData {
        var buffer = try await Self.body(request, upTo: configuration.maxUploadBytes)
        guard let parsed = MultipartForm(buffer.readBytes(length: buffer.readableBytes) ?? [], boundary: boundary)
        else { throw ConsoleRefusal.csrf }
        return FormData(fields: parsed.fields, files: parsed.files)
    }

    /// The files of a form stored as blobs and recorded as the user's uploads, as `POST /v1/blobs`
    /// does, ready to go with a message.
    func storeAttachments(_ files: [UploadedFile], _ session: ConsoleSession) async throws -> [Attachment] {
        guard !files.isEmpty else { return [] }
        guard let blobs, try handler.currentDirectory().settings.attachmentsAllowed else {
            throw DomainError.attachmentsNotAllowed
        }
        var attachments: [Attachment] = []
        for file in files {
            let digest = try blobs.put(file.bytes)
            let size = Int64(file.bytes.count)
            _ = try await handler.handle(.recordUpload(sha256: digest, size: size), actor: .user(session.user))
            attachments.append(
                Attachment(
                    name: Self.fileName(file.name), contentType: Self.mediaType(file.contentType), size: size,
                    sha256: digest))
        }
        return attachments
    }

    /// A file of a message, under the API's rule for blobs (its uploader, or a reader of a message
    /// that carries it); anyone else gets the not-found page. Served as a download, never rendered
    /// by the console's origin.
    func download(_ thread: ThreadID, _ sha256: String, _ session: ConsoleSession) throws -> Response {
        guard thread.isValid, let blobs, let usable = try blobs.usable(sha256, by: session.user, on: thread),
            let bytes = blobs.read(sha256)
        else { throw ConsoleRefusal.notFound }
        let headers: HTTPFields = [
            .contentType: usable.contentType,
            .contentDisposition: BlobAccess.contentDisposition(usable.name),
            .contentSecurityPolicy: "default-src 'none'; sandbox",
            .cacheControl: "private, no-store",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The attachments of a message as the thread page lists them, each with its download link.
    static func attachmentLinks(_ attachments: [Attachment], thread: String) -> [[String: Any]] {
        attachments.map { attachment in
            [
                "name": attachment.name, "size": Self.size(attachment.size),
                "href": "/threads/\(FormData.encode(thread))/files/\(attachment.sha256)",
            ] as [String: Any]
        }
    }

    /// The message templates of the settings, by name; `selected` is the one asked for.
    static func templates(_ directory: Directory, selected: String?) -> [[String: Any]] {
        directory.settings.messageTemplates.sorted { $0.key < $1.key }.map { name, text in
            ["name": name, "text": text, "selected": name == selected] as [String: Any]
        }
    }

    /// Whom a handler may assign the thread to: the active users who may handle it.
    static func assignees(_ state: ThreadState, _ directory: Directory) -> [[String: Any]] {
        directory.users.values
            .filter { $0.active && Access.isHandler($0.id, of: state, in: directory) }
            .sorted { ($0.name, $0.id.rawValue) < ($1.name, $1.id.rawValue) }
            .map { ["value": $0.id.rawValue, "label": $0.name, "selected": $0.id == state.handler] as [String: Any] }
    }

    /// A file's name as an attachment keeps it: 1 to 255 bytes of UTF-8.
    static func fileName(_ name: String) -> String {
        var name = name.trimmingCharacters(in: .whitespaces)
        while name.utf8.count > 255 { name.removeLast() }
        return name.isEmpty ? "file" : name
    }

    /// The browser's content type when it is a plain `type/subtype`, else `application/octet-stream`.
    static func mediaType(_ type: String) -> String {
        let plain = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let allowed = plain.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || "/+-.".utf8.contains(byte)
        }
        return allowed && plain.split(separator: "/").count == 2 && plain.utf8.count <= 127
            ? plain : "application/octet-stream"
    }
}
