#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault: tampering with enforcement. With a denied UDP flow sending at a
# fixed rate, an operator (or an intruder with CAP_NET_ADMIN) deletes the
# clsact qdisc, then one tc filter, puts a pass-all program in our filter's
# place, puts an `ingress` qdisc in clsact's place (its one block, on the
# ingress hook only, would take both our filters: the traffic to the
# workload unfiltered), detaches the flood shield's XDP, and removes the
# pins under the bpffs directory. Each time the daemon must put
# it back at once (netlink, or its once-a-second verification), count it
# (`status`, metrics), report it (log, a `tamper` flow record), and let
# almost nothing through meanwhile: the time to repair and the datagrams
# that passed are measured and printed. A re-apply repairs too, and removed
# pins are made again from the maps in use, so a restarted daemon finds the
# revision where it was.
#
#   zt-a (10.96.0.11, floodShield) --zt-a--+
#                                          +-- host ns zt-host [zeroseg daemon,
#   zt-b (10.96.0.12) -------------zt-b----+     --metrics 127.0.0.1:19470]
#     sink: udp/5301..5306                       sender: host -> zt-b, denied
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zt-host zt-a zt-b

PPS=2000          # the denied flow's rate, datagrams per second
BOUND_MS=1500     # repair within this
PORT=19470
e2e_host zt-host
e2e_workloads zt-a 10.96.0.11 zt-b 10.96.0.12

cat >"$D/policy.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: t, labels: {app: a}}
spec: {interface: zt-a, addresses: [10.96.0.11], floodShield: true}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: t, labels: {app: b}}
spec: {interface: zt-b, addresses: [10.96.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a-to-b, namespace: t}
spec:
  selector: {matchLabels: {app: a}}
  egress:
    - to: [{selector: {matchLabels: {app: b}}}]
      ports: [{port: 80}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b-from-a, namespace: t}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a}}}]
      ports: [{port: 80}]
Y

zs_daemon "$H" "$D" --metrics 127.0.0.1:$PORT || exit 1
for _ in 1 2 3; do Z apply -f "$D/policy.yaml" >/dev/null || bad "apply"; done
zs_serve zt-b --tcp 80
ip netns exec zt-b "$ZS_PROBE" sink --udp 5301 --udp 5302 --udp 5303 --udp 5304 --udp 5305 --udp 5306 \
	--seconds 120 >"$D/sink.out" 2>&1 &
SINK=$!
ZS_PIDS+=("$SINK")
sleep 0.3
expect pass zt-a tcp 10.96.0.12 80
expect block zt-a udp 10.96.0.12 5305

now_ms() { echo $(($(date +%s%N) / 1000000)); }
tc_ours() { ip netns exec "$H" tc filter show dev "$1" "$2" 2>/dev/null | grep -q "zs_tc_"; }
xdp_ours() { ip -n "$H" link show "$1" | grep -q "prog/xdp"; }
both_tc() { tc_ours "$1" ingress && tc_ours "$1" egress; }
# repaired_within CHECK...: polls CHECK until it holds; prints the ms it took
# (from $T0), or fails after 5 s.
repaired_within() {
	local end=$(($(now_ms) + 5000))
	while ! "$@"; do
		[ "$(now_ms)" -gt "$end" ] && return 1
		sleep 0.005
	done
	echo $(($(now_ms) - T0))
}
# sender SRC_NS PORT: the denied flow, PPS datagrams a second for 3 s, in the background.
sender() {
	ip netns exec "$1" "$ZS_PROBE" stream udp 10.96.0.12 "$2" --pps $PPS --seconds 3 \
		--drain-ms 100 >/dev/null 2>&1 &
	SENDER=$!
	ZS_PIDS+=("$SENDER")
	sleep 1 # a second of the flow denied as it should be, then the tampering
}
# record_ms PATTERN: when the last `tamper` record matching PATTERN was made
# (the repair done), in ms after $T0.
record_ms() {
	local t
	t=$(grep -F '"type":"tamper"' "$D/flows.jsonl" | grep -F "$1" | tail -n 1 |
		sed -n 's/.*"time":"\([^"]*\)".*/\1/p')
	[ -n "$t" ] && echo $(($(date -d "$t" +%s%3N) - T0))
}
# episode NAME SRC_NS PORT CHECK RECORD TAMPER...: the flow, the tampering;
# the time until the daemon's record of the repair, and until CHECK (a tc or
# ip command, a few ms each) sees our program back.
declare -A MS SEEN
episode() {
	local name=$1 src=$2 port=$3 check=$4 record=$5
	shift 5
	sender "$src" "$port"
	T0=$(now_ms)
	"$@"
	if SEEN[$name]=$(repaired_within $check); then
		MS[$name]=$(record_ms "$record")
		[ "${MS[$name]:-99999}" -lt $BOUND_MS ] && [ "${SEEN[$name]}" -lt $BOUND_MS ] &&
			ok "$name: repaired ${MS[$name]} ms after the tampering began (seen back after ${SEEN[$name]} ms)" ||
			bad "$name: repaired after ${MS[$name]:-?} ms, seen after ${SEEN[$name]} ms (bound $BOUND_MS)"
	else
		MS[$name]=never
		bad "$name: not repaired within 5 s"
	fi
	wait "$SENDER"
}

