#!/usr/bin/env bash
# make demo: a three-peer pool on 127.0.0.11-13, one machine, no cloud.
# Each peer is a daemon plus a small service to check; the records live in
# one zone file (the zonefile plugin, shared and locked). One peer's service
# stops: the others remove its record. It comes back: it re-adds itself.
# Prints a timeline and exits 0 when all of that happened, 1 otherwise.
#
# Each daemon runs under a supervisor that does what the systemd unit does:
# a daemon that exits 1 (its self-check failed) is started again, one that
# exits 2 (bad config) is not. Services are listening before any daemon
# starts. ADF_DEMO_PORT (default 18080) is the services' port; ADF_DEMO_SERVICE
# replaces the service program (the tests slow its start down).
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
BIN="$BUILD/autodnsfailover"
SERVICE="${ADF_DEMO_SERVICE:-$BUILD/tests/tools/adf-test-service}"
WORK=$(mktemp -d /tmp/adf-demo.XXXXXX)
chmod 755 "$WORK"
FQDN=www.demo.test
PORT=${ADF_DEMO_PORT:-18080}
PEERS=(127.0.0.11 127.0.0.12 127.0.0.13)
RESTART_DELAY=0.5  # the unit's RestartSec, shortened for the demo
declare -A SUPERVISOR SERVICE_PID
START_NS=$(date +%s%N)

for program in "$BIN" "$SERVICE"; do
    [[ -x "$program" ]] || { echo "demo: $program is missing: run make demo" >&2; exit 1; }
done

cleanup() {
    for pid in "${SUPERVISOR[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SUPERVISOR[@]}"; do wait "$pid" 2>/dev/null || true; done
    for p in "${PEERS[@]}"; do
        [[ -f "$WORK/$p.pid" ]] && kill "$(cat "$WORK/$p.pid")" 2>/dev/null || true
    done
    for pid in "${SERVICE_PID[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() {
    local ns=$(( $(date +%s%N) - START_NS ))
    printf '%4d.%ds  %s\n' $(( ns / 1000000000 )) $(( ns / 100000000 % 10 )) "$*"
}
fail() {
    say "FAILED: $*"
    for p in "${PEERS[@]}"; do echo "--- log of $p"; tail -20 "$WORK/$p.log" 2>/dev/null || true; done
    exit 1
}

cat > "$WORK/demo.test.zone" <<ZONE
\$ORIGIN demo.test.
\$TTL 60
@    IN SOA ns1.demo.test. hostmaster.demo.test. 1 3600 600 86400 60
@    IN NS  ns1.demo.test.
ns1  IN A   127.0.0.53
ZONE

config_for() {
    cat > "$WORK/$1.json" <<JSON
{
  // Peer $1 of the demo pool.
  "fqdn": "$FQDN",
  "plugin_dirs": ["$BUILD/plugins"],
  "ipaddr": {"plugin": "static", "address": "$1"},
  "dns":    {"plugin": "zonefile", "path": "$WORK/demo.test.zone", "zone": "demo.test", "ttl": 60},
  "check":  {"plugin": "tcp-check", "port": $PORT},
  "timer":  {"plugin": "fixed-interval", "interval": 1.0, "timeout": 0.5, "retry": 2},
  "safety": {"self_check_failure_delay": 1},
  "logging": {"level": "info"}
}
JSON
}

# Starts the service of peer $1 and returns once it accepts connections.
start_service() {
    "$SERVICE" --listen "$1:$PORT" & SERVICE_PID[$1]=$!
    local deadline=$(( $(date +%s) + 10 ))
    until (exec 3<>"/dev/tcp/$1/$PORT") 2>/dev/null; do
        (( $(date +%s) < deadline )) || fail "the service of $1 does not listen on port $PORT"
        sleep 0.05
    done
}

# Runs the daemon of peer $1 as systemd would with the shipped unit
# (Restart=on-failure, RestartPreventExitStatus=2): started again after
# RESTART_DELAY when it exits 1, left stopped otherwise. Every exit status
# is appended to $WORK/$1.exits.
supervise() {
    local peer=$1 code child=""
    # Stopping the supervisor stops its daemon, as stopping the unit would,
    # and returns once it has exited (a daemon finishing its round or
    # flushing its messages outlives the kill for a moment).
    trap '[[ -n "$child" ]] && { kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; }; exit 0' TERM
    while true; do
        "$BIN" run -c "$WORK/$peer.json" >>"$WORK/$peer.log" 2>&1 &
        child=$!
        echo "$child" > "$WORK/$peer.pid"
        if wait "$child"; then code=0; else code=$?; fi
        echo "$code" >> "$WORK/$peer.exits"
        [[ $code == 1 ]] || return 0
        sleep "$RESTART_DELAY"
    done
}
start_daemon() { supervise "$1" & SUPERVISOR[$1]=$!; }

# Waits until the daemon of peer $1 has exited with status $2.
wait_for_exit() {
    local deadline=$(( $(date +%s) + 20 ))
    until grep -qx "$2" "$WORK/$1.exits" 2>/dev/null; do
        (( $(date +%s) < deadline )) || fail "the daemon of $1 never exited with status $2"
        sleep 0.1
    done
}

pool() { "$BIN" probe -c "$WORK/${PEERS[0]}.json" dns read "$FQDN" 2>/dev/null | awk '{print $1}' | xargs; }

# Waits until the pool is exactly "$1", printing every change on the way.
LAST=""
wait_for_pool() {
    local want=$1 deadline=$(( $(date +%s) + ${2:-20} ))
    while (( $(date +%s) < deadline )); do
        local now; now=$(pool)
        if [[ "$now" != "$LAST" ]]; then say "DNS $FQDN: ${now:-(empty)}"; LAST=$now; fi
        [[ "$now" == "$want" ]] && return 0
        # The zone starts without records; once it has had one it must
        # never be empty again.
        [[ -n "$now" ]] && POPULATED=1
        [[ -z "$now" && -n "${POPULATED:-}" ]] && fail "the pool is empty"
        sleep 0.1
    done
    fail "the pool never became: $want"
}

echo "autodnsfailover demo: three peers, one zone file ($WORK/demo.test.zone)"
for p in "${PEERS[@]}"; do config_for "$p"; start_service "$p"; done
say "services listening on ${PEERS[*]} port $PORT; starting one supervised daemon per peer"
for p in "${PEERS[@]}"; do start_daemon "$p"; done
wait_for_pool "127.0.0.11 127.0.0.12 127.0.0.13"
say "every peer added itself"

say "stopping the service of 127.0.0.13"
kill "${SERVICE_PID[127.0.0.13]}"; wait "${SERVICE_PID[127.0.0.13]}" 2>/dev/null || true
wait_for_pool "127.0.0.11 127.0.0.12"
say "127.0.0.13 removed by its peers"
wait_for_exit 127.0.0.13 1
say "the daemon of 127.0.0.13 failed its self-check and exited with status 1; its supervisor restarts it, as systemd would"

say "bringing the service of 127.0.0.13 back"
start_service 127.0.0.13
wait_for_pool "127.0.0.11 127.0.0.12 127.0.0.13"
say "127.0.0.13 re-added itself (its restarted daemon passed its self-check)"

echo
echo "What the daemons logged at warning and above:"
for p in "${PEERS[@]}"; do
    grep -E ' (WARNING|ERROR|CRITICAL) ' "$WORK/$p.log" | sed "s/^/  [$p] /" || true
done
echo
echo "Zone file now:"
sed 's/^/  /' "$WORK/demo.test.zone"
echo
say "demo finished: the pool never went empty"
