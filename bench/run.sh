#!/bin/sh
# Runs the daemon benchmark (bench/README.md) and prints its table.
#   ADF_BUILD_DIR=build bench/run.sh [adf-bench options, e.g. --rounds 5]
# The benchmark runs in a network namespace of its own (as root, or as a
# user mapped to root where user namespaces are allowed): loopback is up,
# 127.1.0.0/16 is local too (the alive peers), and 127.2.0.0/16 is routed
# into a tun device that nobody reads, so those peers swallow every packet
# like a dead host. No packet leaves the namespace, and the namespace and its
# device vanish when the benchmark ends.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${ADF_BUILD_DIR:-$here/../build}" 2>/dev/null && pwd) || {
    echo "bench/run.sh: build directory ${ADF_BUILD_DIR:-$here/../build} is missing" >&2
    exit 2
}
bench=$build/bench/adf-bench
alive_net=127.1.0.0/16          # adf-bench's alive peers
silent_net=127.2.0.0/16         # adf-bench's silent peers
blackhole=adf-blackhole
time_limit=600                  # seconds; a run takes about two minutes

fail() {
    echo "bench/run.sh: $*" >&2
    exit 2
}

[ -x "$bench" ] || fail "$bench is missing: build it with 'cmake --build $build --target bench'"

if [ "${ADF_BENCH_NETNS:-}" != inside ]; then
    for tool in unshare ip timeout; do
        command -v "$tool" >/dev/null ||
            fail "'$tool' is missing: install util-linux, iproute2 and coreutils"
    done
    namespace_options=--net
    [ "$(id -u)" = 0 ] || namespace_options="--net --map-root-user"
    unshare $namespace_options true 2>/dev/null ||
        fail "cannot create a network namespace (unshare $namespace_options): run as root"
    ADF_BENCH_NETNS=inside exec unshare $namespace_options -- "$0" "$@"
fi

# Inside the namespace. 127.0.0.0/24 (this host) and 127.1.0.0/16 (the alive
# peers) stay local; the rest of 127/8 falls through to the main table, where
# 127.2.0.0/16 leads into the unread tun device. route_localnet lets loopback
# addresses use a device other than lo at all.
ip link set lo up
ip route del local 127.0.0.0/8 dev lo table local
ip route add local 127.0.0.0/24 dev lo table local
ip route add local "$alive_net" dev lo table local
ip tuntap add dev "$blackhole" mode tun
ip link set "$blackhole" up
echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet
echo 1 > "/proc/sys/net/ipv4/conf/$blackhole/route_localnet"
ip route add "$silent_net" dev "$blackhole" src 127.0.0.1

exec timeout --kill-after=5 "$time_limit" "$bench" --binary "$build/autodnsfailover" \
    --plugin-dir "$build/plugins" "$@"