echo "-- tc qdisc del dev zt-b clsact"
episode qdisc "$H" 5301 "both_tc zt-b" '"hook":"tc-ingress"' ip netns exec "$H" tc qdisc del dev zt-b clsact
echo "-- tc filter del dev zt-b egress"
episode filter "$H" 5302 "tc_ours zt-b egress" '"hook":"tc-egress"' ip netns exec "$H" tc filter del dev zt-b egress
echo "-- another program in our place: tc filter replace with a pass-all program"
# Loaded by bpftool and pinned in this test's bpffs: tc's own loader would
# make its directories in whichever bpffs it finds first.
bpftool prog load build/bench/empty_tc.bpf.o "$D/bpffs/zt_foreign" type classifier ||
	bad "loading the pass-all program"
foreign() {
	ip netns exec "$H" tc filter replace dev zt-b egress pref 1 handle 0x7a73 bpf da \
		pinned "$D/bpffs/zt_foreign"
}
episode foreign "$H" 5304 "tc_ours zt-b egress" '"found":"foreign"' foreign
echo "-- an ingress qdisc in clsact's place (tc qdisc del dev zt-b clsact; tc qdisc add dev zt-b ingress)"
# One tc process, and the daemon stopped across it: an intruder faster than
# the daemon's netlink reading (else the daemon may make clsact again in
# between, and the ingress qdisc is refused: the case not tested).
printf 'qdisc del dev zt-b clsact\nqdisc add dev zt-b ingress\n' >"$D/swap.tc"
swap_qdisc() {
	kill -STOP "$ZS_DAEMON_PID"
	ip netns exec "$H" tc -batch "$D/swap.tc" || bad "the swap: tc -batch failed"
	ip netns exec "$H" tc qdisc show dev zt-b | grep -q "^qdisc ingress ffff:" ||
		bad "the swap: no ingress qdisc: $(ip netns exec "$H" tc qdisc show dev zt-b)"
	kill -CONT "$ZS_DAEMON_PID"
}
# clsact back with both programs (`tc filter show` names an ingress qdisc's
# one block for either direction: the kind is what tells).
clsact_ours() {
	ip netns exec "$H" tc qdisc show dev zt-b | grep -q "^qdisc clsact ffff:" && both_tc zt-b
}
episode ingress-qdisc "$H" 5306 clsact_ours '"found":"foreign-qdisc"' swap_qdisc
grep -q "tamper: tc-egress on zt-b of t/b had another qdisc in place of clsact; re-attached" \
	"$D/daemon.log" && ok "the log names the foreign qdisc" ||
	bad "daemon log: $(grep tamper "$D/daemon.log" | tail -n 4)"
# Repaired once, not swapped back and forth (a repair that does not hold).
n=$(grep -F '"type":"tamper"' "$D/flows.jsonl" | grep -cF '"found":"foreign-qdisc"')
[ "$n" -eq 2 ] && ok "one repair per tc hook" || bad "$n foreign-qdisc tamper records (2 expected)"

echo "-- XDP detached from the flood shield zt-a (zt-a sends the denied flow)"
xdp_ours zt-a && ok "the shield is on zt-a" || bad "no XDP on zt-a: $(ip -n "$H" link show zt-a)"
xdp_off() {
	ip -n "$H" link set dev zt-a xdpdrv off 2>/dev/null
	ip -n "$H" link set dev zt-a xdpgeneric off 2>/dev/null
	true
}
episode xdp zt-a 5303 "xdp_ours zt-a" '"hook":"xdp"' xdp_off

echo "-- a re-apply repairs (the daemon stopped while the qdisc goes, the apply queued first)"
kill -STOP "$ZS_DAEMON_PID"
Z apply -f "$D/policy.yaml" >"$D/apply.out" 2>&1 &
APPLY=$!
# The apply's connection waits in the listening socket's queue (Recv-Q) first.
queued() { ip netns exec "$H" ss -xlH src "$D/sock" | awk '{ exit !($3 >= 1) }'; }
for _ in $(seq 300); do queued && break; sleep 0.01; done
ip netns exec "$H" tc qdisc del dev zt-b clsact
kill -CONT "$ZS_DAEMON_PID"
wait "$APPLY" && ok "re-apply answered" || bad "re-apply: $(cat "$D/apply.out")"
both_tc zt-b && ok "after the re-apply zt-b carries our programs again" || bad "re-apply did not repair zt-b"

