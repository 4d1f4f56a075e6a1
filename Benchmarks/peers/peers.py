"""Threadlog's log next to its peers on the same workload, in one table.

The peers: Python's `eventsourcing` library on SQLite (an Application, one thread per appender) and
PostgreSQL 15 (plain INSERTs, one connection per appender; COPY for batches). The workload is the one
of `threadlog-bench log`: about 300 bytes per stored event, 10,000 streams, durable commits; 64
concurrent appenders with one event per command, then one appender writing batches of 100 and 1000
events per append, then a replay that decodes every payload.

Threadlog's figures come from the file that `threadlog-bench` (and Benchmarks/http-bench.sh) wrote in
the same run, one `name value` line each. Run through Benchmarks/peers/bench.sh (make bench-peers).
"""

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

STREAMS = 10_000
APPENDERS = 64
# The payload of threadlog-bench's appends, 175 bytes.
PAYLOAD = '{"body":"' + "m" * 149 + '","kind":"text"}'
# The text of a message.posted event whose stored form is about 300 bytes, as threadlog-bench's replay
# log has it.
TEXT = "m" * 71


class Thread(Aggregate):
    """A message thread: opened once, then one MessagePosted event per posted message."""

    @event("Opened")
    def __init__(self, ref: str):
        self.ref = ref
        self.messages = 0

    @event("MessagePosted")
    def post(self, number: int, author: str, kind: str, format: str, text: str, attachments: list):
        self.messages = number


class Threads(Application):
    pass


def rate(count, seconds):
    return count / seconds if seconds > 0 else 0.0


def fmt(value):
    return f"{value:,.0f}"


# --- eventsourcing on SQLite -------------------------------------------------------------------------


def open_app(directory):
    app = Threads(env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": os.path.join(directory, "events.sqlite"),
    })
    # 64 threads queue for the one writer connection; the pool's default wait (5 s) is for fewer.
    app.recorder.datastore.pool.pool_timeout = 120.0
    return app


def sqlite_settings(app):
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    return journal, synchronous


def opened_threads(app, count):
    threads = [Thread(ref=f"thread-{i}") for i in range(count)]
    for start in range(0, count, 1000):
        app.save(*threads[start:start + 1000])
    return threads


def post(thread, author="user-1"):
    thread.post(number=thread.messages + 1, author=author, kind="message", format="plain", text=TEXT,
                attachments=[])


def es_appenders(directory, seconds):
    """64 threads, each posting to its own share of the 10,000 threads and saving after every post."""
    app = open_app(directory)
    journal, synchronous = sqlite_settings(app)
    threads = opened_threads(app, STREAMS)
    counts = [0] * APPENDERS
    failures = []
    start_line = threading.Barrier(APPENDERS + 1)

    def appender(index):
        mine = threads[index::APPENDERS]
        picker = random.Random(index + 1)
        try:
            start_line.wait()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                thread = mine[picker.randrange(len(mine))]
                post(thread)
                app.save(thread)
                counts[index] += 1
        except Exception as error:  # reported below: a failed save must not pass as a slow one
            failures.append(error)

    workers = [threading.Thread(target=appender, args=(i,)) for i in range(APPENDERS)]
    for worker in workers:
        worker.start()
    start_line.wait()
    started = time.monotonic()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    if failures:
        raise failures[0]
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT avg(length(originator_id) + 8 + length(topic) + length(state)) FROM stored_events "
                       "WHERE topic LIKE '%MessagePosted'")
        size = cursor.fetchone()[0]
    app.close()
    return rate(sum(counts), elapsed), journal, synchronous, size


def es_batches(directory, batch, seconds):
    """One appender: `batch` posts to random threads saved together (one transaction) per append."""
    app = open_app(directory)
    threads = opened_threads(app, STREAMS)
    picker = random.Random(7)
    written = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds or written < 2 * batch:
        touched = {}
        for _ in range(batch):
            thread = threads[picker.randrange(STREAMS)]
            post(thread)
            touched[thread.id] = thread
        app.save(*touched.values())
        written += batch
    elapsed = time.monotonic() - started
    app.close()
    return rate(written, elapsed)


