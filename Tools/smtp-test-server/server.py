#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for the SMTP client's tests.

Listens on 127.0.0.1, prints "PORT <n>" once it accepts connections, and writes each accepted
message to DIR as NNNN.eml (the bytes as received, after dot-unstuffing) beside NNNN.json (the
envelope: mail_from, rcpt_tos, helo, esmtp, auth_user, tls: the TLS version or null). With
--command-log FILE it appends the verb of every EHLO, HELO, STARTTLS, AUTH and MAIL command it
receives to FILE, one a line, so a test can tell what the client sent. Failure modes are chosen with flags so a
test can see how the client handles 4xx and 5xx answers. Stops on SIGTERM or SIGINT, and also when
its standard input closes if --exit-on-stdin-eof is given (so a crashed test leaves no server behind).

TLS: --tls-cert and --tls-key (PEM) with --starttls offer STARTTLS and refuse mail and AUTH before
it; with --implicit-tls the server speaks TLS from the first byte (smtps). --inject-after-starttls
sends the start of a reply in clear right behind the 220 to STARTTLS, as an attacker in the path
could, to be read as the start of the first reply over TLS.

With --listeners, one process serves many tests: each `listen MAILDIR COMMANDLOG` line on standard
input opens a listener of its own on a free port, with its own mail directory and command log, and
is answered `PORT <n>`; `close <n>` closes it (answered `CLOSED <n>`). The other flags apply to every
listener. The end of standard input stops the process.

    server.py --listeners [flags]
    server.py --port 0 --maildir DIR [--fail-4xx N [--fail-stage mail|rcpt|data]]
              [--reject-5xx-rcpt ADDR]... [--reject-5xx-data N] [--delay-data SECONDS]
              [--no-ehlo] [--auth USER:PASS [--auth-exclude MECH]...] [--command-log FILE]
              [--tls-cert PEM --tls-key PEM (--starttls [--inject-after-starttls] | --implicit-tls)]
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, args, maildir):
        self.maildir = maildir
        self.fail_4xx = args.fail_4xx
        self.fail_stage = args.fail_stage
        self.reject_rcpt = {address.lower() for address in args.reject_5xx_rcpt}
        self.reject_data = args.reject_5xx_data
        self.delay_data = args.delay_data
        self.count = 0

    def _take_4xx(self, stage):
        if self.fail_stage == stage and self.fail_4xx > 0:
            self.fail_4xx -= 1
            return True
        return False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._take_4xx("mail"):
            return "451 4.3.0 Temporary failure, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.rcpt_tos = []
        envelope.test_deferred = False
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        # One deferral per transaction, however many recipients it has.
        if getattr(envelope, "test_deferred", False) or self._take_4xx("rcpt"):
            envelope.test_deferred = True
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay_data > 0:
            await asyncio.sleep(self.delay_data)
        if self._take_4xx("data"):
            return "452 4.3.1 Insufficient system storage, try again later"
        if self.reject_data > 0:
            self.reject_data -= 1
            return "554 5.6.0 Message content rejected"
        self.count += 1
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        base = os.path.join(self.maildir, f"{self.count:04d}")
        envelope_info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "helo": session.host_name,
            "esmtp": session.extended_smtp,
            "auth_user": session.auth_data.login.decode() if session.authenticated else None,
            "tls": ssl_object.version() if ssl_object else None,
        }
        # Written under temporary names and renamed, so a reader never sees half a message.
        for suffix, data in ((".json", json.dumps(envelope_info).encode()), (".eml", envelope.original_content)):
            with open(base + suffix + ".tmp", "wb") as file:
                file.write(data)
            os.replace(base + suffix + ".tmp", base + suffix)
        return f"250 2.0.0 OK queued as {self.count:04d}"


class TestSMTP(SMTP):
    def __init__(self, *args, no_ehlo=False, command_log=None, inject_after_starttls=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.no_ehlo = no_ehlo
        self.command_log = command_log
        self.inject_after_starttls = inject_after_starttls

    def _record(self, verb):
        if self.command_log:
            with open(self.command_log, "a") as file:
                file.write(verb + "\n")

    async def smtp_HELO(self, hostname):
        self._record("HELO")
        await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg):
        self._record("STARTTLS")
        if self.inject_after_starttls:
            # The 220 and the injected bytes (no line end) leave in one write, so the client reads them together.
            original = self.push

            async def push(status):
                self.push = original
                self._writer.write(status.encode() + b"\r\n250 2.0.0 injected in clear ")
                await self._writer.drain()

            self.push = push
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        self._record("AUTH")
        await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg):
        self._record("MAIL")
        await super().smtp_MAIL(arg)

    async def smtp_EHLO(self, hostname):
        self._record("EHLO")
        if self.no_ehlo:
            await self.push("502 5.5.1 EHLO not implemented")
            return
        await super().smtp_EHLO(hostname)


