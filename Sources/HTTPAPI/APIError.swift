import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Messaging

/// A refusal as the client sees it: a status and `{"error": {"code", "message"}}`.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: code, message: message)
    }

    static func unprocessable(_ code: String, _ message: String) -> APIError {
        APIError(status: .unprocessableContent, code: code, message: message)
    }

    static let unauthorized = APIError(
        status: .unauthorized, code: "unauthorized",
        message: "A valid 'Authorization: Bearer <token>' header is required.",
        headers: [.wwwAuthenticate: "Bearer"])

    static let forbidden = APIError(
        status: .forbidden, code: "forbidden", message: "This token may not use this route.")

    static let notFound = APIError(status: .notFound, code: "not_found", message: "There is no such resource.")

    /// The disk holding the data is full: nothing was written, reads go on; retry once space is freed.
    static let storageFull = APIError(
        status: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "storage_full",
        message: "The service's disk is full; nothing was written. Retry once space is freed.",
        headers: [.retryAfter: "30"])

    static func bodyTooLarge(_ limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, code: "body_too_large", message: "The request body exceeds \(limit) bytes.")
    }

}

extension APIError {
    /// The one table from domain refusals to statuses. The code and message are the domain's own.
    init(_ error: DomainError) {
        let status: HTTPResponse.Status =
            switch error {
            case .notAllowed, .rolesNotAllowed: .forbidden
            case .threadNotFound, .subjectNotFound, .unknownMessage, .templateNotFound: .notFound
            case .threadPurged: .gone
            case .legalHold: .conflict
            case .duplicateID, .notAMember, .threadBlocked, .threadClosed, .threadResolved,
                .invalidStatusTransition:
                .conflict
            case .invalidID, .invalidName, .invalidEmail, .invalidTokenHash, .unknownParty, .unknownUser,
                .unknownService, .unknownStructure, .unknownCategory, .invalidSetting, .invalidSubject, .invalidTitle,
                .emptyMessage, .messageTooLarge, .attachmentsNotAllowed, .invalidAttachment,
                .readMarkerOutOfRange, .notAHandler, .unknownTemplate, .invalidConcerning, .unknownRole:
                .unprocessableContent
            }
        self.init(status: status, code: error.code, message: error.message)
    }

    /// Any error a handler let through, as the client sees it; faults hide their details.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as DomainError: return APIError(error)
        case let error as ContentionError:
            return APIError(
                status: .serviceUnavailable, code: "contention", message: error.description,
                headers: [.retryAfter: "1"])
        case let error as ViewsLagging:
            return APIError(
                status: .serviceUnavailable, code: "views_lagging", message: error.description,
                headers: [.retryAfter: "1"])
        case let error as InvalidQuery:
            return .unprocessable("invalid_parameter", error.message)
        default:
            switch StorageFailure(error) {
            case .full: return .storageFull
            case .closed:
                return APIError(status: .serviceUnavailable, code: "shutting_down", message: "The service is stopping.")
            case nil:
                return APIError(status: .internalServerError, code: "internal", message: "An internal error occurred.")
            }
        }
    }

    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// `{"error":{"code":…,"message":…}}`.
    var body: [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"error":{"code":"#.utf8)
        JSONText.appendString(code, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONText.appendString(message, to: &out)
        out.append(contentsOf: "}}".utf8)
        return out
    }
}

/// Middleware and Hummingbird's own error path answer an `APIError` as the routes do: its status,
/// headers and `{"error": {"code", "message"}}` body.
extension APIError: HTTPResponseError {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }
}
