# SPDX-License-Identifier: MIT
# The preamble of every end-to-end test (tests/e2e/test_*.sh), sourced right
# after the drawing of its topology: the test then runs in the repository's
# root, under `set -u`, with scripts/lib.sh (namespaces, workloads, daemons,
# probes) and the checks below. A test reads:
#
#   source "$(dirname "$0")/../lib/e2e.sh"
#   e2e_begin NS...              as root; these namespaces free; cleanup on exit
#   e2e_host zse-host            a work directory $D, the host namespace $H
#   e2e_workloads zse-web 10.88.0.11 zse-api 10.88.0.12
#   zs_daemon $H "$D"; Z apply -f ...
#   expect pass zse-web tcp 10.88.0.12 8080; ok "..."; bad "..."
#   summary                      "N passed, M failed", and the exit status
#
# The namespaces have fixed names shared by the whole machine: run the tier
# as `flock /tmp/zeroseg-e2e.lock make test-e2e`.

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
source scripts/lib.sh

# e2e_begin [NS...]: stops the test unless it runs as root and none of the
# namespaces it will create exists (another run of it, still going: cleaning
# up would delete that run's namespaces); then zs_cleanup runs on exit,
# whatever happens.
e2e_begin() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: run as root (network namespaces, BPF)" >&2
		exit 1
	fi
	if [ $# -gt 0 ]; then
		zs_netns_free "$@" || exit 1
	fi
	trap zs_cleanup EXIT
}

# e2e_host H: a fresh work directory in $D (socket, state, bpffs, logs) and
# the namespace H, in $H, that plays the host the daemon manages.
e2e_host() {
	zs_workdir
	D=$ZS_DIR
	H=$1
	zs_host "$H"
}

# e2e_workloads NAME ADDR [NAME ADDR]...: workload namespaces behind $H, each
# behind the veth of its own name (NAME on the host side, eth0 inside).
e2e_workloads() {
	while [ $# -ge 2 ]; do
		zs_workload "$H" "$1" "$1" "$2"
		shift 2
	done
}

# Z ARGS: the CLI, talking to the daemon of $D.
Z() { "$ZS_BIN" --socket "$D/sock" "$@"; }

# ---- checks: each prints one line and is counted ----------------------------
PASS=0 FAIL=0
ok() { echo "  ok   $*"; PASS=$((PASS + 1)); }
bad() { echo "  FAIL $*"; FAIL=$((FAIL + 1)); }
# expect pass|block WNS tcp|udp ADDR PORT: a real connection, and what it should do.
expect() {
	local want=$1 got
	shift
	if zs_probe "$@"; then got=pass; else got=block; fi
	[ "$got" = "$want" ] && ok "$want: $*" || bad "expected $want, got $got: $*"
}
# The closing line, and the exit status.
summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
