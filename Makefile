# lamers — build, test, benchmark.
#
# One set of build flags everywhere: go-sqlite3 is a large cgo package and
# any change of flags (-race, -trimpath, tags) rebuilds it from scratch.

GO      ?= go
BIN     ?= bin/lamers
DEMO_DB ?= lamers.db

.PHONY: all build demo test unit e2e deps bench fuzz vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/lamers

# The main job on the bundled sample logs (real BIND 9.18 and Unbound 1.17
# logs from a lab with broken delegations), with the embedded defaults. The
# other files in testdata/lab hold the same BIND events in other prefix
# styles; scanning them too would count each event once per copy.
DEMO_LOGS ?= testdata/lab/bind9.log testdata/lab/unbound.log testdata/lab/unbound-dump_infra.txt
demo: build
	$(BIN) --db $(DEMO_DB) scan $(DEMO_LOGS)
	$(BIN) --db $(DEMO_DB) report

# Everything CI runs: installs what the end-to-end suite needs (BIND 9,
# Unbound, NSD, tinydns, rsyslog, Postfix, promtool) and Chromium (the digest's
# render check), then vets and runs every test.
test: deps vet
	$(GO) test -count=1 ./...

unit: vet
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e: deps
	$(GO) test -count=1 -v ./e2e/

deps:
	./e2e/deps.sh

vet:
	$(GO) vet ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./parser/ ./store/ ./resolver/
	./bench/run.sh
	./bench/daemon.sh

# Short fuzzing of every fuzz target of every package. go test -fuzz runs
# one target at a time, so the targets are listed with go test -list: a
# target added later is fuzzed without editing this file.
FUZZTIME ?= 30s
fuzz:
	@set -e; \
	list=$$($(GO) test -list '^Fuzz' ./...); \
	targets=$$(echo "$$list" | awk '/^Fuzz/ { f[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }'); \
	[ -n "$$targets" ] || { echo "make fuzz: no fuzz targets found" >&2; exit 1; }; \
	echo "$$targets" | while read -r pkg target; do \
		echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

clean:
	rm -rf bin
