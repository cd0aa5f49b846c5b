#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks: `make bench` (full, ~9 min) and `make bench-quick` (--quick, ~2.5 min).
# Run as root: they load the datapath and start a daemon in a namespace.
#
# Each section is a shell function `section_NAME` that prints its own table on
# stdout; the driver runs the sections in order, shows their output as it
# comes, keeps it, and prints it all again at the end under one header (date,
# kernel, CPUs, memory). A failed section is reported and the others still
# run. To add one: write section_NAME, append NAME to SECTIONS. Sections read
# $QUICK (0 or 1) and $BENCH_DIR (theirs to write in); they run in this shell
# (not a subshell) so that what lib.sh creates for them is recorded and the
# EXIT trap removes it, also on failure or Ctrl-C; every program they start is
# bounded in time (`timeout`, or its own limit), which bounds the section.
#
#   bench.sh [--quick] [SECTION...]      default: every section in SECTIONS
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
ONLY=()
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	-h | --help)
		sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "bench.sh: unknown option $a" >&2
		exit 2
		;;
	*) ONLY+=("$a") ;;
	esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "the benchmarks load eBPF and create namespaces: run them as root (sudo make bench)" >&2
	exit 1
fi

source scripts/lib.sh
ZS_BENCH=${ZS_BENCH:-$ZS_ROOT/build/bench}
for f in "$ZS_BIN" "$ZS_BENCH/bench_compile"; do
	if [ ! -x "$f" ]; then
		echo "bench.sh: $f is missing: run 'make bench' (or 'make bench-quick')" >&2
		exit 1
	fi
done
trap zs_cleanup EXIT
trap 'exit 130' INT TERM # then the EXIT trap cleans up
zs_workdir # $ZS_DIR, with a bpffs of our own at $ZS_DIR/bpffs

ms_since() { # ms_since START_NS
	echo $((($(date +%s%N) - $1) / 1000000))
}

num() { # num 10k -> 10000
	case $1 in
	*k) echo $((${1%k} * 1000)) ;;
	*) echo "$1" ;;
	esac
}

# ---- section: control plane ---------------------------------------------------
# Compile and load times (tests/bench/bench_compile.c; its table explains
# itself), then the same through a real daemon: `zeroseg apply` of the whole
# estate and of one-rule changes, as a user would see them; then a new
# workload's registration to its first packet through (scripts/bench_register.sh).
source scripts/bench_register.sh
section_control_plane() {
	local quick=() sz sizes=("1k 100" "10k 1k" "100k 10k") limit=200
	if [ "$QUICK" = 1 ]; then
		quick=(--quick)
		sizes=("10k 1k")
		limit=40
	fi
	mkdir -p "$ZS_DIR/bpffs/bench"
	timeout -k 5 "$limit" "$ZS_BENCH/bench_compile" "${quick[@]}" \
		--pin-dir "$ZS_DIR/bpffs/bench" --timeout 60 || return 1
	echo
	echo "through a daemon: zeroseg apply -f, CLI to answer (parse, clone, validate, compile,"
	echo "load, persist); the same estate and generator, and one-rule changes to distinct apps;"
	echo "memory after them: the daemon's resident set (peak), the memory of the BPF maps it"
	echo "holds (fdinfo memlock: conntrack, ring buffer and policy maps), its state file"
	printf '%7s %6s | %11s | %-22s | %7s %7s %7s %7s\n' rules wkload "first apply" "one-rule change, each" \
		RSS peak maps state
	printf '%7s %6s | %11s | %-22s | %7s %7s %7s %7s\n' "" "" ms ms MB MB MB MB
	for sz in "${sizes[@]}"; do
		# shellcheck disable=SC2086 # two words on purpose
		bench_daemon_apply $sz || return 1
	done
	echo
	bench_register || return 1
}

