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
# ---- a large apply, for the tests that need one busy for seconds ----------

# e2e_pair_yaml FILE IF_A ADDR_A IF_B ADDR_B: workloads a and b, a may reach b on TCP 80.
e2e_pair_yaml() {
	cat >"$1" <<Y
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, labels: {app: a}}
spec: {interface: $2, addresses: [$3]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, labels: {app: b}}
spec: {interface: $4, addresses: [$5]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a-to-b}
spec:
  selector: {matchLabels: {app: a}}
  egress: [{to: [{selector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b-from-a}
spec:
  selector: {matchLabels: {app: b}}
  ingress: [{from: [{selector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]
Y
}

# e2e_blocklist_yaml FILE APP N: policy `blocklist` denying app APP egress to
# N inline /32 addresses from 10.100.0.0 up.
e2e_blocklist_yaml() {
	{
		printf 'apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: blocklist}\n'
		printf 'spec:\n  selector: {matchLabels: {app: %s}}\n  egress:\n    - action: deny\n      to:\n' "$2"
		awk -v n="$3" 'BEGIN { for (i = 0; i < n; i++)
			printf "        - {cidr: 10.%d.%d.%d/32}\n", 100 + int(i / 65536), int(i / 256) % 256, i % 256 }'
	} >"$1"
}

# e2e_filler_yaml OUT NS RULES OCTET: RULES filler rules over 2000 workloads
# without interfaces (addresses 10.OCTET.x.y) in namespace NS, as
# OUT-{w,p0,p1,p2}.yaml (each under the parser's 16 MiB bound).
e2e_filler_yaml() {
	awk -v out="$1" -v ns="$2" -v R="$3" -v oct="$4" -v W=2000 'BEGIN {
		apps = W / 2
		for (n = 0; n < W; n++)
			printf "---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: w%d, namespace: %s, labels: {app: f%d}}\nspec: {addresses: [10.%d.%d.%d]}\n", n, ns, int(n / 2), oct, int(n / 250), n % 250 + 1 > (out "-w.yaml")
		for (k = 0; k < apps; k++) {
			f = out "-p" (k % 3) ".yaml"
			printf "---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: f%d-in, namespace: %s}\nspec:\n  selector: {matchLabels: {app: f%d}}\n  ingress:\n", k, ns, k > f
			for (j = 0; j < R / apps; j++)
				printf "    - from: [{selector: {matchLabels: {app: f%d}}}]\n      ports: [{protocol: TCP, port: %d}]\n", (k + 1 + j) % apps, 10000 + j > f
		}
	}'
}

# The closing line, and the exit status.
summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
