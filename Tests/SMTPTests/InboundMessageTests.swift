import Foundation
import Testing

@testable import SMTP

@Suite("Reading replies")
struct InboundMessageTests {
    func mail(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test("headers are unfolded and encoded-words decoded")
    func headers() {
        let message = InboundMessage(
            parsing: mail(
                """
                From: =?iso-8859-1?Q?J=F6rg?= <jorg@example.com>
                Subject: =?utf-8?B?UmU6IFJpc3Bvc3Rh?=
                 =?utf-8?Q?_gi=C3=A0?= pronta
                Message-ID: <abc@example.com>
                To: "Reply" <reply+tok@threads.example>, other@example.com

                Hello
                """))
        #expect(message.header("from") == "Jörg <jorg@example.com>")
        #expect(message.header("Subject") == "Re: Risposta già pronta")
        #expect(message.messageID == "abc@example.com")
        #expect(
            InboundMessage.addresses(in: message.header("To") ?? "") == [
                "reply+tok@threads.example", "other@example.com",
            ])
        #expect(message.text == "Hello")
    }

    @Test("quoted-printable Latin-1 and base64 UTF-8 bodies")
    func transferEncodings() {
        let qp = InboundMessage(
            parsing: mail(
                """
                Content-Type: text/plain; charset="iso-8859-1"
                Content-Transfer-Encoding: quoted-printable

                Gr=FC=DFe, a long line that goes on and on and on and on and on and o=
                n.
                """))
        #expect(qp.text == "Grüße, a long line that goes on and on and on and on and on and on.")
        let encoded = Data("Kiitos, selvä!\n".utf8).base64EncodedString()
        let b64 = InboundMessage(
            parsing: mail(
                """
                Content-Type: text/plain; charset=utf-8
                Content-Transfer-Encoding: base64

                \(encoded)
                """))
        #expect(b64.text == "Kiitos, selvä!\n")
    }

    @Test("multipart: text/plain is preferred, else the HTML without its tags; attachments are named")
    func multipart() {
        let alternative = InboundMessage(
            parsing: mail(
                """
                Content-Type: multipart/mixed; boundary="outer"

                --outer
                Content-Type: multipart/alternative; boundary=inner

                --inner
                Content-Type: text/plain; charset=utf-8

                Plain wins.
                --inner
                Content-Type: text/html; charset=utf-8

                <p>HTML loses.</p>
                --inner--
                --outer
                Content-Type: application/pdf; name="invoice.pdf"
                Content-Disposition: attachment; filename="invoice.pdf"
                Content-Transfer-Encoding: base64

                JVBERi0=
                --outer--
                """))
        #expect(alternative.text == "Plain wins.")
        #expect(alternative.attachmentNames == ["invoice.pdf"])
        let html = InboundMessage(
            parsing: mail(
                """
                Content-Type: multipart/alternative; boundary=b

                --b
                Content-Type: text/html; charset=utf-8

                <html><head><style>p {color: red}</style></head><body><div>Yes, paid on
                Monday &amp; filed.</div><div><br></div><div>Ann</div>
                <div class="gmail_quote">On Mon, Bob wrote:<blockquote>old</blockquote></div></body></html>
                --b--
                """))
        #expect(ReplyText.strip(html.text) == "Yes, paid on Monday & filed.\n\nAnn")
    }

    @Test("quoted history in English, Italian, French, Finnish, Outlook blocks and signatures are left out")
    func stripping() {
        let cases: [(String, String)] = [
            ("Thanks!\n\nOn Mon, 7 Dec 2026 at 10:00, Threadlog <noreply@x.example> wrote:\n> old text\n", "Thanks!"),
            ("Thanks!\n\nOn Mon, 7 Dec 2026 at 10:00, Threadlog\n<noreply@x.example> wrote:\n> old\n", "Thanks!"),
            (
                "Grazie.\n\nIl giorno lun 7 dic 2026 alle 10:00 Threadlog <n@x.example> ha scritto:\n> vecchio\n",
                "Grazie."
            ),
            ("Merci.\n\nLe lun. 7 déc. 2026 à 10:00, Threadlog <n@x.example> a écrit :\n> ancien\n", "Merci."),
            ("Kiitos.\n\nma 7.12.2026 klo 10.00 Threadlog <n@x.example> kirjoitti:\n> vanha\n", "Kiitos."),
            ("Done.\n\n-----Original Message-----\nFrom: A\nSent: today\n\nold\n", "Done."),
            (
                "Done.\n\n________________________________\nFrom: Threadlog <n@x.example>\nSent: Monday\nTo: me\n\nold\n",
                "Done."
            ),
            (
                "Done.\n\nFrom: Threadlog <n@x.example>\nSent: Monday, December 7, 2026 10:00\nSubject: x\n\nold\n",
                "Done."
            ),
            ("Fine by me.\n> quoted in between\nSee you.\n\n-- \nAnn Example\nACME\n", "Fine by me.\nSee you."),
            ("> only a quote\n\n-- \nsig\n", ""),
        ]
        for (input, expected) in cases {
            #expect(ReplyText.strip(input) == expected, "\(input.debugDescription)")
        }
    }

    @Test("the session answers the commands of RFC 5321 and undoes dot-stuffing")
    func session() {
        var session = InboundSMTPSession(hostname: "mx.test", maxMessageBytes: 100)
        func say(_ line: String) -> InboundSMTPSession.Step { session.receive(line: Array(line.utf8)[...]) }
        #expect(say("MAIL FROM:<a@b>") == .reply("503 5.5.1 say EHLO or HELO first"))
        guard case .reply(let ehlo) = say("EHLO client.test") else {
            Issue.record("no EHLO answer")
            return
        }
        #expect(ehlo.contains("250 ENHANCEDSTATUSCODES") && ehlo.contains("SIZE 100"))
        #expect(say("MAIL FROM:<a@b> SIZE=500") == .reply("552 5.3.4 the message is larger than 100 bytes"))
        #expect(say("MAIL FROM:<a@b>") == .reply("250 2.1.0 sender ok"))
        #expect(say("DATA") == .reply("554 5.5.1 no valid recipients"))
        #expect(say("RCPT TO:<reply+x@t>") == .checkRecipient("reply+x@t"))
        #expect(session.recipientChecked("reply+x@t", nil) == "250 2.1.5 recipient ok")
        #expect(say("NOOP") == .reply("250 2.0.0 ok"))
        #expect(say("DATA") == .reply("354 end data with <CR><LF>.<CR><LF>"))
        #expect(say("Subject: x") == .none)
        #expect(say("") == .none)
        #expect(say("..leading dot") == .none)
        #expect(say(".") == .deliver)
        #expect(String(decoding: session.envelope.data, as: UTF8.self) == "Subject: x\r\n\r\n.leading dot\r\n")
        #expect(session.delivered(InboundReply(250, "2.0.0 posted")) == "250 2.0.0 posted")
        // Too large: the whole message is read, then refused.
        #expect(say("MAIL FROM:<>") == .reply("250 2.1.0 sender ok"))
        _ = say("RCPT TO:<reply+x@t>")
        _ = session.recipientChecked("reply+x@t", nil)
        _ = say("DATA")
        for _ in 0..<10 { #expect(say(String(repeating: "x", count: 20)) == .none) }
        #expect(say(".") == .reply("552 5.3.4 the message is larger than 100 bytes"))
        #expect(say("RSET") == .reply("250 2.0.0 ok"))
        #expect(say("QUIT") == .close("221 2.0.0 bye"))
    }
}
