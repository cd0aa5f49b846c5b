#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults that must neither open access nor report a change that did not
# happen (issue 12), each shown with real traffic:
#   (a) disk full: the state directory on a tiny tmpfs, filled; an apply of a
#       quarantine (a deny) fails with a clear error, the flow it would cut
#       still passes, the state files (snapshot and log) are unchanged, and a
#       restarted daemon still enforces the old policy. With room again, a
#       publish that fails after the flip (the log's COMMIT mark past the
#       daemon's file size limit, its DATA record within it) puts the old
#       policy back and fails the apply; then the same apply cuts the flow.
#   (b) kill -9 during a large apply (200k rules) that also quarantines: after
#       a restart, the old policy or the new one, entirely (traffic and the
#       stored objects agree).
#   (c) a second daemon on the same state directory and socket is refused,
#       and the first keeps answering on its socket.
#   (d) default pin paths under `ip netns exec` (a fresh sysfs: /sys/fs/bpf is
#       no bpffs there): the daemon mounts bpffs, says where its pins live,
#       warns that they will not outlive it, and enforces.
#
#   zsf-a (10.97.0.11) --zsf-a--+
#                               +-- host ns zsf-host [zeroseg daemon, one at a time]
#   zsf-b (10.97.0.12) --zsf-b--+
#
# The flow every section watches: a -> b tcp/80. The base policy allows it;
# the quarantine denies it (deny beats allow).
#
# Paths: every daemon has its socket and state under this test's work
# directory; (a)-(c) pin under the test's own bpffs. (d) leaves only --bpffs
# at its default, /sys/fs/bpf/zeroseg: under `ip netns exec` that is inside
# the private mount namespace ip makes (a fresh sysfs), so the bpffs the
# daemon mounts there goes with it and the host's /sys/fs/bpf is never
# touched (checked). The default socket and state dir would be the host's
# real /run/zeroseg and /var/lib/zeroseg: those stay flags.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsf-host zsf-a zsf-b

RULES=${ZSF_RULES:-200000}
export ZS_SERVE_SECONDS=600 # b's server outlives every section

e2e_host zsf-host
e2e_workloads zsf-a 10.97.0.11 zsf-b 10.97.0.12
zs_serve zsf-b --tcp 80

cat >"$D/base.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: f, labels: {app: a}}
spec: {interface: zsf-a, addresses: [10.97.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: f, labels: {app: b}}
spec: {interface: zsf-b, addresses: [10.97.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: web, namespace: f}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a}}}]
      ports: [{protocol: TCP, port: 80}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: client, namespace: f}
spec:
  selector: {matchLabels: {app: a}}
  egress:
    - to: [{selector: {matchLabels: {app: b}}}]
      ports: [{protocol: TCP, port: 80}]
Y
cat >"$D/quarantine.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: quarantine-a, namespace: f}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a}}}]
      ports: [{protocol: any}]
      action: deny
Y

# daemon DIR [ARGS]: a daemon for zsf-host with its socket and state in DIR,
# pinning under the test's bpffs unless ARGS say otherwise.
daemon() {
	local dir=$1
	shift
	ip netns exec zsf-host "$ZS_BIN" daemon --socket "$dir/sock" --state-dir "$dir/state" "$@" \
		>>"$dir/daemon.log" 2>&1 &
	ZS_PIDS+=("$!")
	ZS_DAEMON_PID=$!
	for _ in $(seq 200); do
		"$ZS_BIN" --socket "$dir/sock" status >/dev/null 2>&1 && return 0
		kill -0 "$ZS_DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "zeroseg daemon did not start; its log:" >&2
	cat "$dir/daemon.log" >&2
	return 1
}
# stop [SIGNAL]: the last daemon started, gone.
stop() {
	kill "-${1:-TERM}" "$ZS_DAEMON_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$ZS_DAEMON_PID" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$ZS_DAEMON_PID" 2>/dev/null
	wait "$ZS_DAEMON_PID" 2>/dev/null # reaped quietly (no "Killed" line)
}
# policies DIR: how many policies the daemon of DIR holds.
policies() { "$ZS_BIN" --socket "$1/sock" get policies -o json | grep -c '"kind": "Policy"'; }

echo "-- (a) disk full"
A=$D/a
mkdir -p "$A/state" "$D/bpffs/a"
mount -t tmpfs -o size=256k,mode=0700 zsf-state "$A/state"
ZS_MOUNTS+=("$A/state")
daemon "$A" --bpffs "$D/bpffs/a" || exit 1
"$ZS_BIN" --socket "$A/sock" apply -f "$D/base.yaml" >/dev/null && ok "base policy applied" ||
	bad "base apply"