def es_replay(directory, events):
    """`events` MessagePosted events read back through the notification log, each decoded into its
    domain event object by the application's mapper."""
    app = open_app(directory)
    threads = opened_threads(app, STREAMS)
    # The log is filled with stored events made by the mapper from a real event (not timed).
    sample = threads[0]
    post(sample)
    stored = app.mapper.to_stored_event(sample.collect_events()[0])
    versions = [2] * STREAMS
    picker = random.Random(11)
    for start in range(0, events, 10_000):
        chunk = []
        for _ in range(min(10_000, events - start)):
            k = picker.randrange(STREAMS)
            chunk.append(StoredEvent(originator_id=threads[k].id, originator_version=versions[k],
                                     topic=stored.topic, state=stored.state))
            versions[k] += 1
        app.recorder.insert_events(chunk)
    decoded = 0
    text_bytes = 0
    started = time.monotonic()
    position = 1
    while True:
        notifications = app.recorder.select_notifications(position, 10_000)
        if not notifications:
            break
        for notification in notifications:
            domain_event = app.mapper.to_domain_event(notification)
            text_bytes += len(getattr(domain_event, "text", ""))
            decoded += 1
        position = notifications[-1].id + 1
    elapsed = time.monotonic() - started
    app.close()
    assert decoded == events + STREAMS and text_bytes == events * len(TEXT)
    return rate(decoded, elapsed), decoded


# --- PostgreSQL --------------------------------------------------------------------------------------

SCHEMA = """
DROP TABLE IF EXISTS events;
CREATE TABLE events (
    position bigserial PRIMARY KEY,
    stream text NOT NULL,
    version int NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    UNIQUE (stream, version)
);
"""
INSERT = "INSERT INTO events (stream, version, type, data) VALUES (%s, %s, %s, %s::jsonb)"


