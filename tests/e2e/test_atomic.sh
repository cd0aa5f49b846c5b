#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: policy updates are atomic. While traffic flows, two policies are
# applied alternately a thousand times; not one packet of a flow both allow is
# dropped, not one packet of a flow both deny gets through.
#
#   zsa-a (10.96.0.11) --zsa-a--+
#   zsa-b (10.96.0.12) --zsa-b--+-- host ns zsa-host [zeroseg daemon]
#   zsa-c (10.96.0.13) --zsa-c--+
#   zsa-d (10.96.0.14) --zsa-d--+
#
# Both policies: a -> b udp/5000 and tcp/6000 allowed; c -> b udp/5001 denied
# by b's ingress (c's egress allows it), d -> b udp/5002 denied by d's egress
# (b's ingress allows it). They differ only in the tcp port (7001 in P1, 7002
# in P2) on which a and c may reach d and d and b reach each other: every apply
# gives all four subjects fresh rule sets and moves the revision, so the
# established flows are re-checked, and the denied ones re-judged, each time.
#
# Measured from before the first apply to after the last: every datagram of
# a -> b is counted by b and echoed back, and must make the round trip; b
# counts the denied flows' datagrams, which must number zero; the tcp stream
# a -> b must deliver every byte without a retransmit, reset or stall. The
# revision must move by exactly 1000. (ZSA_APPLIES=N: fewer, to try things.)
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsa-host zsa-a zsa-b zsa-c zsa-d

APPLIES=${ZSA_APPLIES:-1000}
PPS=3000     # a -> b, udp
BPS=2000000  # a -> b, tcp
LIMIT=120    # seconds: the streams are stopped once the applies are done

e2e_host zsa-host
e2e_workloads zsa-a 10.96.0.11 zsa-b 10.96.0.12 zsa-c 10.96.0.13 zsa-d 10.96.0.14

# policy PORT: the estate, and the flows to d on tcp/PORT that tell P1 from P2.
policy() {
	cat <<Y
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: at, labels: {app: a}}
spec: {interface: zsa-a, addresses: [10.96.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: at, labels: {app: b}}
spec: {interface: zsa-b, addresses: [10.96.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: c, namespace: at, labels: {app: c}}
spec: {interface: zsa-c, addresses: [10.96.0.13]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: d, namespace: at, labels: {app: d}}
spec: {interface: zsa-d, addresses: [10.96.0.14]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b, namespace: at}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a}}}]
      ports: [{protocol: UDP, port: 5000}, {protocol: TCP, port: 6000}]
    - from: [{selector: {matchLabels: {app: d}}}]
      ports: [{protocol: UDP, port: 5002}, {protocol: TCP, port: $1}]
  egress:
    - to: [{selector: {matchLabels: {app: d}}}]
      ports: [{protocol: TCP, port: $1}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: clients, namespace: at}
spec:
  selector: {matchExpressions: [{key: app, operator: In, values: [a, c]}]}
  egress:
    - to: [{selector: {matchLabels: {app: b}}}]
      ports: [{protocol: UDP, port: 5000}, {protocol: TCP, port: 6000}, {protocol: UDP, port: 5001}]
    - to: [{selector: {matchLabels: {app: d}}}]
      ports: [{protocol: TCP, port: $1}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: d, namespace: at}
spec:
  selector: {matchLabels: {app: d}}
  ingress:
    - from: [{selector: {}}]
      ports: [{protocol: TCP, port: $1}]
Y
}
policy 7001 >"$D/p1.yaml"
policy 7002 >"$D/p2.yaml"

ip netns exec zsa-b "$ZS_PROBE" sink --udp 5000 --udp 5001 --udp 5002 --tcp 6000 \
	--seconds $((LIMIT + 10)) >"$D/sink.out" 2>&1 &
ZS_PIDS+=("$!")
SINK_PID=$!

zs_daemon $H "$D" || exit 1
Z apply -f "$D/p1.yaml" >/dev/null || bad "apply P1"
Z apply -f "$D/p2.yaml" >/dev/null || bad "apply P2"
Z apply -f "$D/p1.yaml" >/dev/null || bad "apply P1"

# stream WNS OUT ARGS...: a stream in the background, its pid in $STREAMS.
STREAMS=()
stream() {
	local w=$1 out=$2
	shift 2
	ip netns exec "$w" "$ZS_PROBE" stream "$@" --seconds $LIMIT >"$D/$out" 2>&1 &
	ZS_PIDS+=("$!")
	STREAMS+=("$!")
}

