#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine, and
# checks what is already there. Idempotent; run by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc) # the race detector needs cgo
# make generate / the bpf check: Debian's clang builds bpf/, llvm-strip strips it,
# libbpf-dev has bpf_helpers.h, linux-libc-dev has <linux/bpf.h>.
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need_apt+=(llvm)
[[ -f /usr/include/bpf/bpf_helpers.h ]] || need_apt+=(libbpf-dev)
[[ -f /usr/include/linux/bpf.h ]] || need_apt+=(linux-libc-dev)
# make generate: protoc builds dataplane/internalrpc/internalpb from its .proto files.
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
# bench/wrk.sh and `GEN=wrk bench/ab.sh`: reference.md's daprd figures were taken with wrk.
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if ((${#need_apt[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "deps: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]})" >&2
		exit 1
	fi
	echo "deps: installing ${need_apt[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

go mod download
if [[ -f cmd/skiffd/sdktest/package-lock.json && ! -d cmd/skiffd/sdktest/node_modules ]]; then
	(cd cmd/skiffd/sdktest && npm ci --no-audit --no-fund --loglevel=error)
fi