# bench_map_mb PID: MB of BPF map memory behind the process's map fds (fdinfo memlock).
bench_map_mb() {
	local fd sum=0 m
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf-map" ] || continue
		m=$(awk '/^memlock:/ {print $2}' "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null)
		sum=$((sum + ${m:-0}))
	done
	awk -v b="$sum" 'BEGIN {printf "%.1f", b / 1048576}'
}

# bench_daemon_apply RULES WORKLOADS: a daemon in a namespace of our own; the
# first apply of the estate, then one-rule changes. On failure the daemon and
# its namespace stay until the EXIT trap.
bench_daemon_apply() {
	local r=$1 w=$2 d=$BENCH_DIR/daemon-$1-$2 h=zsbench-$$ n=2 t first i rss peak st maps
	local incr=()
	[ "$QUICK" = 1 ] && n=3
	mkdir -p "$d"
	"$ZS_BENCH/bench_compile" --emit "$d" --rules "$r" --workloads "$w" --incr-reps "$n" || return 1
	zs_host "$h"
	# Its pins in a directory of their own inside our bpffs (zs_workdir's).
	mkdir -p "$ZS_DIR/bpffs/daemon-$r-$w"
	ln -s "$ZS_DIR/bpffs/daemon-$r-$w" "$d/bpffs"
	zs_daemon "$h" "$d" || return 1
	t=$(date +%s%N)
	if ! timeout -k 5 60 "$ZS_BIN" --socket "$d/sock" apply -f "$d/estate.yaml" >"$d/apply.out" 2>&1; then
		echo "daemon: apply of $r rules over $w workloads failed or timed out:" >&2
		tail -n 5 "$d/apply.out" "$d/daemon.log" >&2
		return 1
	fi
	first=$(ms_since "$t")
	for ((i = 1; i <= n; i++)); do
		t=$(date +%s%N)
		timeout -k 5 60 "$ZS_BIN" --socket "$d/sock" apply -f "$d/incr-$i.yaml" >>"$d/apply.out" 2>&1 ||
			return 1
		incr+=("$(ms_since "$t")")
	done
	rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$ZS_DAEMON_PID/status")
	peak=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$ZS_DAEMON_PID/status")
	# the snapshot and the log of changes since (store/file.c)
	st=$(cat "$d/state/state.json" "$d/state/state.log" 2>/dev/null | wc -c)
	maps=$(bench_map_mb "$ZS_DAEMON_PID")
	kill "$ZS_DAEMON_PID"
	wait "$ZS_DAEMON_PID" 2>/dev/null || true
	rm -rf "$ZS_DIR/bpffs/daemon-$r-$w" # its pins: the maps go with them
	ip netns del "$h"
	printf '%7s %6s | %11s | %-22s | %7s %7s %7s %7.1f' "$(num "$r")" "$(num "$w")" "$first" "${incr[*]}" \
		"$rss" "$peak" "$maps" "$(awk -v b="$st" 'BEGIN {print b / 1048576}')"
	if [ "$(num "$r")" = 100000 ] && [ "$(num "$w")" = 10000 ]; then
		printf '  <- target 1000 ms: %s' "$([ "$first" -lt 1000 ] && echo MET || echo MISSED)"
	fi
	echo
}

# ---- section: telemetry -------------------------------------------------------
# Flow events from the real tc program (built to report every denied packet)
# through the ring buffer to the daemon's record and JSON lines code, flat out
# and at 1M events/s, then a sink stalled while packets keep coming
# (tests/bench/bench_events.c; its table explains itself). The JSON lines
# file goes to tmpfs, in a directory the EXIT trap removes.
section_telemetry() {
	local quick=() limit=150 d
	if [ "$QUICK" = 1 ]; then
		quick=(--quick)
		limit=40
	fi
	d=$(mktemp -d /dev/shm/zeroseg-bench.XXXXXX 2>/dev/null) || d=$BENCH_DIR
	[ "$d" = "$BENCH_DIR" ] || ZS_DIRS+=("$d")
	timeout -k 5 "$limit" "$ZS_BENCH/bench_events" "${quick[@]}" --obj "$ZS_BENCH/tc_events.bpf.o" \
		--dir "$d" --timeout $((limit - 5))
}

# ---- section: packet ------------------------------------------------------------
# Per-packet cost of zs_tc_from_ep through BPF_PROG_TEST_RUN against an empty
# tc program, with 10..100k rules in force (tests/bench/bench_packet.c; its
# table says what each row measures).
section_packet() {
	local quick=() limit=120
	if [ "$QUICK" = 1 ]; then
		quick=(--quick)
		limit=40
	fi
	timeout -k 5 "$limit" "$ZS_BENCH/bench_packet" "${quick[@]}"
}

# ---- section: traffic -----------------------------------------------------------
# Real TCP and UDP through a routed host namespace: no filter, zeroseg,
# iptables, nftables linear and with a set, at 0, 1k and 10k rules
# (scripts/bench_traffic.sh, which draws the topology).
source scripts/bench_traffic.sh
section_traffic() {
	bench_traffic
}

# ---- section: attack ------------------------------------------------------------
# One workload floods denied UDP while a client and server run TCP: the
# throughput kept with no filter, zeroseg (tc, then with the XDP flood shield)
# and nftables (scripts/bench_attack.sh, which draws the topology).
source scripts/bench_attack.sh
section_attack() {
	bench_attack
}

# ---- section: blocklist -------------------------------------------------------
# One rule denying N /32 addresses (a threat-intel blocklist): inline, and as
# an AddressSet through the daemon (`apply -f`, `set add -f`, one-member `set
# add` at N), next to `nft -f` and `nft add element` with the same addresses
# in an interval set, in the same run (scripts/bench_blocklist.sh, which draws
# the topology). Quick: 100k only. It runs as a child: it has its own
# namespaces and EXIT trap, and its own time limit per step.
section_blocklist() {
	local sizes=(5k 20k 100k)
	if [ "$QUICK" = 1 ]; then
		sizes=(100k)
	fi
	timeout -k 5 600 bash scripts/bench_blocklist.sh "${sizes[@]}"
}

SECTIONS=(control_plane telemetry packet traffic attack blocklist)

# ---- driver -------------------------------------------------------------------
ALL_SECTIONS=("${SECTIONS[@]}")
[ ${#ONLY[@]} -gt 0 ] && SECTIONS=("${ONLY[@]}")
REPORT=$ZS_DIR/report
mkdir -p "$REPORT"
failed=0
for s in "${SECTIONS[@]}"; do
	if ! declare -F "section_$s" >/dev/null; then
		echo "bench.sh: no section $s (sections: ${ALL_SECTIONS[*]})" >&2
		exit 2
	fi
	BENCH_DIR=$ZS_DIR/$s
	mkdir -p "$BENCH_DIR"
	echo "== bench: $s" >&2
	start=$(date +%s%N)
	rc=0
	exec {out}> >(tee "$REPORT/$s.txt" >&2) # shown as it comes, and kept
	tee_pid=$!
	"section_$s" >&"$out" 2>"$REPORT/$s.err" || rc=$?
	exec {out}>&-
	wait "$tee_pid" 2>/dev/null || true # tee has written everything
	if [ $rc = 0 ]; then
		echo "ok, $(($(ms_since "$start") / 1000)) s" >"$REPORT/$s.status"
	else
		echo "FAILED (exit $rc) after $(($(ms_since "$start") / 1000)) s" >"$REPORT/$s.status"
		failed=1
	fi
done

echo
echo "==== zeroseg benchmarks$([ "$QUICK" = 1 ] && echo " (quick)")"
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs" \
	"($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)),"
echo "memory $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
	"commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
for s in "${SECTIONS[@]}"; do
	echo
	echo "---- $s: $(cat "$REPORT/$s.status")"
	cat "$REPORT/$s.txt"
	if ! grep -q '^ok' "$REPORT/$s.status" && [ -s "$REPORT/$s.err" ]; then
		echo "stderr:"
		tail -20 "$REPORT/$s.err"
	fi
done
exit $failed
