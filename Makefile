# skiff: build, run, test, benchmark.
#   make run    build skiffd and run it on its embedded in-memory default (:3500)
#   make test   everything CI runs: lint, unit + race, black-box, SDK, short fuzz
#   make bench  the benchmark suite (bench/run.sh); results in bench/out/
GO        ?= go
BIN       := bin
FUZZTIME  ?= 200000x
# Go minimizes every new interesting input for up to 60 s by default, which
# stalls a short run for minutes on a large input: bound it in executions.
FUZZMINTIME ?= 2000x
APP_ID    ?= myapp
RUN_ARGS  ?=
export CGO_ENABLED ?= 0

GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

.PHONY: all build run test unit race blackbox fuzz lint bench deps services faults clean generate bpf-check proto-check kernel

# Backend services for the tests (.ci/services.sh checks and starts them).
export SKIFF_REDIS_ADDR ?= 127.0.0.1:6379
export SKIFF_PG_URL     ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export SKIFF_NATS_URL   ?= nats://127.0.0.1:4222
export SKIFF_AMQP_URL   ?= amqp://guest:guest@127.0.0.1:5672/
export SKIFF_MQTT_ADDR  ?= 127.0.0.1:1883

all: build

deps:
	@./.ci/deps.sh

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "-s -w -X main.gitCommit=$(GIT_COMMIT)" -o $(BIN)/skiffd ./cmd/skiffd
	$(GO) build -o $(BIN)/skiff-bench ./cmd/skiff-bench
	$(GO) build -o $(BIN)/skiff-benchapp ./cmd/skiff-benchapp
	$(GO) build -o $(BIN)/skiff-testapp ./cmd/skiff-testapp

run: build
	$(BIN)/skiffd --app-id $(APP_ID) $(RUN_ARGS)

test: deps services bpf-check proto-check lint unit race kernel fuzz $(if $(filter true,$(CI)),faults)

services:
	@./.ci/services.sh

# Backends restarted under load with the real skiffd (stops and restarts the
# local Redis, PostgreSQL, NATS and RabbitMQ; they are always restarted).
faults:
	SKIFF_FAULTS=1 $(GO) test -count=1 -timeout 15m -run 'Fault' ./cmd/skiffd/blackbox

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Every package, black-box and SDK tests included (they build the binaries).
unit:
	$(GO) test -count=1 ./...

# The concurrent core again under the race detector.
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./dataplane/... ./blocks/...

# Short runs of every fuzz target, counted in executions: a time-boxed run can
# fail with "context deadline exceeded" when a worker is slow to stop on a
# busy machine. `make fuzz FUZZTIME=5m` digs deeper.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINTIME) $$pkg; \
		done; \
	done

bench: services
	./bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BIN) bench/out

# eBPF: bpf/ holds c/redirect.c and the loaders bpf2go generates from it
# (committed, so a clone builds without clang). `make generate` rebuilds them
# with Debian's clang; `make bpf-check` rebuilds them in a scratch directory
# (another path: debug paths must not leak in) and fails if they differ.
generate:
	cd bpf && $(GO) generate .
	$(GO) generate ./dataplane/internalrpc/internalpb

# The internal gRPC protocol's Go code (dataplane/internalrpc/internalpb) is
# generated from its .proto files and committed; proto-check regenerates it
# in a scratch copy and fails if the committed files differ.
proto-check:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	./dataplane/internalrpc/internalpb/gen.sh $$tmp; \
	for f in dataplane/internalrpc/internalpb/*.pb.go; do \
		cmp -s $$f $$tmp/$$(basename $$f) || { echo "proto-check: $$f does not match a fresh protoc run: run make generate and commit"; exit 1; }; \
	done; echo "proto-check: committed protocol code matches its .proto files"

bpf-check:
	@set -e; tmp=$$(mktemp -d bpf/_check.XXXXXX); trap 'rm -rf $$tmp' EXIT; \
	mkdir $$tmp/c; cp bpf/c/redirect.c $$tmp/c/; cp bpf/doc.go $$tmp/; (cd $$tmp && $(GO) generate . >/dev/null); \
	for f in skiff_bpfel.o skiff_bpfel.go; do \
		cmp -s bpf/$$f $$tmp/$$f || { echo "bpf-check: bpf/$$f does not match a fresh build of bpf/c/redirect.c: run make generate and commit"; exit 1; }; \
	done; echo "bpf-check: committed eBPF objects match their sources"

# The eBPF shortcut against the live kernel (root; with CI=true a skip fails).
kernel:
	$(GO) vet -tags kerneltest ./kernel-test/
	$(GO) test -tags kerneltest -count=1 -v ./kernel-test/