def pg_reset(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("CHECKPOINT")


def pg_settings(url):
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes")}


def pg_appenders(url, seconds):
    """64 connections, each inserting one event per transaction (autocommit) into its own share of
    the 10,000 streams, with the version it expects next."""
    pg_reset(url)
    counts = [0] * APPENDERS
    failures = []
    start_line = threading.Barrier(APPENDERS + 1)

    def appender(index):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                mine = [f"thread-{k}" for k in range(index, STREAMS, APPENDERS)]
                versions = dict.fromkeys(mine, 0)
                picker = random.Random(index + 1)
                start_line.wait()
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    stream = mine[picker.randrange(len(mine))]
                    versions[stream] += 1
                    conn.execute(INSERT, (stream, versions[stream], "message.posted", PAYLOAD))
                    counts[index] += 1
        except Exception as error:
            failures.append(error)
            start_line.abort()

    workers = [threading.Thread(target=appender, args=(i,)) for i in range(APPENDERS)]
    for worker in workers:
        worker.start()
    start_line.wait()
    started = time.monotonic()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    if failures:
        raise failures[0]
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT avg(pg_column_size(e.*)) FROM events e").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert stored == sum(counts)
    return rate(sum(counts), elapsed), float(size)


def pg_batches(url, batch, seconds, copy):
    """One connection: `batch` events to random streams per transaction, by executemany of the
    INSERT (psycopg pipelines it) or by COPY."""
    pg_reset(url)
    versions = [0] * STREAMS
    picker = random.Random(7)
    written = 0
    with psycopg.connect(url) as conn:
        started = time.monotonic()
        while time.monotonic() - started < seconds or written < 2 * batch:
            rows = []
            for _ in range(batch):
                k = picker.randrange(STREAMS)
                versions[k] += 1
                rows.append((f"thread-{k}", versions[k], "message.posted", PAYLOAD))
            with conn.transaction():
                with conn.cursor() as cursor:
                    if copy:
                        with cursor.copy("COPY events (stream, version, type, data) FROM STDIN") as out:
                            for row in rows:
                                out.write_row(row)
                    else:
                        cursor.executemany(INSERT, rows)
            written += batch
        elapsed = time.monotonic() - started
    return rate(written, elapsed)


# --- The table ---------------------------------------------------------------------------------------


def read_figures(path):
    figures = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                figures[parts[0]] = float(parts[1])
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", required=True, help="Threadlog's figures of this run")
    parser.add_argument("--pg-url", default=os.environ.get("THREADLOG_TEST_PG_URL"))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("PEER_SECONDS", "5")),
                        help="how long each write figure runs")
    parser.add_argument("--replay-events", type=int, default=int(os.environ.get("PEER_REPLAY_EVENTS", "200000")))
    args = parser.parse_args()
    if not args.pg_url:
        sys.exit("peers: no PostgreSQL URL (run through Benchmarks/peers/bench.sh)")
    threadlog = read_figures(args.figures)
    missing = [name for name in ("appenders64", "batch100", "batch1000", "replay_decoded") if name not in threadlog]
    if missing:
        sys.exit(f"peers: {args.figures} lacks Threadlog's figures {', '.join(missing)}")

    scratch = tempfile.mkdtemp(prefix="threadlog-peers-", dir=os.environ.get("TMPDIR", "/tmp"))

    def fresh(name):
        path = os.path.join(scratch, name)
        os.makedirs(path)
        return path

    try:
        import eventsourcing.sqlite  # noqa: F401 (the persistence module the application loads)
        from importlib.metadata import version
        print(f"Peers on the workload of threadlog-bench log ({STREAMS} streams, about 300-byte events, durable "
              f"commits); each write figure runs {args.seconds:g} s")
        print(f"  eventsourcing {version('eventsourcing')} on SQLite {sqlite3.sqlite_version} (Python "
              f"{sys.version.split()[0]}), psycopg {version('psycopg')}")
        settings = pg_settings(args.pg_url)
        print("  PostgreSQL " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        print("  load average at the start (1, 5, 15 min): " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
        if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
            sys.exit("peers: PostgreSQL is not durable here (fsync and synchronous_commit must be on)")
        sys.stdout.flush()

        es64, journal, synchronous, es_size = es_appenders(fresh("es64"), args.seconds)
        print(f"  eventsourcing, 64 threads, 1 event per save: {fmt(es64)} ev/s "
              f"(journal_mode={journal}, synchronous={synchronous}; {es_size:.0f} bytes per stored event)", flush=True)
        if synchronous not in ("FULL", "EXTRA"):
            sys.exit("peers: SQLite is not durable here (synchronous must be FULL)")
        pg64, pg_size = pg_appenders(args.pg_url, args.seconds)
        print(f"  PostgreSQL INSERT, 64 connections, 1 event per transaction: {fmt(pg64)} ev/s "
              f"({pg_size:.0f} bytes per row)", flush=True)
        batches = {}
        for batch in (100, 1000):
            es = es_batches(fresh(f"es{batch}"), batch, args.seconds)
            insert = pg_batches(args.pg_url, batch, args.seconds, copy=False)
            copy = pg_batches(args.pg_url, batch, args.seconds, copy=True)
            batches[batch] = (es, insert, copy)
            print(f"  batches of {batch}: eventsourcing {fmt(es)} ev/s, PostgreSQL INSERT {fmt(insert)} ev/s, "
                  f"COPY {fmt(copy)} ev/s", flush=True)
        started = time.monotonic()
        es_replay_rate, replayed = es_replay(fresh("replay"), args.replay_events)
        print(f"  eventsourcing decoded read of {fmt(replayed)} events (notification log, mapper): "
              f"{fmt(es_replay_rate)} ev/s ({time.monotonic() - started:.0f} s with filling the log)", flush=True)
        print("  load average at the end (1, 5, 15 min): " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rows = []  # (figure, Threadlog's figure, peer, peer's figure, target ratio or None)
    rows.append(("64 appenders, 1 event per command", threadlog["appenders64"], "eventsourcing/SQLite, 64 threads", es64, 20))
    rows.append(("", threadlog["appenders64"], "PostgreSQL INSERT, 64 connections", pg64, 8))
    if "http_posts" in threadlog:
        rows.append(("HTTP posts, 64 connections", threadlog["http_posts"], "eventsourcing/SQLite, 64 threads", es64, None))
        rows.append(("", threadlog["http_posts"], "PostgreSQL INSERT, 64 connections", pg64, None))
    for batch in (100, 1000):
        es, insert, copy = batches[batch]
        figure = threadlog[f"batch{batch}"]
        rows.append((f"batches of {batch} events per append", figure, "eventsourcing/SQLite", es, None))
        rows.append(("", figure, "PostgreSQL INSERT", insert, None))
        rows.append(("", figure, "PostgreSQL COPY", copy, None))
    replay_label = "eventsourcing decoded read"
    if replayed < 1_000_000:
        replay_label = f"eventsourcing decoded read, {replayed // 1000}k ev"
    rows.append(("replay of 1M events, payloads decoded", threadlog["replay_decoded"], replay_label, es_replay_rate, 10))

    print("")
    print("Threadlog against its peers (ratio = Threadlog's figure / the peer's, same run)")
    print("")
    print(f"{'figure':<40} {'Threadlog ev/s':>14}   {'peer':<40} {'peer ev/s':>10}   {'ratio':>8}   target")
    for figure, ours, peer, theirs, target in rows:
        ratio = ours / theirs if theirs > 0 else float("inf")
        if target is None:
            verdict = "-"
        else:
            verdict = f"≥ {target}× ({'met' if ratio >= target else 'not met'})"
        print(f"{figure:<40} {fmt(ours):>14}   {peer:<40} {fmt(theirs):>10}   {ratio:>7.1f}×   {verdict}")
    if "http_posts" not in threadlog:
        print("(HTTP posts: make bench measures them; make bench-peers alone does not)")


if __name__ == "__main__":
    main()