echo "-- pins removed"
rev_before=$(Z status | tr -d ' \n' | grep -o '"revision":[0-9]*' | grep -o '[0-9]*$')
pins_back() { [ -e "$D/bpffs/zs_config" ] && [ -e "$D/bpffs/zs_policy" ] && [ -e "$D/bpffs/zs_ct" ]; }
T0=$(now_ms)
rm -f "$D/bpffs/zs_config" "$D/bpffs/zs_policy" "$D/bpffs/zs_ct"
if SEEN[pins]=$(repaired_within pins_back); then
	MS[pins]=$(record_ms '"hook":"pin"')
	[ "${MS[pins]:-99999}" -lt $BOUND_MS ] && ok "pins made again in ${MS[pins]} ms (the once-a-second check)" ||
		bad "pins made again only after ${MS[pins]:-?} ms"
else
	MS[pins]=never
	bad "pins not made again within 5 s: $(ls "$D/bpffs" | tr '\n' ' ')"
fi

[ -e "$D/bpffs/ip" ] && bad "tc made its own directories in our bpffs" || true
echo "-- reported"
sleep 1.1 # a tick: the metrics are published once a second
st=$(Z status | tr -d ' \n')
rep() { echo "$st" | grep -o "\"repairs\":{[^}]*}" | grep -o "\"$1\":[0-9]*" | grep -o '[0-9]*$'; }
[ "$(rep tc-egress)" -ge 4 ] && [ "$(rep tc-ingress)" -ge 2 ] && [ "$(rep xdp)" -ge 1 ] &&
	[ "$(rep pins)" -ge 3 ] && [ "$(rep failing)" -eq 0 ] &&
	ok "status counts the repairs: $(echo "$st" | grep -o '"repairs":{[^}]*}')" ||
	bad "status: $st"
m=$(ip netns exec "$H" curl -s "http://127.0.0.1:$PORT/metrics")
metric() { echo "$m" | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(metric 'zeroseg_hook_repairs_total{hook="tc-egress"}')" -ge 4 ] &&
	[ "$(metric 'zeroseg_hook_repairs_total{hook="xdp"}')" -ge 1 ] &&
	[ "$(metric zeroseg_pin_repairs_total)" -ge 3 ] &&
	ok "metrics count them: $(echo "$m" | grep -E '^zeroseg_(hook|pin)_repairs_total' | tr '\n' ' ')" ||
	bad "metrics: $(echo "$m" | grep repairs)"
F=$D/flows.jsonl
tam() { grep -F '"type":"tamper"' "$F" | grep -F "$1" | grep -cF '"repaired":true'; }
[ "$(tam '"interface":"zt-b","ifindex"' )" -ge 5 ] && [ "$(tam '"hook":"xdp"')" -ge 1 ] &&
	[ "$(tam '"hook":"pin"')" -ge 3 ] && ok "tamper records in the flow log" ||
	bad "tamper records: $(grep -F tamper "$F")"
grep -F '"type":"tamper"' "$F" | grep -F '"detected_by":"apply"' >/dev/null &&
	ok "the re-apply found and repaired it itself" ||
	echo "  note the re-apply's repair was found first by: $(grep -F '"type":"tamper"' "$F" | tail -n 1)"
echo "  example: $(grep -F '"type":"tamper"' "$F" | grep -F '"hook":"tc-egress"' | head -n 1)"
grep -q "tamper: tc-egress on zt-b of t/b had lost our program; re-attached" "$D/daemon.log" &&
	ok "the log says what was repaired" || bad "daemon log: $(grep tamper "$D/daemon.log")"
Z flows -o table | grep -q "tamper.*tc-egress on zt-b: missing, repaired" &&
	ok "zeroseg flows shows it" || bad "flows: $(Z flows -o table | grep tamper)"

echo "-- the revision never goes backwards (a restarted daemon adopts the re-made pins)"
kill "$ZS_DAEMON_PID"
wait "$ZS_DAEMON_PID" 2>/dev/null
zs_daemon "$H" "$D" || exit 1
rev_after=$(Z status | tr -d ' \n' | grep -o '"revision":[0-9]*' | grep -o '[0-9]*$')
[ "${rev_after:-0}" -ge "${rev_before:-99}" ] && ok "revision $rev_before before, $rev_after after the restart" ||
	bad "the revision went back: $rev_before -> $rev_after"

echo "-- what passed while unprotected"
kill -TERM "$SINK"
wait "$SINK"
got() { sed -n "s|^udp/$1 received \([0-9]*\).*|\1|p" "$D/sink.out"; }
for e in qdisc:5301 filter:5302 foreign:5304 ingress-qdisc:5306 xdp:5303; do
	name=${e%%:*} port=${e#*:}
	n=$(got "$port")
	echo "  $name: repaired in ${MS[$name]} ms (seen back after ${SEEN[$name]} ms); $n of the denied datagrams passed (at $PPS/s)"
	[ -n "$n" ] && [ "$n" -le $((PPS * BOUND_MS / 1000)) ] && ok "$name: at most the bound's worth passed" ||
		bad "$name: $n datagrams passed"
done
[ "$(got 5303)" = 0 ] && ok "xdp: none passed (tc still enforced under the shield)" || bad "xdp: $(got 5303) passed"
[ "$(got 5305)" = 0 ] && ok "the untampered check: none passed" || bad "5305: $(got 5305) passed"
echo "  pins: made again in ${MS[pins]} ms"
summary
