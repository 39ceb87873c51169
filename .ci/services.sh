#!/usr/bin/env bash
# Makes sure the backend services the tests use are up on loopback (see
# /work/shared/services.md): Redis, PostgreSQL, NATS JetStream, RabbitMQ and
# Mosquitto. A service that is down is started with the documented command
# (its Debian package installed first when missing, as root). Idempotent.
#
#   .ci/services.sh          check/start, then print the addresses
#   eval "$(.ci/services.sh --env)"   the same, exporting the SKIFF_* variables
#
# With CI=true a service that cannot be brought up fails the run; otherwise it
# is reported and the tests that need it say which service is missing.
set -uo pipefail

emit_env=0
[[ ${1:-} == --env ]] && emit_env=1
log() { echo "services: $*" >&2; }

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_pkg() { # package binary
	command -v "$2" >/dev/null 2>&1 && return 0
	if [[ $(id -u) -ne 0 ]]; then
		log "$1 is not installed and we are not root (apt-get install $1)"
		return 1
	fi
	log "installing $1"
	if [[ -z ${_apt_updated:-} ]]; then
		apt-get update -qq >/dev/null 2>&1
		_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1
}

start_redis() {
	install_pkg redis-server redis-server || return 1
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
}
start_postgres() {
	install_pkg postgresql pg_ctlcluster || return 1
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
}
start_nats() {
	install_pkg nats-server /usr/sbin/nats-server || return 1
	mkdir -p /var/lib/nats-server
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
}
start_rabbitmq() {
	install_pkg rabbitmq-server rabbitmq-server || return 1
	rabbitmq-server -detached >/dev/null 2>&1
}
start_mosquitto() {
	install_pkg mosquitto mosquitto || return 1
	mosquitto -d -c /etc/mosquitto/mosquitto.conf
}

# name port start-function wait-seconds
services=(
	"redis 6379 start_redis 20"
	"postgresql 5432 start_postgres 60"
	"nats 4222 start_nats 30"
	"rabbitmq 5672 start_rabbitmq 120"
	"mosquitto 1883 start_mosquitto 20"
)

failed=()
for s in "${services[@]}"; do
	read -r name port start wait <<<"$s"
	up "$port" && continue
	log "$name is down on 127.0.0.1:$port; starting it"
	"$start" || log "$name: start command failed"
	for ((i = 0; i < wait * 4; i++)); do
		up "$port" && break
		sleep 0.25
	done
	if up "$port"; then
		log "$name is up"
	else
		log "$name did not come up on 127.0.0.1:$port"
		failed+=("$name")
	fi
done

# PostgreSQL accepts TCP a little before it accepts queries; wait for that too.
if command -v psql >/dev/null 2>&1 && up 5432; then
	for ((i = 0; i < 120; i++)); do
		psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1 && break
		sleep 0.25
	done
fi

vars=(
	"SKIFF_REDIS_ADDR=127.0.0.1:6379"
	"SKIFF_PG_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	"SKIFF_NATS_URL=nats://127.0.0.1:4222"
	"SKIFF_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/"
	"SKIFF_MQTT_ADDR=127.0.0.1:1883"
)
for v in "${vars[@]}"; do
	if ((emit_env)); then echo "export $v"; else log "$v"; fi
done

if ((${#failed[@]})); then
	if [[ ${CI:-} == true ]]; then
		log "FAIL: ${failed[*]} could not be brought up (CI=true)"
		((emit_env)) && echo "false"
		exit 1
	fi
	log "warning: ${failed[*]} down; the tests that need them will say so"
fi
exit 0
