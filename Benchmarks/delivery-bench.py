#!/usr/bin/env python3
"""Delivery benchmark: events/s to a consumer group of three members and to a webhook, next to the
raw SSE tail of /v1/events, over the same log, in the same run.

Usage: delivery-bench.py URL ADMIN_TOKEN [EVENTS]. Fills the log with EVENTS message posts (16 posting
threads), then measures, one after the other:
  - the raw tail: one SSE stream of /v1/events from position 1 read to the log's head;
  - a group of three: members long-polling (up to 1000 events a call) and acknowledging each batch,
    until every message.posted event is acknowledged;
  - a webhook: a receiver on 127.0.0.1 answering 200 to every POST, until it has every message.
Prints events/s for each and the ratio to the raw tail.
"""

import hmac
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

URL = sys.argv[1].rstrip("/")
ADMIN = sys.argv[2]
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
HOST, PORT = urllib.parse.urlsplit(URL).hostname, urllib.parse.urlsplit(URL).port


def call(method, path, token, body=None, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection(HOST, PORT, timeout=120)
    headers = {"Authorization": "Bearer " + token}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=payload, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    if own:
        connection.close()
    if answer.status >= 300:
        raise SystemExit(f"delivery-bench: {method} {path} answered {answer.status}: {data[:300]!r}")
    return json.loads(data) if data else {}


def fill():
    call("POST", "/v1/parties", ADMIN, {"id": "acme", "name": "Acme", "kind": "internal"})
    user = call("POST", "/v1/users", ADMIN,
                {"id": "ann", "name": "Ann", "email": "ann@acme.test", "party": "acme", "roles": ["handler"]})
    token = user["token"]
    threads = [call("POST", "/v1/threads", token,
                    {"subject": {"kind": "request", "ref": f"D-{i}"}, "title": f"Delivery {i}"})["id"]
               for i in range(64)]
    body = "x" * 200

    def poster(offset):
        connection = http.client.HTTPConnection(HOST, PORT, timeout=120)
        for index in range(offset, EVENTS, 16):
            call("POST", f"/v1/threads/{threads[index % len(threads)]}/messages", token,
                 {"body": f"{body} {index}"}, connection)

    workers = [threading.Thread(target=poster, args=(i,)) for i in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def head():
    return call("GET", "/healthz", ADMIN)["position"]


def raw_tail(last):
    connection = http.client.HTTPConnection(HOST, PORT, timeout=120)
    start = time.perf_counter()
    connection.request("GET", "/v1/events?from=1", headers={"Authorization": "Bearer " + ADMIN,
                                                           "Accept": "text/event-stream"})
    answer = connection.getresponse()
    count = 0
    while True:
        line = answer.fp.readline()
        if not line:
            raise SystemExit("delivery-bench: the event stream ended early")
        if line.startswith(b"id: "):
            count += 1
            if int(line[4:]) >= last:
                break
    elapsed = time.perf_counter() - start
    connection.close()
    return count, elapsed


def group(wanted):
    call("POST", "/v1/consumer-groups", ADMIN, {"name": "bench", "types": ["message.posted"], "maxInFlight": 2000})
    done = set()
    lock = threading.Lock()

    def member(name):
        connection = http.client.HTTPConnection(HOST, PORT, timeout=120)
        while True:
            with lock:
                if len(done) >= wanted:
                    return
            page = call("GET", f"/v1/consumer-groups/bench/events?member={name}&max=1000&wait=1", ADMIN,
                        connection=connection)
            positions = [event["position"] for event in page["events"]]
            if positions:
                call("POST", "/v1/consumer-groups/bench/ack", ADMIN, {"member": name, "positions": positions},
                     connection)
                with lock:
                    done.update(positions)

    start = time.perf_counter()
    members = [threading.Thread(target=member, args=(f"m{i}",)) for i in range(3)]
    for thread in members:
        thread.start()
    for thread in members:
        thread.join()
    return len(done), time.perf_counter() - start


def webhook(wanted):
    received = set()
    finished = threading.Event()
    secret = b"delivery-bench-secret"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(secret, body, "sha256").hexdigest()
            if self.headers["X-Threadlog-Signature"] != expected:
                raise SystemExit("delivery-bench: a webhook body with a wrong signature")
            received.add(int(self.headers["X-Threadlog-Position"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if len(received) >= wanted:
                finished.set()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    start = time.perf_counter()
    call("POST", "/v1/webhooks", ADMIN, {"url": f"http://127.0.0.1:{server.server_port}/hook",
                                         "secret": secret.decode(), "types": ["message.posted"], "from": 1})
    if not finished.wait(600):
        raise SystemExit(f"delivery-bench: the webhook got {len(received)} of {wanted} events in 600 s")
    elapsed = time.perf_counter() - start
    server.shutdown()
    return len(received), elapsed


def main():
    fill()
    last = head()
    tail_count, tail_time = raw_tail(last)
    tail_rate = tail_count / tail_time
    group_count, group_time = group(EVENTS)
    hook_count, hook_time = webhook(EVENTS)
    print(f"delivery over {last} log events ({EVENTS} message.posted):")
    print(f"  raw SSE tail of /v1/events     {tail_rate:10.0f} events/s   1.00x")
    for name, count, seconds in (("consumer group of 3 (poll+ack)", group_count, group_time),
                                 ("webhook (one POST per event)  ", hook_count, hook_time)):
        rate = count / seconds
        print(f"  {name} {rate:10.0f} events/s   {rate / tail_rate:.3f}x of the raw tail")


if __name__ == "__main__":
    main()
