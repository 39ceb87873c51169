#!/usr/bin/env bash
# Runs the kernel tests and the benchmark suite inside the Vagrant VM (see the
# Vagrantfile) and copies the results to bench/out-vm/ on the host.
# Extra arguments go to the suite (e.g. --quick, --repeat 5).
set -euo pipefail
cd "$(dirname "$0")/.."

vagrant up
vagrant rsync
args=$(printf ' %q' "$@")
# Root: the kernel tests and the skiffd+ebpf variant load eBPF programs.
# Generator on CPU 1, sidecars and apps on CPU 0 by default; override with
# --gen-cpu / --sidecar-cpu / --app-cpu.
# The logs go to stderr (the terminal); stdout carries only the tarball.
vagrant ssh -c "cd /skiff && { sudo CI=true make kernel 2>&1 | tee /tmp/kernel.log >&2; test \${PIPESTATUS[0]} -eq 0; } && \
  { sudo make bench BENCH_ARGS='--sidecar-cpu 0 --app-cpu 0 --gen-cpu 1${args}' 2>&1 | tee /tmp/bench.log >&2; test \${PIPESTATUS[0]} -eq 0; } && \
  sudo cp /tmp/kernel.log /tmp/bench.log bench/out/ && sudo tar -C bench -czf - out" > bench/out-vm.tgz
rm -rf bench/out-vm && mkdir -p bench/out-vm
tar -C bench/out-vm --strip-components=1 -xzf bench/out-vm.tgz
rm bench/out-vm.tgz
echo "results: bench/out-vm/ (results.md, results.json, latency*.svg, kernel.log, bench.log)"
