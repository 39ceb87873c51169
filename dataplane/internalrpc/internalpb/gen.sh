#!/usr/bin/env bash
# Regenerates this package from ../proto with the protoc on PATH (Debian's
# protobuf-compiler) and the plugins pinned in go.mod.
set -euo pipefail
cd "$(dirname "$0")"
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)
rm -f ./*.pb.go
protoc -I ../proto \
	--plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_grpc" \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	dapr/proto/common/v1/common.proto \
	dapr/proto/internals/v1/apiversion.proto \
	dapr/proto/internals/v1/status.proto \
	dapr/proto/internals/v1/service_invocation.proto
# paths=source_relative mirrors the proto tree; flatten it into this package.
find dapr -name '*.pb.go' -exec mv {} . \;
rm -rf dapr
