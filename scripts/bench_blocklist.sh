#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Blocklist, side by side (issue 13): one rule denying N /32 addresses,
# through a zeroseg daemon (the CLI's wall time: parse, validate, compile,
# persist, the write of the maps), and by nft with the same N addresses in an
# interval set with one drop rule, each in a network namespace of its own
# (zsbl-PID, zsbln-PID; removed at the end, also on failure or Ctrl-C):
#
#   inline      `zeroseg apply -f`: the rule's peers are N cidr /32
#   set apply   `zeroseg apply -f`: the rule's peer is an AddressSet of N
#   set add -f  `zeroseg set add -f LIST` of N into that set, empty before
#   add 1       `zeroseg set add` of one new address with N in the set
#               (the median of 5)
#   restart     the daemon restarted with the inline state, then with the
#               set's, until `status` answers (loaded, identities restored,
#               compiled, enforced)
#   nft -f      the ruleset with the N addresses in its set, in one load
#   nft add 1   `nft add element` of one new address with N in the set
#
#   host ns zsbl-PID   [zeroseg daemon]  one workload bl/w0 (its interface
#                                        absent), ingress deny from N /32
#   nft ns  zsbln-PID  [nft -f]          table inet zsbl: set of N, one rule
#
# The in-process steps come from build/bench/bench_blocklist.
#
# Run as root, under the e2e lock (it starts a daemon and creates namespaces):
#   flock /tmp/zeroseg-e2e.lock scripts/bench_blocklist.sh [N...]   (default 5k 20k 100k)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench_blocklist.sh: run as root (it starts a daemon in a namespace)" >&2
	exit 1
fi
source scripts/lib.sh
BL_BENCH=${ZS_BENCH:-$ZS_ROOT/build/bench}/bench_blocklist
for f in "$ZS_BIN" "$BL_BENCH"; do
	if [ ! -x "$f" ]; then
		echo "bench_blocklist.sh: $f is missing: run 'make bench'" >&2
		exit 1
	fi
done
trap zs_cleanup EXIT
trap 'exit 130' INT TERM
BL_TIMEOUT=${BL_TIMEOUT:-120}

ms_since() { # ms_since START_NS
	echo $((($(date +%s%N) - $1) / 1000000))
}

# timed VAR CMD...: VAR = CMD's wall time in ms, or "- (its last line)".
timed() {
	local var=$1 t
	shift
	t=$(date +%s%N)
	if timeout "$BL_TIMEOUT" "$@" >"$ZS_DIR/timed.out" 2>&1; then
		printf -v "$var" '%s' "$(ms_since "$t")"
	else
		printf -v "$var" '%s' "- ($(tail -1 "$ZS_DIR/timed.out"))"
	fi
}

# median5 VAR CMD-WITH-%: VAR = the median ms of CMD run 5 times, % the run's number.
median5() {
	local var=$1 i ms=()
	shift
	for i in 1 2 3 4 5; do
		timed BL_T "${@//%/$i}"
		ms+=("$BL_T")
	done
	printf -v "$var" '%s' "$(printf '%s\n' "${ms[@]}" | sort -n | sed -n 3p)"
}

# bl_restart H: BL_RESTART, the daemon of $ZS_DIR in H stopped, started, until it answers.
bl_restart() {
	local h=$1 t
	kill "$ZS_DAEMON_PID"
	for _ in $(seq 100); do kill -0 "$ZS_DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	t=$(date +%s%N)
	BL_RESTART="- (no answer)"
	if zs_daemon "$h" "$ZS_DIR" 2>/dev/null; then
		for _ in $(seq $((BL_TIMEOUT * 10))); do
			if "$ZS_BIN" --socket "$ZS_DIR/sock" status >/dev/null 2>&1; then
				BL_RESTART=$(ms_since "$t")
				break
			fi
			sleep 0.1
		done
	fi
}

# bl_set N: BL_SET (apply of the set estate), BL_ADD1 (one more member),
# BL_SETADD (set add -f of N into the empty set), BL_SETRESTART (a restart
# with that state), in a daemon of their own.
bl_set() {
	local n=$1 h=zsbl-$$ z
	zs_workdir
	"$BL_BENCH" --sizes "$n" --emit-set "$ZS_DIR/set.yaml" --emit-empty "$ZS_DIR/empty.yaml" \
		--emit-list "$ZS_DIR/list.txt"
	zs_host "$h"
	zs_daemon "$h" "$ZS_DIR"
	z=("$ZS_BIN" --socket "$ZS_DIR/sock")
	timed BL_SET "${z[@]}" apply -f "$ZS_DIR/set.yaml"
	median5 BL_ADD1 "${z[@]}" set add blocklist 12.0.0.%
	"${z[@]}" apply -f "$ZS_DIR/empty.yaml" >/dev/null
	timed BL_SETADD "${z[@]}" set add blocklist -f "$ZS_DIR/list.txt"
	bl_restart "$h"
	BL_SETRESTART=$BL_RESTART
	zs_cleanup
}

# bl_one N: BL_ZS, BL_ZSRESTART, BL_NFT and BL_NFT1, the times in ms (or "- (why)"). In this
# shell, not a subshell, so that the EXIT trap removes what it made.
bl_one() {
	local n=$1 h=zsbl-$$ nh=zsbln-$$ t
	zs_workdir
	"$BL_BENCH" --sizes "$n" --emit-yaml "$ZS_DIR/bl.yaml" --emit-nft "$ZS_DIR/bl.nft"
	zs_host "$h"
	zs_daemon "$h" "$ZS_DIR"
	t=$(date +%s%N)
	if timeout "$BL_TIMEOUT" "$ZS_BIN" --socket "$ZS_DIR/sock" apply -f "$ZS_DIR/bl.yaml" \
		>"$ZS_DIR/apply.out" 2>&1; then
		BL_ZS=$(ms_since "$t")
	else
		BL_ZS="- ($(tail -1 "$ZS_DIR/apply.out"))"
	fi
	bl_restart "$h"
	BL_ZSRESTART=$BL_RESTART
	ip netns add "$nh"
	ZS_NETNS+=("$nh")
	t=$(date +%s%N)
	if timeout "$BL_TIMEOUT" ip netns exec "$nh" nft -f "$ZS_DIR/bl.nft" >"$ZS_DIR/nft.out" 2>&1; then
		BL_NFT=$(ms_since "$t")
	else
		BL_NFT="- ($(tail -1 "$ZS_DIR/nft.out"))"
	fi
	median5 BL_NFT1 ip netns exec "$nh" nft add element inet zsbl blocklist "{ 12.0.0.% }"
	zs_cleanup
}

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(5k 20k 100k)
"$BL_BENCH" --sizes "$(
	IFS=,
	echo "${SIZES[*]}"
)" || true
echo
echo "side by side (ms, wall time; zeroseg through its daemon and CLI):"
printf '%7s | %8s %9s %10s %6s %8s %8s | %8s %9s\n' N inline "set apply" "set add -f" "add 1" \
	restart "(set)" "nft -f" "nft add 1"
for n in "${SIZES[@]}"; do
	bl_one "$n"
	bl_set "$n"
	printf '%7s | %8s %9s %10s %6s %8s %8s | %8s %9s\n' "$n" "$BL_ZS" "$BL_SET" "$BL_SETADD" \
		"$BL_ADD1" "$BL_ZSRESTART" "$BL_SETRESTART" "$BL_NFT" "$BL_NFT1"
done
