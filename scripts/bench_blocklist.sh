#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Blocklist, side by side (issue 13): one rule denying N /32 addresses, applied
# through a zeroseg daemon (`zeroseg apply -f`, the CLI's wall time: parse,
# validate, compile, persist, the first write of the maps) and loaded by
# `nft -f` as the same N addresses in an interval set with one drop rule, each
# in a network namespace of its own (zsbl-PID, removed at the end, also on
# failure or Ctrl-C). Also the daemon's restart with that state (stopped,
# started, until `status` answers: the state loaded, its identities restored,
# compiled and enforced). The in-process steps come from build/bench/bench_blocklist.
#
#   host ns zsbl-PID   [zeroseg daemon]  one workload bl/w0 (its interface
#                                        absent), ingress deny from N /32
#   nft ns  zsbln-PID  [nft -f]          table inet zsbl: set of N, one rule
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

# bl_one N: BL_ZS, BL_RESTART and BL_NFT, the times in ms (or "- (why)"). In this
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
	# A restart with that state: the daemon stopped, started, until it answers.
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
	ip netns add "$nh"
	ZS_NETNS+=("$nh")
	t=$(date +%s%N)
	if timeout "$BL_TIMEOUT" ip netns exec "$nh" nft -f "$ZS_DIR/bl.nft" >"$ZS_DIR/nft.out" 2>&1; then
		BL_NFT=$(ms_since "$t")
	else
		BL_NFT="- ($(tail -1 "$ZS_DIR/nft.out"))"
	fi
	zs_cleanup
}

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(5k 20k 100k)
echo "blocklist: one rule denying N /32, applied (ms, wall time)"
"$BL_BENCH" --sizes "$(
	IFS=,
	echo "${SIZES[*]}"
)" || true
echo
printf '%7s | %14s | %16s | %14s\n' N "zeroseg apply" "zeroseg restart" "nft -f (set)"
for n in "${SIZES[@]}"; do
	bl_one "$n"
	printf '%7s | %14s | %16s | %14s\n' "$n" "$BL_ZS" "$BL_RESTART" "$BL_NFT"
done
