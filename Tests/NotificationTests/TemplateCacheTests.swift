import Foundation
import Messaging
import Mustache
import Testing

@testable import Engine

/// Memoised renderings must be exactly what running the template gives, for any context.
@Suite("Template renderings")
struct TemplateCacheTests {
    static let templates = [
        "Hello {{recipient.name}}, new message{{#author.shown}} from {{author.name}}{{/author.shown}} in {{thread.title}}",
        "#{{message.number}}: {{message.text}} ({{thread.status}})",
        "{{^single}}many{{/single}}{{#single}}one{{/single}}: {{#threads}}- {{title}} {{link}}\n{{/threads}}",
        "{{! a comment naming nothing }}{{{thread.title}}} {{& subject.ref}}",
        "{{#thread}}{{title}}/{{number}}{{/thread}} {{#threads}}{{link}} {{/threads}}{{^threads}}none{{/threads}}",
        "{{=<% %>=}}<% thread.title %>",
        "{{ uppercased(thread.title) }} {{#thread.category}}in {{thread.category}}{{/thread.category}}",
        "unclosed {{#thread}} section",
    ]

    static func context(_ random: inout some RandomNumberGenerator) -> MailContext {
        func pick(_ values: [String]) -> String { values.randomElement(using: &random)! }
        var context = MailContext()
        context.subject = Subject(kind: "contract", ref: pick(["C-1", "C-2"]))
        context.thread = .init(
            id: "t1", title: pick(["Invoice", "Löhne", "A & B"]), number: pick(["C-1", "TT2"]), link: "https://x/t1",
            status: pick(["open", "closed"]), priority: "normal", category: Bool.random(using: &random) ? pick(["billing", "hr"]) : nil)
        context.author = pick(["", "Hana", "Sam"])
        context.recipient = .init(name: pick(["Ann", "Bob"]), email: "x@y")
        context.message = PostedMessage(
            number: Int.random(in: 1...3, using: &random), author: "sam", kind: .message, format: .plain, text: pick(["hi", "<b>", "ok"]),
            attachments: [], timeMillis: 0, position: 1)
        context.unread = Int.random(in: 1...3, using: &random)
        context.threads = (0..<context.unread!).map { .init(title: "T\($0)", number: "C-\($0)", link: "https://x/\($0)") }
        return context
    }

    @Test func memoisedRenderingsAreTheTemplatesOwn() throws {
        let cache = TemplateCache(capacity: 64)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let text = Self.templates.randomElement(using: &random)!
            let context = Self.context(&random)
            let oneLine = Bool.random(using: &random)
            var fresh = (try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text))?.render(context.dictionary) ?? text
            if oneLine { fresh = NotificationRules.oneLine(fresh) }
            #expect(cache.render(text, context, oneLine: oneLine) == fresh, "\(text)")
        }
    }

    @Test func namesAreTheTagsFirstSegments() {
        #expect(TemplateCache.names(in: Self.templates[0]) == ["author", "recipient", "thread"])
        #expect(TemplateCache.names(in: Self.templates[2]) == ["link", "single", "threads", "title"])
        #expect(TemplateCache.names(in: Self.templates[3]) == ["subject", "thread"])
        // The bare context and custom delimiters cannot be told from the text: never memoised.
        #expect(TemplateCache.names(in: Self.templates[4]) == ["link", "number", "thread", "threads", "title"])
        #expect(TemplateCache.names(in: "{{.}}") == nil)
        #expect(TemplateCache.names(in: Self.templates[5]) == nil)
    }
}