expect pass zsf-a tcp 10.97.0.12 80
rev=$("$ZS_BIN" --socket "$A/sock" status | sed -n 's/.*"revision": \([0-9]*\).*/\1/p')
sum=$(cat "$A/state/state.json" "$A/state/state.log" | md5sum)
dd if=/dev/zero of="$A/state/fill" bs=4k 2>/dev/null # until the disk is full
out=$("$ZS_BIN" --socket "$A/sock" apply -f "$D/quarantine.yaml" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "apply on a full disk fails (rc $rc)" || bad "apply on a full disk: rc 0: $out"
echo "$out" | grep -q "No space left on device" && echo "$out" | grep -q "old policy stays in force" &&
	ok "and says why: $(echo "$out" | head -1)" || bad "unclear error: $out"
expect pass zsf-a tcp 10.97.0.12 80 # the deny is not in force
[ "$(cat "$A/state/state.json" "$A/state/state.log" | md5sum)" = "$sum" ] && ok "state files unchanged" ||
	bad "state files changed"
ls "$A/state" | grep -q '\.tmp\.' && bad "a temporary file was left" || ok "no temporary file left"
rev2=$("$ZS_BIN" --socket "$A/sock" status | sed -n 's/.*"revision": \([0-9]*\).*/\1/p')
[ "$rev2" = "$rev" ] && ok "revision stays $rev" || bad "revision moved: $rev -> $rev2"
stop
daemon "$A" --bpffs "$D/bpffs/a" && ok "restart on the full disk" || bad "no restart on a full disk"
expect pass zsf-a tcp 10.97.0.12 80
[ "$(policies "$A")" = 2 ] && ok "restarted daemon holds the old policy (2 policies)" ||
	bad "restarted daemon holds $(policies "$A") policies"
rm -f "$A/state/fill"
# A publish that fails after the flip: the quarantine's size in the log
# learnt (applied and deleted again), then the daemon's file size limit set
# so that its DATA record fits and its COMMIT mark does not.
log0=$(stat -c %s "$A/state/state.log")
"$ZS_BIN" --socket "$A/sock" apply -f "$D/quarantine.yaml" >/dev/null || bad "quarantine apply to measure"
rec=$(($(stat -c %s "$A/state/state.log") - log0)) # DATA + COMMIT (32 bytes)
"$ZS_BIN" --socket "$A/sock" delete policy quarantine-a -n f >/dev/null || bad "quarantine delete"
expect pass zsf-a tcp 10.97.0.12 80
prlimit --pid "$ZS_DAEMON_PID" --fsize=$(($(stat -c %s "$A/state/state.log") + rec - 32 + 16)):unlimited
out=$("$ZS_BIN" --socket "$A/sock" apply -f "$D/quarantine.yaml" 2>&1)
rc=$?
prlimit --pid "$ZS_DAEMON_PID" --fsize=unlimited:unlimited
[ $rc -ne 0 ] && echo "$out" | grep -q "cannot write the state" &&
	echo "$out" | grep -q "old policy stays in force (revision" &&
	ok "a publish that fails after the flip fails the apply: $(echo "$out" | tail -1)" ||
	bad "failed publish: rc $rc: $out"
expect pass zsf-a tcp 10.97.0.12 80 # the old policy, back in the kernel
"$ZS_BIN" --socket "$A/sock" apply -f "$D/quarantine.yaml" >/dev/null && ok "with room: quarantine applied" ||
	bad "quarantine apply with room"
expect block zsf-a tcp 10.97.0.12 80
# (11) an apply that changes nothing: the revision stays, the answer says so
rev=$("$ZS_BIN" --socket "$A/sock" status | sed -n 's/.*"revision": \([0-9]*\).*/\1/p')
printf -- '---\n' >"$D/empty.yaml"
out=$("$ZS_BIN" --socket "$A/sock" apply -f "$D/empty.yaml" -f "$D/quarantine.yaml" 2>&1)
rev2=$("$ZS_BIN" --socket "$A/sock" status | sed -n 's/.*"revision": \([0-9]*\).*/\1/p')
[ "$rev2" = "$rev" ] && echo "$out" | grep -q "^unchanged: revision $rev" &&
	ok "an apply that changes nothing: $out" || bad "no-change apply: rev $rev -> $rev2: $out"
stop

echo "-- (b) kill -9 during a large apply"
B=$D/b
mkdir -p "$B" "$D/bpffs/b"
# Files of at most ZS_MAX_POLICY_BYTES (16 MiB) each: the workloads, then
# the policies in two halves.
awk -v R="$RULES" -v W=2000 -v out="$B/bulk" 'BEGIN {
	apps = W / 2
	for (n = 0; n < W; n++)
		printf "---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: w%d, namespace: bulk, labels: {app: app%d}}\nspec: {interface: zk%d, addresses: [10.98.%d.%d]}\n", n, int(n / 2), n, int(n / 250), n % 250 + 1 > (out "-w.yaml")
	for (k = 0; k < apps; k++) {
		f = out "-p" (k % 2) ".yaml"
		printf "---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: app%d-in, namespace: bulk}\nspec:\n  selector: {matchLabels: {app: app%d}}\n  ingress:\n", k, k > f
		for (j = 0; j < R / apps; j++)
			printf "    - from: [{selector: {matchLabels: {app: app%d}}}]\n      ports: [{protocol: TCP, port: %d}]\n", (k + 1 + j) % apps, 10000 + j > f
	}
}'
daemon "$B" --bpffs "$D/bpffs/b" || exit 1
"$ZS_BIN" --socket "$B/sock" apply -f "$D/base.yaml" >/dev/null || bad "base apply"
expect pass zsf-a tcp 10.97.0.12 80
# The large apply (a quarantine among 200k rules); the daemon killed while it works.
"$ZS_BIN" --socket "$B/sock" apply -f "$B/bulk-w.yaml" -f "$B/bulk-p0.yaml" -f "$B/bulk-p1.yaml" \
	-f "$D/quarantine.yaml" >"$B/apply.out" 2>&1 &
