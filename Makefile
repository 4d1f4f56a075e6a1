# Threadlog: `make run` starts the service on ./data, `make test` runs the tests, `make bench` measures.
SWIFT ?= swift
DATA ?= ./data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast test-deps test-browser browser-deps smoke bench bench-deps bench-pg bench-http-pg bench-peers bench-peers-deps build release deps format clean crash-test install fuzz

# Installs the system packages the build needs when they are missing (Debian/Ubuntu).
deps:
	@if ! pkg-config --exists lmdb 2>/dev/null; then \
		echo "installing liblmdb-dev"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq liblmdb-dev pkg-config >/dev/null; \
	fi
	@python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
	@# A real SMTP server (aiosmtpd, and cryptography for the certificates of its TLS) for the mail
	@# tests and the API fuzzer (schemathesis), in a virtual environment of the checkout.
	@[ -x .venv/bin/aiosmtpd ] && [ -x .venv/bin/schemathesis ] && .venv/bin/python -c "import cryptography" 2>/dev/null || \
		{ python3 -m venv .venv && .venv/bin/pip install -q aiosmtpd cryptography jsonschema 'schemathesis>=4.30,<5'; }

# PostgreSQL for the tests of the PostgreSQL log (Tests/with-postgres.sh starts a throwaway cluster);
# `make run` does not need it.
test-deps: deps
	@if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then \
		echo "installing postgresql-15"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; \
	fi

# Headless Chromium, its driver and selenium (in ./.venv) for the browser tests of the web console.
browser-deps: deps
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing chromium and chromium-driver"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi
	@.venv/bin/python -c "import selenium" 2>/dev/null || .venv/bin/pip install -q 'selenium>=4.20,<5'

# The load generator of the HTTP benchmark.
bench-deps: deps
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

PREFIX ?= /usr/local

# The release binary on PATH, for the README's first session.
install: release
	install -d $(PREFIX)/bin
	install -m 0755 .build/release/threadlog $(PREFIX)/bin/threadlog

run: release
	$(SWIFT) run -c release threadlog serve --data $(DATA)

# The tests run beside a throwaway PostgreSQL cluster, stopped when they end (passed or not).
test: test-deps browser-deps
	./Tests/with-postgres.sh $(SWIFT) test --disable-xctest
	$(MAKE) --no-print-directory test-browser BROWSER_BUILD="$(SWIFT) build --build-tests"

# The web console in headless Chromium against a real `threadlog serve` (the debug build); the
# screenshots stay in $(SCREENSHOTS). After `swift test` the build with the tests is already there
# (building the product alone would compile the modules again without testability).
SCREENSHOTS ?= .build/browser-screenshots
BROWSER_BUILD ?= $(SWIFT) build --product threadlog
test-browser: browser-deps
	$(BROWSER_BUILD)
	.venv/bin/python Tests/browser/run.py --threadlog .build/debug/threadlog --screenshots $(SCREENSHOTS)

# The release build, which `make run` and `make install` use, through the browser scenarios: the
# optimizer must not change what the service does (the tests run the debug build). CI runs it after
# `make test`; `make bench` before measuring.
smoke: browser-deps
	$(SWIFT) build -c release --product threadlog
	.venv/bin/python Tests/browser/run.py --threadlog .build/release/threadlog --screenshots .build/release-screenshots

# The tests without those tagged `.slow` (kill -9 loops, crash tests, the API fuzzer), for a quick
# look while working; `make test` runs them all. `swift test` filters by test name, not by tag, so
# SLOW_TESTS names the tagged suites and tests (a test's name ends in its file name, hence the `/`).
SLOW_TESTS := CrashTests/|CrashLoopTests/|ServeNodesTests/|APIFuzzTests/|DigestCrashTests/|killedRunnerResumes|interruptedPurge
test-fast: test-deps
	./Tests/with-postgres.sh $(SWIFT) test --disable-xctest --skip '$(SLOW_TESTS)'

# 100 kill -9 cycles of serve under 16 posting clients (make test runs 3).
crash-test: deps
	THREADLOG_CRASH_CYCLES=$${CYCLES:-100} $(SWIFT) test --disable-xctest --filter CrashLoopTests

# schemathesis against a running serve with admin, user and service tokens, 200 examples per
# operation and phase (make test runs 12).
fuzz: deps
	THREADLOG_FUZZ_EXAMPLES=$${EXAMPLES:-200} $(SWIFT) test --disable-xctest --filter APIFuzzTests

# The peers of the benchmark in ./.venv: Python's eventsourcing (on SQLite) and psycopg for PostgreSQL 15.
bench-peers-deps: test-deps
	@.venv/bin/python -c "import eventsourcing, psycopg" 2>/dev/null || \
		.venv/bin/pip install -q 'eventsourcing==9.5.6' 'psycopg[binary]==3.3.9'

# Threadlog's figures of the run, written by threadlog-bench and http-bench.sh for the peer table.
BENCH_FIGURES := $(CURDIR)/.build/bench-figures.txt

bench: bench-deps bench-peers-deps smoke
	mkdir -p .build && rm -f $(BENCH_FIGURES)
	THREADLOG_BENCH_FIGURES=$(BENCH_FIGURES) $(SWIFT) run -c release threadlog-bench
	$(MAKE) --no-print-directory bench-pg PG_FIGURES=$(BENCH_FIGURES)
	THREADLOG_BENCH_FIGURES=$(BENCH_FIGURES) ./Benchmarks/http-bench.sh
	$(MAKE) --no-print-directory bench-http-pg
	./Benchmarks/delivery-bench.sh
	$(MAKE) --no-print-directory bench-peers PEER_FIGURES=$(BENCH_FIGURES)

# The PostgreSQL log (one node, and three nodes on one database) against raw PostgreSQL 15 doing the same
# writes, in a throwaway cluster with fsync on: durable commits, as the LMDB figures.
# THREADLOG_BENCH_PG_SECONDS sets the length of each figure (5 s).
bench-pg: test-deps
	$(SWIFT) build -c release --product threadlog-bench
	THREADLOG_BENCH_FIGURES=$(PG_FIGURES) PG_FSYNC=on ./Tests/with-postgres.sh \
		sh -c '$(SWIFT) run -c release threadlog-bench pg --url "$$THREADLOG_TEST_PG_URL"'

# The HTTP benchmark against a node whose log is on PostgreSQL (a throwaway cluster, fsync on).
bench-http-pg: bench-deps test-deps
	PG_FSYNC=on ./Tests/with-postgres.sh sh -c 'STORE="$$THREADLOG_TEST_PG_URL" ROUNDS=$${ROUNDS:-1} ./Benchmarks/http-bench.sh'

# eventsourcing on SQLite and PostgreSQL 15 on the log's workload, as ratios against Threadlog's figures
# of the same run: those of `make bench` (PEER_FIGURES), or alone a run of `threadlog-bench log` first.
bench-peers: bench-peers-deps
	SWIFT=$(SWIFT) ./Benchmarks/peers/bench.sh $(PEER_FIGURES)

format:
	$(SWIFT) format --in-place --recursive Sources Tools Tests Benchmarks

clean:
	rm -rf .build
