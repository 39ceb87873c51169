#!/usr/bin/env bash
# ab.sh: two skiffd configurations side by side on one URL path, rounds
# alternating A, B, A, B… in one skiff-bench run, so both meet the same
# machine load. Each round prints req/s, percentiles and the sidecar's CPU
# per request; a median line per side closes the run.
#
#   bench/ab.sh metrics          # --enable-metrics (default) vs --enable-metrics=false
#   bench/ab.sh tracing          # spec.tracing samplingRate "0" vs no tracing config
#   bench/ab.sh ebpf-redis       # state.redis GET, --ebpf-redirect on vs off (root)
#   bench/ab.sh ebpf-pg          # state.postgresql GET, --ebpf-redirect on vs off (root)
#
# Env: CONNS (64), DUR (5s), ROUNDS (4), GEN_CPU (empty: unpinned),
# GEN (skiff-bench, or wrk: reference.md's generator, `wrk -t1 --latency`),
# SKIFF_REDIS_ADDR (127.0.0.1:6379), SKIFF_PG_URL (postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: bench/ab.sh metrics|tracing|ebpf-redis|ebpf-pg}
CONNS=${CONNS:-64}; DUR=${DUR:-5s}; ROUNDS=${ROUNDS:-4}; GEN_CPU=${GEN_CPU:-}; GEN=${GEN:-skiff-bench}
case $GEN in
skiff-bench) ;;
wrk) command -v wrk >/dev/null || { echo "ab.sh: GEN=wrk needs wrk (make deps installs it)" >&2; exit 1; } ;;
*) echo "ab.sh: GEN is skiff-bench or wrk" >&2; exit 2 ;;
esac
REDIS=${SKIFF_REDIS_ADDR:-127.0.0.1:6379}
PG=${SKIFF_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

mkdir -p bin
go build -trimpath -ldflags "-s -w" -o bin/skiffd ./cmd/skiffd
go build -o bin/skiff-bench ./cmd/skiff-bench

tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/a" "$tmp/b"

store=statestore
flagsA=(); flagsB=()
case $what in
metrics)
	nameA="metrics on"; nameB="metrics off"
	flagsB=(--enable-metrics=false) ;;
tracing)
	nameA="tracing rate 0"; nameB="no tracing"
	cat >"$tmp/a/config.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: tracing
spec:
  tracing:
    samplingRate: "0"
    otel:
      endpointAddress: 127.0.0.1:4317
      isSecure: false
      protocol: grpc
YAML
	flagsA=(--config "$tmp/a/config.yaml") ;;
ebpf-redis | ebpf-pg)
	nameA="eBPF on"; nameB="eBPF off"
	if [[ $what == ebpf-redis ]]; then
		store=redisstore
		comp="type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: $REDIS"
	else
		store=pgstore
		comp="type: state.postgresql
  version: v1
  metadata:
  - name: connectionString
    value: \"$PG\""
	fi
	for d in a b; do
		printf 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  %s\n' "$store" "$comp" >"$tmp/$d/store.yaml"
	done
	flagsA=(--resources-path "$tmp/a" --ebpf-redirect on)
	flagsB=(--resources-path "$tmp/b" --ebpf-redirect off) ;;
*) echo "ab.sh: unknown comparison $what" >&2; exit 2 ;;
esac

start() { # port metrics-port flags...
	local port=$1 mport=$2; shift 2
	bin/skiffd --app-id bench --dapr-http-port "$port" --dapr-grpc-port 0 --metrics-port "$mport" \
		--log-level error "$@" 2>>"$tmp/skiffd.log" &
	pids+=($!)
	for _ in $(seq 100); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1.0/healthz") == 204 ]] && return
		sleep 0.1
	done
	echo "ab.sh: skiffd on :$port not ready:" >&2; cat "$tmp/skiffd.log" >&2; exit 1
}
start 23701 29701 "${flagsA[@]}"; pidA=${pids[-1]}
start 23702 29702 "${flagsB[@]}"; pidB=${pids[-1]}
for p in 23701 23702; do
	curl -sf -X POST "http://127.0.0.1:$p/v1.0/state/$store" -H 'Content-Type: application/json' \
		-d '[{"key":"k1","value":{"user":"ada","visits":42}}]'
done