async def main(args):
    credentials = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        credentials = (user.encode(), password.encode())

    def check_login(mechanism, login, password):
        return (login, password) == credentials

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    def make_protocol(handler, command_log):
        return TestSMTP(
            handler,
            hostname="smtp-test-server",
            no_ehlo=args.no_ehlo,
            command_log=command_log,
            inject_after_starttls=args.inject_after_starttls,
            auth_required=credentials is not None,
            # With STARTTLS offered, AUTH waits for it, as a real server's would.
            auth_require_tls=args.starttls,
            auth_callback=check_login if credentials else None,
            auth_exclude_mechanism=args.auth_exclude,
            tls_context=tls_context if args.starttls else None,
            require_starttls=args.starttls,
        )

    async def listen(maildir, command_log, port):
        os.makedirs(maildir, exist_ok=True)
        handler = Handler(args, maildir)
        server = await loop.create_server(
            lambda: make_protocol(handler, command_log), host="127.0.0.1", port=port,
            ssl=tls_context if args.implicit_tls else None)
        return server, server.sockets[0].getsockname()[1]

    loop = asyncio.get_running_loop()
    servers = {}
    if not args.listeners:
        server, port = await listen(args.maildir, args.command_log, args.port)
        servers[port] = server
        print(f"PORT {port}", flush=True)

    stop = asyncio.Event()
    # A parent may start us with signals blocked (threads of some runtimes block them, and a
    # child inherits the mask); unblock them or SIGTERM would never arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.listeners:
        async def close(port):
            server = servers.pop(port, None)
            if server:
                server.close()

        def serve_requests():
            for line in sys.stdin:
                words = line.split()
                if words[:1] == ["listen"]:
                    server, port = asyncio.run_coroutine_threadsafe(
                        listen(words[1], words[2], 0), loop).result()
                    servers[port] = server
                    print(f"PORT {port}", flush=True)
                elif words[:1] == ["close"]:
                    asyncio.run_coroutine_threadsafe(close(int(words[1])), loop).result()
                    print(f"CLOSED {words[1]}", flush=True)
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=serve_requests, daemon=True).start()
    elif args.exit_on_stdin_eof:
        def watch_stdin():
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
    await stop.wait()
    for server in servers.values():
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--maildir")
    parser.add_argument("--listeners", action="store_true",
                        help="listen on request: each stdin line `listen MAILDIR COMMANDLOG` opens a port of "
                             "its own (answered `PORT <n>`), `close <n>` closes it; stdin's end stops the server")
    parser.add_argument("--fail-4xx", type=int, default=0, metavar="N",
                        help="answer 4xx in the next N transactions")
    parser.add_argument("--fail-stage", choices=("mail", "rcpt", "data"), default="data",
                        help="where --fail-4xx answers (default: after the content)")
    parser.add_argument("--reject-5xx-rcpt", action="append", default=[], metavar="ADDR",
                        help="answer 550 to RCPT TO this address")
    parser.add_argument("--reject-5xx-data", type=int, default=0, metavar="N",
                        help="answer 554 to the content of the next N transactions")
    parser.add_argument("--delay-data", type=float, default=0, metavar="SECONDS",
                        help="wait this long before answering the content")
    parser.add_argument("--no-ehlo", action="store_true", help="refuse EHLO with 502, as an old server would")
    parser.add_argument("--auth", metavar="USER:PASS", help="require AUTH with these credentials")
    parser.add_argument("--auth-exclude", action="append", default=[], metavar="MECH",
                        help="do not offer this AUTH mechanism (PLAIN, LOGIN)")
    parser.add_argument("--command-log", metavar="FILE", help="append the verb of each command received here")
    parser.add_argument("--tls-cert", metavar="PEM", help="the server's certificate chain")
    parser.add_argument("--tls-key", metavar="PEM", help="the server certificate's private key")
    tls_mode = parser.add_mutually_exclusive_group()
    tls_mode.add_argument("--starttls", action="store_true", help="offer STARTTLS and require it")
    tls_mode.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (smtps)")
    parser.add_argument("--inject-after-starttls", action="store_true",
                        help="send the start of a reply in clear right behind the 220 to STARTTLS")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    arguments = parser.parse_args()
    if not arguments.maildir and not arguments.listeners:
        parser.error("--maildir is required unless --listeners is given")
    if (arguments.starttls or arguments.implicit_tls) and not (arguments.tls_cert and arguments.tls_key):
        parser.error("--starttls and --implicit-tls need --tls-cert and --tls-key")
    # aiosmtpd warns about AUTH without TLS; on loopback in tests that is the point.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(main(arguments))
