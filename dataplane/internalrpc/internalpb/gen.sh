#!/usr/bin/env bash
# Regenerates this package from ../proto with the protoc on PATH (Debian's
# protobuf-compiler) and the plugins pinned in go.mod. With an argument, the
# files go to that directory instead (make proto-check compares them).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)
rm -f "$out"/*.pb.go
protoc -I ../proto \
	--plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_grpc" \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
	dapr/proto/common/v1/common.proto \
	dapr/proto/internals/v1/apiversion.proto \
	dapr/proto/internals/v1/status.proto \
	dapr/proto/internals/v1/service_invocation.proto
# paths=source_relative mirrors the proto tree; flatten it into the package.
find "$out/dapr" -name '*.pb.go' -exec mv {} "$out" \;
rm -rf "$out/dapr"
