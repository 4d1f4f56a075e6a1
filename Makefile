# Threadlog: `make run` starts the service on ./data, `make test` runs the tests, `make bench` measures.
SWIFT ?= swift
DATA ?= ./data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench build release deps format clean

# Installs the system packages the build needs when they are missing (Debian/Ubuntu).
deps:
	@if ! pkg-config --exists lmdb 2>/dev/null; then \
		echo "installing liblmdb-dev"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq liblmdb-dev pkg-config >/dev/null; \
	fi
	@python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	$(SWIFT) run -c release threadlog serve --data $(DATA)

test: deps
	$(SWIFT) test --disable-xctest

bench: deps
	$(SWIFT) run -c release threadlog-bench

format:
	$(SWIFT) format --in-place --recursive Sources Tools Tests Benchmarks

clean:
	rm -rf .build