echo "-- the policies, before the churn (b counts these too)"
expect pass zsa-a udp 10.96.0.12 5000
ip netns exec zsa-a "$ZS_PROBE" stream tcp 10.96.0.12 6000 --bps 10000 --seconds 1 >"$D/pre.tcp" &&
	ok "pass: zsa-a tcp 10.96.0.12 6000" || bad "a -> b:6000: $(cat "$D/pre.tcp")"
PRE_TCP=$(sed -n 's/^sent \([0-9]*\) bytes.*/\1/p' "$D/pre.tcp")
expect block zsa-c udp 10.96.0.12 5001
expect block zsa-d udp 10.96.0.12 5002

# The host's own address changes (link-locals leaving DAD) move the revision
# too; let them settle so that the count below is the applies' alone.
for _ in $(seq 40); do
	[ -z "$(ip -n $H -6 addr show tentative)" ] && break
	sleep 0.1
done
sleep 0.5
rev() { Z status | sed -n 's/.*"revision": \([0-9]*\).*/\1/p'; }
# drops: "REASON PACKETS" for every drop reason the datapath has counted
# (status: "packets": {"forwarded": {"packets": N, ...}, "REASON": {...}}).
drops() {
	Z status | awk '/^  "packets": \{/ { in_p = 1; next } /^  [}]/ { in_p = 0 }
		in_p && /^    "[a-z-]+": \{/ { r = $1; gsub(/[":]/, "", r) }
		in_p && r != "forwarded" && /^      "packets": / { gsub(/,/, "", $2); print r, $2 }'
}
denied_before=$(drops | awk '$1 == "default-deny" { print $2 }')
rev_before=$(rev)

echo "-- $APPLIES applies alternating P1 and P2 while traffic flows"
stream zsa-a allowed.udp udp 10.96.0.12 5000 --pps $PPS --drain-ms 300
stream zsa-a allowed.tcp tcp 10.96.0.12 6000 --bps $BPS --drain-ms 2000
stream zsa-c denied1.udp udp 10.96.0.12 5001 --pps 1000 --drain-ms 300
stream zsa-d denied2.udp udp 10.96.0.12 5002 --pps 1000 --drain-ms 300
sleep 0.5

t0=$(date +%s%3N)
failed=0
for ((i = 0; i < APPLIES; i++)); do
	p=$((i % 2 ? 1 : 2)) # P1 is in force: P2, P1, P2, ...
	Z apply -f "$D/p$p.yaml" >/dev/null 2>>"$D/apply.err" || failed=$((failed + 1))
done
t1=$(date +%s%3N)
rev_after=$(rev)
echo "   $APPLIES applies in $((t1 - t0)) ms"
[ "$failed" -eq 0 ] && ok "$APPLIES applies succeeded" ||
	bad "$failed of $APPLIES applies failed: $(head -3 "$D/apply.err")"
[ $((rev_after - rev_before)) -eq "$APPLIES" ] && ok "revision moved by $APPLIES ($rev_before -> $rev_after)" ||
	bad "revision moved by $((rev_after - rev_before)), not $APPLIES ($rev_before -> $rev_after)"

# Half a second more under the last policy, then the streams end and drain.
sleep 0.5
running=0
for p in "${STREAMS[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
[ $running -eq ${#STREAMS[@]} ] && ok "every stream ran throughout the applies" ||
	bad "$((${#STREAMS[@]} - running)) streams ended before the applies did"
kill "${STREAMS[@]}" 2>/dev/null
wait "${STREAMS[@]}"
kill "$SINK_PID"
wait "$SINK_PID" 2>/dev/null

echo "-- what arrived"
num() { sed -n "s/.*$1 \([0-9]*\).*/\1/p" "$2" | head -1; }
sink_of() { sed -n "s|^$1 received \([0-9]*\).*|\1|p" "$D/sink.out"; }
echo "   a -> b udp/5000: $(cat "$D/allowed.udp"); b received $(sink_of udp/5000)"
echo "   a -> b tcp/6000: $(cat "$D/allowed.tcp"); b received $(sink_of tcp/6000) bytes"
echo "   c -> b udp/5001: $(cat "$D/denied1.udp"); b received $(sink_of udp/5001)"
echo "   d -> b udp/5002: $(cat "$D/denied2.udp"); b received $(sink_of udp/5002)"

u_sent=$(num sent "$D/allowed.udp")
u_echoed=$(num echoed "$D/allowed.udp")
u_recv=$(sink_of udp/5000)
[ "${u_sent:-0}" -gt 0 ] && [ "$u_echoed" = "$u_sent" ] &&
	ok "allowed udp: all $u_sent datagrams made the round trip" ||
	bad "allowed udp lost datagrams: $(cat "$D/allowed.udp")"
# b's count includes the probe's before the churn: one to three datagrams.
[ -n "$u_sent" ] && [ "${u_recv:-0}" -gt "$u_sent" ] && [ "$u_recv" -le $((u_sent + 3)) ] &&
	ok "allowed udp: b received every datagram" || bad "allowed udp: b received ${u_recv:-?} of ${u_sent:-?}"
t_sent=$(sed -n 's/^sent \([0-9]*\) bytes.*/\1/p' "$D/allowed.tcp")
t_recv=$(sink_of tcp/6000)
grep -q "^sent [1-9][0-9]* bytes, .*, closed$" "$D/allowed.tcp" &&
	ok "allowed tcp: no reset, no stall, closed cleanly" || bad "allowed tcp: $(cat "$D/allowed.tcp")"
# A retransmit the receiver reports as a duplicate (D-SACK) was not lost: with
# the CPUs busy, segments of one connection can be reordered between two CPUs'
# backlogs, and three duplicate ACKs make TCP resend what was merely late.
retrans=$(ip netns exec zsa-a nstat -saz TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')
dsack=$(ip netns exec zsa-a nstat -saz TcpExtTCPDSACKRecvSegs | awk '$1 == "TcpExtTCPDSACKRecvSegs" { print $2 }')
[ "${retrans:-x}" = "${dsack:-y}" ] &&
	ok "allowed tcp: nothing lost ($retrans retransmits; a duplicate at the receiver, each)" ||
	bad "allowed tcp: ${retrans:-?} segments retransmitted, only ${dsack:-?} reported duplicate"
[ -n "$t_sent" ] && [ -n "$PRE_TCP" ] && [ "${t_recv:-0}" -eq $((t_sent + PRE_TCP)) ] &&
	ok "allowed tcp: b received all $t_sent bytes" ||
	bad "allowed tcp: b received ${t_recv:-?} bytes for ${t_sent:-?} sent (+${PRE_TCP:-?} before)"
for f in "udp/5001 denied1.udp" "udp/5002 denied2.udp"; do
	set -- $f
	s=$(num sent "$D/$2")
	[ "${s:-0}" -gt 0 ] && [ "$(sink_of "$1")" = 0 ] && [ "$(num echoed "$D/$2")" = 0 ] &&
		ok "denied $1: none of $s datagrams arrived" ||
		bad "denied $1: b received $(sink_of "$1") of ${s:-?}: $(cat "$D/$2")"
done

echo "-- the datapath's own account"
d1=$(num sent "$D/denied1.udp")
d2=$(num sent "$D/denied2.udp")
drops >"$D/drops"
denied_after=$(awk '$1 == "default-deny" { print $2 }' "$D/drops")
[ "$(awk '{ print $1 }' "$D/drops" | tr '\n' ' ')" = "default-deny " ] &&
	ok "no drops but default-deny" || bad "drop reasons: $(tr '\n' ' ' <"$D/drops")"
[ $((denied_after - denied_before)) -eq $((d1 + d2)) ] &&
	ok "default-deny drops during the churn: $((d1 + d2)), the denied streams' and nothing else" ||
	bad "default-deny drops during the churn: $((denied_after - denied_before)), denied streams sent $((d1 + d2))"
sleep 0.3 # the last flow records
F=$D/flows.jsonl
a_to_b() { grep -F '"ip":"10.96.0.11"' "$F" | grep -E '"dst":\{"ip":"10.96.0.12","port":(5000|6000),'; }
if [ "$(a_to_b | wc -l)" -lt 2 ]; then
	bad "a -> b: $(a_to_b | wc -l) flow records, not even the two streams'"
elif a_to_b | grep -vqF '"verdict":"allowed"'; then
	bad "a -> b has a record that is not allowed: $(a_to_b | grep -vF '"verdict":"allowed"' | head -2)"
else
	ok "a -> b: $(a_to_b | wc -l) records, all allowed"
fi
denied_flows() { grep -E '"dst":\{"ip":"10.96.0.12","port":(5001|5002),' "$F"; }
if [ "$(denied_flows | wc -l)" -lt 2 ]; then
	bad "c -> b:5001, d -> b:5002: $(denied_flows | wc -l) flow records, not even one each"
elif denied_flows | grep -qvF '"verdict":"denied"'; then
	bad "a denied flow has a record that is not denied: $(denied_flows | grep -vF '"verdict":"denied"' | head -2)"
else
	ok "c -> b:5001, d -> b:5002: $(denied_flows | wc -l) records, all denied"
fi

summary