APPLY=$!
sleep "${ZSF_KILL_AFTER:-1.5}"
kill -0 "$APPLY" 2>/dev/null && ok "apply still under way when the daemon is killed" ||
	bad "apply done before the kill (raise RULES or lower ZSF_KILL_AFTER): $(cat "$B/apply.out")"
stop KILL
wait "$APPLY"
rc=$?
[ $rc -eq 1 ] && grep -q "no answer from the daemon" "$B/apply.out" &&
	ok "the killed apply's CLI exits 1: $(cat "$B/apply.out")" ||
	bad "the killed apply's CLI exited $rc: $(cat "$B/apply.out")"
daemon "$B" --bpffs "$D/bpffs/b" || exit 1
n=$(policies "$B")
if zs_probe zsf-a tcp 10.97.0.12 80; then
	[ "$n" = 2 ] && ok "after restart: the old policy, entirely (flow passes, 2 policies)" ||
		bad "flow passes (old policy) but $n policies stored"
else
	[ "$n" = 1003 ] && ok "after restart: the new policy, entirely (flow cut, 1003 policies)" ||
		bad "flow cut (new policy) but $n policies stored"
fi
grep -q "restoring the stored state failed" "$B/daemon.log" && bad "restore failed" || ok "restore clean"

echo "-- (c) a second daemon on the same state directory and socket"
daemon_pid=$ZS_DAEMON_PID
ip netns exec zsf-host timeout 10 "$ZS_BIN" daemon --socket "$B/sock" --state-dir "$B/state" \
	--bpffs "$D/bpffs/b" >"$B/second.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok "second daemon refused (rc $rc)" || bad "second daemon: rc $rc"
grep -q "another zeroseg daemon (pid $daemon_pid) serves the state directory" "$B/second.log" &&
	ok "refusal names the first: $(grep another "$B/second.log" | head -1 | sed 's/.*another/another/')" ||
	bad "refusal unclear: $(cat "$B/second.log")"
[ -S "$B/sock" ] && "$ZS_BIN" --socket "$B/sock" status >/dev/null && ok "first daemon still answers" ||
	bad "first daemon unreachable"
stop

echo "-- (d) default bpffs under ip netns exec"
DD=$D/d
mkdir -p "$DD"
host_bpf_before=$(stat -f -c %T /sys/fs/bpf 2>&1; ls -a /sys/fs/bpf 2>&1)
daemon "$DD" || exit 1 # no --bpffs: /sys/fs/bpf/zeroseg
grep -q "mounted bpffs on /sys/fs/bpf" "$DD/daemon.log" && ok "mounts bpffs on /sys/fs/bpf" ||
	bad "no bpffs mount said: $(cat "$DD/daemon.log")"
grep -q "pins under /sys/fs/bpf/zeroseg" "$DD/daemon.log" && ok "says where its pins live" ||
	bad "pins not said"
grep -q "private mount namespace" "$DD/daemon.log" && ok "warns the pins will not outlive it" ||
	bad "no private-namespace warning"
"$ZS_BIN" --socket "$DD/sock" apply -f "$D/base.yaml" >/dev/null && ok "apply" || bad "apply"
expect pass zsf-a tcp 10.97.0.12 80
"$ZS_BIN" --socket "$DD/sock" apply -f "$D/quarantine.yaml" >/dev/null || bad "quarantine apply"
expect block zsf-a tcp 10.97.0.12 80
stop
[ "$(stat -f -c %T /sys/fs/bpf 2>&1; ls -a /sys/fs/bpf 2>&1)" = "$host_bpf_before" ] &&
	ok "the host's /sys/fs/bpf untouched" || bad "the host's /sys/fs/bpf changed"

echo "($SECONDS s)"
summary
