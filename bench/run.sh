#!/usr/bin/env bash
# Build skiffd, the load generator and the bench app, then run the benchmark
# suite. Extra arguments go to `skiff-bench suite` (e.g. --quick, --repeat 5,
# --daprd ~/.dapr/bin/daprd). DAPRD=path also adds daprd; if neither is given
# and ~/.dapr/bin/daprd exists, it is measured too (DAPRD=none to skip).
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p bin
go build -trimpath -ldflags "-s -w" -o bin/skiffd ./cmd/skiffd # as make build ships it
go build -o bin/skiff-bench ./cmd/skiff-bench
go build -o bin/skiff-benchapp ./cmd/skiff-benchapp

args=(--skiffd bin/skiffd --app bin/skiff-benchapp --out bench/out)
daprd="${DAPRD:-}"
if [[ -z "$daprd" && -x "$HOME/.dapr/bin/daprd" ]]; then
	daprd="$HOME/.dapr/bin/daprd"
fi
if [[ -n "$daprd" && "$daprd" != none && " $* " != *" --daprd "* ]]; then
	args+=(--daprd "$daprd")
fi
exec bin/skiff-bench suite "${args[@]}" "$@"
