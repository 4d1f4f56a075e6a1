import Engine
import Foundation
import SMTP

// The settings the commands share, read from the environment here and nowhere else: the libraries get
// values, never variable names.

extension NotificationConfiguration {
    /// `THREADLOG_SMTP_URL`, `THREADLOG_MAIL_FROM`, `THREADLOG_SMTP_CA_FILE` (extra certificate authorities for
    /// the mail server's certificate), `THREADLOG_PUBLIC_URL`, `THREADLOG_REPLY_ADDRESS` (its key in
    /// `dataRoot`), `THREADLOG_MAIL_POLL_MS`, `THREADLOG_MAIL_LEASE_MS`, `THREADLOG_MAIL_BACKOFF_MS` and
    /// `THREADLOG_PROJECTION_INTERVAL_MS`. Mail is configured only when both of the first two are set; a
    /// malformed URL or sender, or an unreadable CA file, is an error, not silence.
    init(environment: [String: String], dataRoot: String? = nil) throws {
        let url = environment["THREADLOG_SMTP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let from = environment["THREADLOG_MAIL_FROM"].flatMap { $0.isEmpty ? nil : $0 }
        var smtp: SMTPConfiguration?
        if let url, let from {
            do {
                smtp = try SMTPConfiguration(
                    url: url, from: from,
                    trustedCAFile: environment["THREADLOG_SMTP_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 })
            } catch {
                throw NotificationConfigurationError(message: "mail configuration: \(error.message)")
            }
        }
        self.init(smtp: smtp, publicURL: environment["THREADLOG_PUBLIC_URL"] ?? "http://127.0.0.1:8080")
        // Tuning knobs, in milliseconds: how often the sender looks, how long a claim lasts, the first retry's wait.
        if let poll = environment["THREADLOG_MAIL_POLL_MS"].flatMap(Int.init), poll > 0 {
            pollInterval = .milliseconds(poll)
        }
        if let lease = environment["THREADLOG_MAIL_LEASE_MS"].flatMap(Int.init), lease > 0 {
            claimLease = .milliseconds(lease)
        }
        if let backoff = environment["THREADLOG_MAIL_BACKOFF_MS"].flatMap(Int.init), backoff > 0 {
            initialBackoff = .milliseconds(backoff)
            maxBackoff = max(.milliseconds(backoff), min(maxBackoff, .milliseconds(backoff * 64)))
        }
        if let interval = try projectionIntervalSetting(environment) { commitInterval = interval }
        do {
            replyAddresses = try replyAddressesConfigured(environment: environment, dataRoot: dataRoot)
        } catch {
            throw NotificationConfigurationError(message: "\(error)")
        }
    }

    /// Why mail is off, or `nil` when it is on.
    static func mailDisabledReason(_ environment: [String: String]) -> String? {
        let missing = ["THREADLOG_SMTP_URL", "THREADLOG_MAIL_FROM"].filter { environment[$0]?.isEmpty ?? true }
        guard !missing.isEmpty else { return nil }
        return
            "mail is not configured (\(missing.joined(separator: " and ")) unset): notifications and digests wait in the outbox"
    }
}

/// `THREADLOG_PROJECTION_INTERVAL_MS` (milliseconds, 0 for no pacing), or `nil` when unset.
func projectionIntervalSetting(_ environment: [String: String]) throws -> Duration? {
    guard let text = environment["THREADLOG_PROJECTION_INTERVAL_MS"], !text.isEmpty else { return nil }
    guard let milliseconds = Int(text), (0...60_000).contains(milliseconds) else {
        throw InvalidSetting(message: "THREADLOG_PROJECTION_INTERVAL_MS must be a number of milliseconds from 0 to 60000")
    }
    return .milliseconds(milliseconds)
}

/// From `THREADLOG_REPLY_ADDRESS`, with the key of `dataRoot` (created on first use); `nil` when the
/// setting is unset or empty: no Reply-To then, and no inbound mail.
func replyAddressesConfigured(environment: [String: String], dataRoot: String?) throws -> ReplyAddresses? {
    guard let template = environment["THREADLOG_REPLY_ADDRESS"], !template.isEmpty else { return nil }
    guard let dataRoot else {
        throw ReplyAddressError("THREADLOG_REPLY_ADDRESS needs a data directory for its key")
    }
    let key = try ReplyAddresses.loadKey(directory: dataRoot)
    do {
        return try ReplyAddresses(template: template, key: key)
    } catch let error as ReplyAddressError {
        throw ReplyAddressError("THREADLOG_REPLY_ADDRESS \(error.message)")
    }
}

/// `THREADLOG_REPLY_REQUIRE_FROM=on` (or `off`, the default).
func requireMatchingFromSetting(_ environment: [String: String]) throws -> Bool {
    switch environment["THREADLOG_REPLY_REQUIRE_FROM"] ?? "" {
    case "", "off": return false
    case "on": return true
    default: throw ReplyAddressError("THREADLOG_REPLY_REQUIRE_FROM must be on or off")
    }
}

/// `THREADLOG_INBOUND_SMTP` as `host:port`.
func inboundAddress(_ text: String) throws -> (host: String, port: Int) {
    do {
        return try InboundMailService.address(text)
    } catch let error as ReplyAddressError {
        throw ReplyAddressError("THREADLOG_INBOUND_SMTP \(error.message)")
    }
}
