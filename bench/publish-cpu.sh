#!/usr/bin/env bash
# publish-cpu.sh DIR [LABEL]: one publish-with-delivery run at 64 connections
# against DIR/bin/skiffd and DIR/bin/skiff-benchapp, on ports of its own
# (so it can run beside `bench/run.sh`), printing the messages delivered per
# second and the CPU per delivered message of the sidecar and of the app,
# both read from /proc over the measured window and the drain. Meant for A/B
# runs of two builds on a busy machine: alternate them, compare CPU/msg.
# Env: CONNS (64), DUR (5s), EXTRA (more skiffd flags), BENCH (skiff-bench).
set -u
D=$1; L=${2:-run}
APP=26101; H=23600; M=29191
CONNS=${CONNS:-64}; DUR=${DUR:-5s}
B=${BENCH:-$(dirname "$0")/../bin/skiff-bench}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/pubsub.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
  metadata: []
YAML
cpu() { awk '{print $14+$15}' /proc/$1/stat; } # utime+stime, clock ticks
"$D/bin/skiff-benchapp" --port $APP --subscribe >"$tmp/app.log" 2>&1 & AP=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$APP/healthz && break; sleep 0.1; done
"$D/bin/skiffd" --app-id benchapp --app-port $APP --dapr-http-port $H --dapr-grpc-port 0 \
	--metrics-port $M --resources-path "$tmp" --log-level warn ${EXTRA:-} >"$tmp/sc.log" 2>&1 & SP=$!
for _ in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$H/v1.0/healthz | grep -q 204 && break; sleep 0.1; done
URL=http://127.0.0.1:$H/v1.0/publish/pubsub/orders
pub() { "$B" -X POST -body '{"orderId":1}' -H 'Content-Type: application/json' -c "$CONNS" -warmup 0 "$@" $URL; }
pub -d 1s >/dev/null 2>&1 # warm-up, left to drain
prev=-1; for _ in $(seq 200); do n=$(curl -s http://127.0.0.1:$APP/count); [ "$n" = "$prev" ] && break; prev=$n; sleep 0.3; done
curl -s -X DELETE http://127.0.0.1:$APP/count
s0=$(cpu $SP); a0=$(cpu $AP); t0=$(date +%s.%N)
pub -d "$DUR" -json "$tmp/r.json" >"$tmp/r.out" 2>&1
acc=$(python3 -c "import json;r=json.load(open('$tmp/r.json'));r=r[0] if isinstance(r,list) else r;print(sum(v for k,v in r['statuses'].items() if 200<=int(k)<300))")
prev=-1; i=0
while :; do
	n=$(curl -s http://127.0.0.1:$APP/count); i=$((i+1))
	[ "$n" = "$acc" ] && break
	[ "$n" = "$prev" ] && [ $i -gt 200 ] && break # stuck for ~10 s
	[ "$n" != "$prev" ] && i=0; prev=$n; sleep 0.05
done
t1=$(date +%s.%N); s1=$(cpu $SP); a1=$(cpu $AP)
kill $SP $AP; wait $SP $AP 2>/dev/null
python3 - <<PY
import os
acc, n, el, tck = $acc, $n, $t1-$t0, os.sysconf('SC_CLK_TCK')
print(f"$L conns=$CONNS accepted={acc} delivered={n} msg/s={n/el:,.0f} "
      f"sidecar-cpu/msg={($s1-$s0)/tck/max(n,1)*1e6:.1f}us app-cpu/msg={($a1-$a0)/tck/max(n,1)*1e6:.1f}us "
      f"load={open('/proc/loadavg').read().split()[0]}")
PY
