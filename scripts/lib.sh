# SPDX-License-Identifier: MIT
# Shared by the demo, the end-to-end tests and the benchmarks: a simulated host
# in a network namespace, workloads in their own namespaces behind veth pairs,
# routed (each workload: a /32, default route to a link-local gateway that
# the host owns, so every host-side veth answers ARP for it), and a zeroseg daemon managing the
# host namespace. Everything created is recorded and removed by zs_cleanup,
# which callers run from an EXIT trap so failures clean up too.
#
#   workload ns W --(eth0 | IF)-- host ns H  [zeroseg daemon]
#
# Only addresses inside these namespaces are ever sent traffic.

ZS_ROOT=${ZS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ZS_BIN=${ZS_BIN:-$ZS_ROOT/build/zeroseg}
ZS_PROBE=${ZS_PROBE:-$ZS_ROOT/build/zs-probe}
ZS_NETNS=()
ZS_PIDS=()
ZS_MOUNTS=()
ZS_DIRS=()

zs_cleanup() {
	local p m n d
	set +e # cleanup goes on through every failure
	for p in "${ZS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${ZS_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for n in "${ZS_NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	for m in "${ZS_MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
	for d in "${ZS_DIRS[@]}"; do rm -rf "$d"; done
	ZS_PIDS=() ZS_NETNS=() ZS_MOUNTS=() ZS_DIRS=()
	return 0
}

# zs_workdir: a fresh directory for sockets, state, pins and logs, in $ZS_DIR.
# (Not $(zs_workdir): a subshell would not record what to clean up.)
zs_workdir() {
	ZS_DIR=$(mktemp -d /tmp/zeroseg.XXXXXX)
	ZS_DIRS+=("$ZS_DIR")
	mkdir -p "$ZS_DIR/bpffs"
	mount -t bpf bpf "$ZS_DIR/bpffs"
	ZS_MOUNTS+=("$ZS_DIR/bpffs")
}

# zs_host NS: a namespace that plays the host.
zs_host() {
	ip netns add "$1"
	ZS_NETNS+=("$1")
	ip -n "$1" link set lo up
	# The workloads' gateway: owned by the host, so it answers their ARP.
	ip -n "$1" addr add 169.254.1.1/32 dev lo
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# zs_workload HOSTNS WNS IFNAME ADDR: a workload namespace behind a veth.
zs_workload() {
	local h=$1 w=$2 ifn=$3 addr=$4
	ip netns add "$w"
	ZS_NETNS+=("$w")
	ip -n "$w" link set lo up
	ip link add "$ifn" netns "$h" type veth peer name eth0 netns "$w"
	ip -n "$w" addr add "$addr/32" dev eth0
	ip -n "$w" link set eth0 up
	ip -n "$w" route add 169.254.1.1 dev eth0 scope link
	ip -n "$w" route add default via 169.254.1.1 dev eth0
	ip -n "$h" link set "$ifn" up
	ip -n "$h" route add "$addr/32" dev "$ifn"
}

# zs_daemon HOSTNS DIR [ARGS]: starts a daemon for HOSTNS, waits for its socket.
zs_daemon() {
	local h=$1 d=$2
	shift 2
	ip netns exec "$h" "$ZS_BIN" daemon --socket "$d/sock" --state-dir "$d/state" \
		--bpffs "$d/bpffs" --flow-log "$d/flows.jsonl" "$@" >>"$d/daemon.log" 2>&1 &
	ZS_PIDS+=("$!")
	ZS_DAEMON_PID=$!
	for _ in $(seq 100); do
		[ -S "$d/sock" ] && return 0
		kill -0 "$ZS_DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "zeroseg daemon did not start; its log:" >&2
	cat "$d/daemon.log" >&2
	return 1
}

# zs_serve WNS [--tcp P] [--udp P]...: echo servers in a workload, bounded in time.
zs_serve() {
	local w=$1
	shift
	ip netns exec "$w" "$ZS_PROBE" serve --seconds "${ZS_SERVE_SECONDS:-120}" "$@" &
	ZS_PIDS+=("$!")
}

# zs_probe WNS tcp|udp ADDR PORT: 0 when the echo came back.
zs_probe() {
	ip netns exec "$1" "$ZS_PROBE" "$2" "$3" "$4" --ms "${ZS_PROBE_MS:-700}"
}

# zs_matrix WNS [--ms N] [--port tcp|udp/PORT]... ADDR...: every target probed
# from WNS at once under one deadline; one line each, "ADDR tcp/80 ok|blocked|refused".
zs_matrix() {
	local w=$1
	shift
	ip netns exec "$w" "$ZS_PROBE" matrix "$@"
}

# zs_workload6 HOSTNS WNS IFNAME ADDR4 ADDR6: zs_workload, dual stack. The
# workload also gets ADDR6/128 and a default IPv6 route to fe80::1, which the
# host-side veth owns (every one of them: a link-local is per link), so
# neighbour discovery resolves the gateway on each link. No DAD: nothing else
# is on the link, and waiting for it would only slow the tests.
zs_workload6() {
	local h=$1 w=$2 ifn=$3 addr4=$4 addr6=$5
	zs_workload "$h" "$w" "$ifn" "$addr4"
	ip netns exec "$w" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0
	ip netns exec "$h" sysctl -qw "net.ipv6.conf.$ifn.accept_dad=0"
	ip -n "$h" addr add fe80::1/64 dev "$ifn" nodad
	ip -n "$w" addr add "$addr6/128" dev eth0 nodad
	ip -n "$w" -6 route add default via fe80::1 dev eth0
	ip -n "$h" -6 route add "$addr6/128" dev "$ifn"
}

# zs_netns_free NS...: 0 when none of these namespaces exists. A test that
# finds its names taken (another run of it, still going) must not create or
# clean up anything: zs_cleanup would delete the other run's namespaces.
zs_netns_free() {
	local n taken=()
	for n in "$@"; do
		ip netns list | awk '{ print $1 }' | grep -qxF "$n" && taken+=("$n")
	done
	[ ${#taken[@]} -eq 0 ] && return 0
	echo "network namespaces already exist: ${taken[*]} (another run in progress?)" >&2
	return 1
}
