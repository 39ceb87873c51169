# skiff: build, run, test, benchmark.
#   make run    build skiffd and run it on its embedded in-memory default (:3500)
#   make test   everything CI runs: lint, unit + race, black-box, SDK, short fuzz
#   make bench  the benchmark suite (bench/run.sh); results in bench/out/
GO        ?= go
BIN       := bin
FUZZTIME  ?= 200000x
APP_ID    ?= myapp
RUN_ARGS  ?=
export CGO_ENABLED ?= 0

GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

.PHONY: all build run test unit race blackbox fuzz lint bench deps clean

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

test: deps lint unit race fuzz

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
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

bench:
	./bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BIN) bench/out
