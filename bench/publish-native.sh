#!/usr/bin/env bash
# publish-native.sh: is publishing bounded by the broker or by the sidecar?
# Publishes to Redis Streams through skiffd (wrk -t1 -c64, POST
# /v1.0/publish/redispubsub/…) and straight to Redis with its own benchmark
# client (redis-benchmark -c 64, XADD of the CloudEvent skiffd writes, same
# MAXLEN), both pinned to GEN_CPU, rounds alternating. No subscriber: the
# publish path alone. Prints req/s and the CPU per message of skiffd and of
# redis-server.
#
#   bench/publish-native.sh              # skiffd over plain TCP
#   EBPF=on bench/publish-native.sh      # with the eBPF shortcut (root)
#
# Env: ROUNDS (3), DUR (8, seconds), GEN_CPU (1), EBPF (off),
# SKIFF_REDIS_ADDR (127.0.0.1:6379). Needs wrk and redis-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-8}; GEN_CPU=${GEN_CPU:-1}; EBPF=${EBPF:-off}
REDIS=${SKIFF_REDIS_ADDR:-127.0.0.1:6379}
for c in wrk redis-benchmark redis-cli; do
	command -v $c >/dev/null || { echo "publish-native.sh: needs $c" >&2; exit 1; }
done
rhost=${REDIS%:*}; rport=${REDIS##*:}
rpid=$(pgrep -x redis-server | head -1)
[[ -n $rpid ]] || { echo "publish-native.sh: no redis-server running here" >&2; exit 1; }

mkdir -p bin
go build -trimpath -ldflags "-s -w" -o bin/skiffd ./cmd/skiffd
tmp=$(mktemp -d)
topic=bench-native-$$
cleanup() {
	kill "${sk:-}" 2>/dev/null || true
	wait 2>/dev/null || true
	redis-cli -h "$rhost" -p "$rport" del "$topic" "$topic-direct" >/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cat >"$tmp/pubsub.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redispubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: "$REDIS"
  - name: maxLenApprox
    value: "500000"
YAML
cat >"$tmp/pub.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"orderId":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
bin/skiffd --app-id benchpub --dapr-http-port 23611 --dapr-grpc-port 0 --metrics-port 29611 \
	--resources-path "$tmp" --log-level warn --ebpf-redirect "$EBPF" >"$tmp/skiffd.log" 2>&1 &
sk=$!
for _ in $(seq 100); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:23611/v1.0/healthz) == 204 ]] && break
	sleep 0.1
done
url=http://127.0.0.1:23611/v1.0/publish/redispubsub/$topic
curl -sf -X POST -H 'Content-Type: application/json' -d '{"orderId":1}' "$url"
# The entry skiffd wrote is what redis-benchmark sends.
event=$(redis-cli -h "$rhost" -p "$rport" --raw xrange "$topic" - + COUNT 1 | sed -n 3p)
[[ $event == \{* ]] || { echo "publish-native.sh: no event in $topic" >&2; exit 1; }

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
per() { awk -v a="$1" -v b="$2" -v n="$3" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }'; }
echo "# publish-native.sh: eBPF $EBPF, generators on CPU $GEN_CPU, $ROUNDS rounds, load $(cut -d' ' -f1 /proc/loadavg)"
echo "| round | path | req/s | skiffd CPU/msg | redis-server CPU/msg |"
echo "|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	s0=$(ticks $sk); r0=$(ticks "$rpid")
	out=$(taskset -c "$GEN_CPU" wrk -t1 -c64 -d"${DUR}s" -s "$tmp/pub.lua" "$url")
	s1=$(ticks $sk); r1=$(ticks "$rpid")
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "publish-native.sh: wrk: $out" >&2; exit 1; fi
	n=$(awk '/requests in/{print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/{printf "%.0f", $2}' <<<"$out")
	echo "| $r | skiffd | $rps | $(per "$s0" "$s1" "$n") µs | $(per "$r0" "$r1" "$n") µs |"
	# About as many requests as wrk sent in its window.
	n=$((rps * DUR))
	r0=$(ticks "$rpid")
	rb=$(taskset -c "$GEN_CPU" redis-benchmark -h "$rhost" -p "$rport" -c 64 -n "$n" -q \
		XADD "$topic-direct" MAXLEN '~' 500000 '*' data "$event" 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -1)
	r1=$(ticks "$rpid")
	rps=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "requests") printf "%.0f", $(i - 1) }' <<<"${rb##*:}")
	echo "| $r | redis-benchmark XADD | $rps | – | $(per "$r0" "$r1" "$n") µs |"
done