pin=(); [[ -n $GEN_CPU ]] && pin=(-cpu "$GEN_CPU")
# The backend's CPU per request too: every redis-server / postgres process,
# looked up at each reading (a pool may connect new postgres backends, which
# start from zero).
backend=
case $what in
ebpf-redis) backend=redis-server ;;
ebpf-pg) backend=postgres ;;
esac
ticks() { # pid, or a command name → utime+stime summed, in clock ticks
	local t=0 p pids
	if [[ $1 =~ ^[0-9]+$ ]]; then pids=$1; else pids=$(pgrep -x "$1"); fi
	for p in $pids; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
	echo "$t"
}
tck=$(getconf CLK_TCK)
echo "# bench/ab.sh $what: $nameA (A, :23701) vs $nameB (B, :23702), $CONNS conns, $DUR x $ROUNDS rounds each, generator $GEN on CPU ${GEN_CPU:-any}, load $(cut -d' ' -f1 /proc/loadavg)"
printf '| round | side | req/s | p50 | p99 | sidecar CPU/req | backend CPU/req |\n|---|---|---|---|---|---|---|\n'
for r in $(seq "$ROUNDS"); do
	for side in A B; do
		if [[ $side == A ]]; then port=23701; pid=$pidA; name=$nameA; else port=23702; pid=$pidB; name=$nameB; fi
		url="http://127.0.0.1:$port/v1.0/state/$store/k1"
		b0=$(ticks "${backend:-none}"); s0=$(ticks "$pid")
		if [[ $GEN == wrk ]]; then
			gen=(wrk -t1 -c"$CONNS" -d"$DUR" --latency "$url")
			[[ -n $GEN_CPU ]] && gen=(taskset -c "$GEN_CPU" "${gen[@]}")
			"${gen[@]}" >"$tmp/gen.out" 2>&1
		else
			bin/skiff-bench "${pin[@]}" -c "$CONNS" -d "$DUR" -warmup 0 -json "$tmp/r.json" "$url" >/dev/null 2>&1
			# The same fields as wrk prints, so one parser reads both.
			python3 - "$tmp/r.json" >"$tmp/gen.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r = r[0] if isinstance(r, list) else r
print(f"{r['requests']} requests in {r['duration_s']}s")
print(f"Requests/sec: {r['rps']:.2f}")
print(f"50% {r['latency_us']['p50']:.0f}us")
print(f"99% {r['latency_us']['p99']:.0f}us")
if r['non_2xx']: print(f"Non-2xx or Non-3xx responses: {r['non_2xx']}")
if r['errors']: print(f"Socket errors: {r['errors']}")
PY
		fi
		s1=$(ticks "$pid"); b1=$(ticks "${backend:-none}")
		awk -v r="$r" -v name="$name" -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v t="$tck" -v nb="${backend:+1}" '
			function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
			/requests in/ { n = $1 } /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
			/Non-2xx|Socket errors/ { bad = bad $0 " " }
			END {
				if (bad != "" || !n) { print "ab.sh: " (bad != "" ? bad : "no requests") > "/dev/stderr"; exit 1 }
				printf "%s\t%s\t%.0f\t%.0f\t%.0f\t%.1f\t%s\n", r, name, rps, p50, p99, (s1 - s0) / t * 1e6 / n, nb ? sprintf("%.1f", (b1 - b0) / t * 1e6 / n) : "-"
			}' "$tmp/gen.out" >>"$tmp/rows"
		tail -1 "$tmp/rows" | awk -F'\t' '{printf "| %s | %s | %\047d | %s µs | %s µs | %s µs | %s |\n", $1, $2, $3, $4, $5, $6, ($7 == "-" ? "-" : $7 " µs")}'
	done
done
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
sides = {}
for r in rows:
    sides.setdefault(r[1], []).append(r)
med = {}
for name, rs in sides.items():
    m = [statistics.median(float(r[i]) for r in rs) for i in (2, 3, 4, 5)]
    med[name] = m
    be = f"{statistics.median(float(r[6]) for r in rs):.1f} µs" if rs[0][6] != "-" else "-"
    print(f"| median | {name} | {m[0]:,.0f} | {m[1]:.0f} µs | {m[2]:.0f} µs | {m[3]:.1f} µs | {be} |")
(a, ma), (b, mb) = list(med.items())
print(f"\n{a} vs {b}: req/s {100*(ma[0]-mb[0])/mb[0]:+.1f} %, CPU/req {100*(ma[3]-mb[3])/mb[3]:+.1f} %")
PY
