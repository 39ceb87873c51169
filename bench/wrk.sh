#!/usr/bin/env bash
# The reference.md method, for figures comparable with the daprd table there:
# wrk -t1 pinned to CPU 1, the sidecar and the bench app unpinned (or as
# SIDECAR_CPU / APP_CPU say), 10 s runs, rounds alternating scenarios,
# medians. Sidecar CPU per request from /proc/<pid>/stat.
#
#   bench/wrk.sh                      # skiffd
#   SIDECAR_CPU=1 bench/wrk.sh        # skiffd on the load generator's core
#   DURATION=3 ROUNDS=1 bench/wrk.sh  # quick look
# Needs wrk (apt-get install wrk). Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-"1 64"}
GEN_CPU=${GEN_CPU:-1}
SIDECAR_CPU=${SIDECAR_CPU:-}
APP_CPU=${APP_CPU:-}
HTTP_PORT=${HTTP_PORT:-3500}
APP_PORT=${APP_PORT:-6001}
SKIFFD_ARGS=${SKIFFD_ARGS:-}

mkdir -p bin bench/out
go build -trimpath -ldflags "-s -w" -o bin/skiffd ./cmd/skiffd
go build -o bin/skiff-benchapp ./cmd/skiff-benchapp

pin() { if [[ -n "$1" ]]; then echo "taskset -c $1"; fi; }
tmp=$(mktemp -d)
cleanup() { kill "${sk:-}" "${app:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

$(pin "$APP_CPU") bin/skiff-benchapp --port "$APP_PORT" >/dev/null 2>&1 &
app=$!
# shellcheck disable=SC2086
$(pin "$SIDECAR_CPU") bin/skiffd --app-id bench --app-port "$APP_PORT" --dapr-http-port "$HTTP_PORT" \
	--log-level error $SKIFFD_ARGS 2>"$tmp/skiffd.log" &
sk=$!
for _ in $(seq 200); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "localhost:$HTTP_PORT/v1.0/healthz") == 204 ]] && break
	sleep 0.05
done
curl -sf -X POST "localhost:$HTTP_PORT/v1.0/state/statestore" -d '[{"key":"k1","value":{"a":1}}]'

cat >"$tmp/save.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '[{"key":"k1","value":{"a":1}}]'
wrk.headers["Content-Type"] = "application/json"
EOF
cat >"$tmp/order.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"orderId":1}'
wrk.headers["Content-Type"] = "application/json"
EOF

base="http://127.0.0.1:$HTTP_PORT"
scen=(
	"healthz|$base/v1.0/healthz|"
	"state-save|$base/v1.0/state/statestore|$tmp/save.lua"
	"state-get|$base/v1.0/state/statestore/k1|"
	"invoke|$base/v1.0/invoke/bench/method/neworder|$tmp/order.lua"
	"direct|http://127.0.0.1:$APP_PORT/neworder|$tmp/order.lua"
)
cpu_ticks() { awk '{print $14+$15}' "/proc/$sk/stat"; }
tck=$(getconf CLK_TCK)

: >"$tmp/rows"
for r in $(seq "$ROUNDS"); do
	for c in $CONNS; do
		# Rotate the order each round so no scenario always runs first.
		n=${#scen[@]}
		for k in $(seq 0 $((n - 1))); do
			IFS='|' read -r name url lua <<<"${scen[$(((k + r) % n))]}"
			t0=$(cpu_ticks)
			out=$(taskset -c "$GEN_CPU" wrk -t1 -c"$c" -d"${DURATION}s" --latency ${lua:+-s "$lua"} "$url" 2>&1)
			t1=$(cpu_ticks)
			reqs=$(awk '/requests in/{print $1}' <<<"$out")
			rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
			p50=$(awk '$1=="50%"{print $2}' <<<"$out")
			p99=$(awk '$1=="99%"{print $2}' <<<"$out")
			bad=$(awk '/Non-2xx|Socket errors/{print}' <<<"$out")
			cpu=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v t="$tck" 'BEGIN{printf "%.1f", (b-a)/t*1e6/n}')
			[[ $name == direct ]] && cpu="–"
			echo "$name $c $rps $p50 $p99 $cpu" >>"$tmp/rows"
			echo "round $r  $name c=$c  $rps req/s  p50 $p50  p99 $p99  sidecar CPU/req ${cpu} µs ${bad:+ !!! $bad}" >&2
		done
	done
done

# Medians per scenario and connection count (by req/s; latency columns are
# medians of their own).
echo
echo "| scenario | conns | req/s | p50 | p99 | sidecar CPU per request |"
echo "|---|---|---|---|---|---|"
for s in "${scen[@]}"; do
	name=${s%%|*}
	for c in $CONNS; do
		awk -v s="$name" -v c="$c" '
			function tous(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
			function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
			$1 == s && $2 == c { n++; r[n] = $3; p[n] = tous($4); q[n] = tous($5); u[n] = $6 }
			END {
				if (!n) exit
				cpu = (u[1] == "–") ? "–" : sprintf("%.1f µs", med(u, n))
				printf "| %s | %s | %\047d | %.0f µs | %.2f ms | %s |\n", s, c, med(r, n), med(p, n), med(q, n) / 1000, cpu
			}' "$tmp/rows"
	done
done
echo
echo "wrk -t1 on CPU $GEN_CPU, skiffd on CPUs ${SIDECAR_CPU:-all}, app on CPUs ${APP_CPU:-all}; ${ROUNDS} rounds of ${DURATION} s, medians."
