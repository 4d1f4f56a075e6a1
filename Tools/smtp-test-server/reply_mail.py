"""Builds reply mails with Python's `email` package, for the tests of replies by mail.

    reply_mail.py build SPEC_JSON OUT_FILE   writes the message's bytes
    reply_mail.py send HOST PORT SPEC_JSON   sends it with smtplib; prints {"ok", "code", "stage", "text"}

SPEC: {"from", "to", "rcpt": [envelope recipients], "subject", "message_id", "text", "html",
       "repeat" (the text so many times), "charset" (default utf-8), "cte" (quoted-printable, base64, 8bit, 7bit), "attachments": [{"name", "data"}]}
"""
import json
import smtplib
import sys
from email.message import EmailMessage


def build(spec):
    msg = EmailMessage()
    msg["From"] = spec["from"]
    msg["To"] = spec["to"]
    msg["Subject"] = spec.get("subject", "Re: New message")
    if spec.get("message_id"):
        msg["Message-ID"] = spec["message_id"]
    for name, value in spec.get("headers", {}).items():
        msg[name] = value
    charset = spec.get("charset", "utf-8")
    cte = spec.get("cte")
    text, html = spec.get("text"), spec.get("html")
    if text is not None and spec.get("repeat"):
        # A large body without a large command line.
        text = text * int(spec["repeat"])
    if text is not None:
        msg.set_content(text, charset=charset, cte=cte)
        if html is not None:
            msg.add_alternative(html, subtype="html", charset=charset, cte=cte)
    else:
        msg.set_content(html, subtype="html", charset=charset, cte=cte)
    for attachment in spec.get("attachments", []):
        msg.add_attachment(attachment["data"].encode(), maintype="application", subtype="octet-stream",
                           filename=attachment["name"])
    return msg


def send(host, port, spec):
    msg = build(spec)
    rcpt = spec.get("rcpt") or [spec["to"]]
    with smtplib.SMTP(host, int(port), timeout=20) as client:
        client.ehlo("tests.example")
        try:
            client.send_message(msg, from_addr=spec.get("envelope_from", spec["from"]), to_addrs=rcpt)
            code, text = client.noop()
            return {"ok": True, "code": 250, "stage": "done", "text": ""}
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            return {"ok": False, "code": code, "stage": "rcpt", "text": text.decode()}
        except smtplib.SMTPDataError as e:
            return {"ok": False, "code": e.smtp_code, "stage": "data", "text": e.smtp_error.decode()}
        except smtplib.SMTPSenderRefused as e:
            return {"ok": False, "code": e.smtp_code, "stage": "mail", "text": e.smtp_error.decode()}


if __name__ == "__main__":
    if sys.argv[1] == "build":
        with open(sys.argv[3], "wb") as f:
            f.write(build(json.loads(sys.argv[2])).as_bytes())
    else:
        print(json.dumps(send(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))))
