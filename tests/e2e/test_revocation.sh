#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: revocation. Established connections are held open, a message
# every 50 ms, each echo awaited; a policy that takes one of them away is
# applied. That one stops at its next packet, the ones beside it carry on.
#
#   zsr-a (10.97.0.11) --zsr-a--+
#   zsr-c (10.97.0.13) --zsr-c--+-- host ns zsr-host [zeroseg daemon]
#   zsr-b (10.97.0.12) --zsr-b--+   b: echo servers on tcp/8080, tcp/9090
#
# Connections: a -> b:8080 (revoked), a -> b:9090 (same pair, another port:
# stays), c -> b:8080 (same port, another client: stays).
# Checks: the revoked connection stops within a second of the apply and not
# before it; the others hold for the whole window; the flow log has a
# "revoked" record for it and the drop counters a "revoked" reason; afterwards
# a new connection a -> b:8080 is blocked while the others still connect.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsr-host zsr-a zsr-b zsr-c

HOLD=6 # seconds each connection is held

e2e_host zsr-host
e2e_workloads zsr-a 10.97.0.11 zsr-b 10.97.0.12 zsr-c 10.97.0.13
zs_serve zsr-b --tcp 8080 --tcp 9090

# policy A_PORTS: a may reach b on A_PORTS, c on 8080.
policy() {
	cat <<Y
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: rv, labels: {app: a}}
spec: {interface: zsr-a, addresses: [10.97.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: rv, labels: {app: b}}
spec: {interface: zsr-b, addresses: [10.97.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: c, namespace: rv, labels: {app: c}}
spec: {interface: zsr-c, addresses: [10.97.0.13]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b, namespace: rv}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a}}}]
      ports: [$1]
    - from: [{selector: {matchLabels: {app: c}}}]
      ports: [{port: 8080}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: clients, namespace: rv}
spec:
  selector: {matchExpressions: [{key: app, operator: In, values: [a, c]}]}
  egress:
    - to: [{selector: {matchLabels: {app: b}}}]
      ports: [{port: 8080}, {port: 9090}]
Y
}
policy "{port: 8080}, {port: 9090}" >"$D/before.yaml"
policy "{port: 9090}" >"$D/after.yaml"

zs_daemon $H "$D" || exit 1
Z apply -f "$D/before.yaml" >/dev/null || bad "apply"

echo "-- three connections held open"
# hold NAME WNS ADDR PORT: a held connection in the background, output in $D/NAME.
declare -A PID
hold() {
	ip netns exec "$2" "$ZS_PROBE" hold "$3" "$4" --every-ms 50 --timeout-ms 500 \
		--seconds $HOLD >"$D/$1" 2>&1 &
	ZS_PIDS+=("$!")
	PID[$1]=$!
}
hold revoked zsr-a 10.97.0.12 8080
hold same-pair zsr-a 10.97.0.12 9090
hold same-port zsr-c 10.97.0.12 8080
for _ in $(seq 40); do
	[ "$(cat "$D/revoked" "$D/same-pair" "$D/same-port" | grep -c '^connected$')" -eq 3 ] && break
	sleep 0.05
done
sleep 1 # a second of messages under the old policy
for n in revoked same-pair same-port; do
	grep -q '^connected$' "$D/$n" && ! grep -q stopped "$D/$n" && ok "$n: connected, echoing" ||
		bad "$n: $(cat "$D/$n")"
done

echo "-- apply a policy without a -> b:8080"
t_start=$(date +%s%3N)
Z apply -f "$D/after.yaml" >/dev/null || bad "apply"
t_end=$(date +%s%3N)
echo "   applied in $((t_end - t_start)) ms"
wait "${PID[revoked]}" "${PID[same-pair]}" "${PID[same-port]}"

line=$(tail -1 "$D/revoked")
echo "   revoked: $line"
t_stop=$(sed -n 's/^stopped after [0-9]* messages at \([0-9]*\):.*/\1/p' "$D/revoked")
if [ -z "$t_stop" ]; then
	bad "a -> b:8080 did not stop: $line"
else
	# The message sent just before the apply may meet the new policy in flight.
	[ "$t_stop" -ge $((t_start - 100)) ] && ok "a -> b:8080 carried on until the apply" ||
		bad "a -> b:8080 stopped $((t_start - t_stop)) ms before the apply"
	[ "$t_stop" -le $((t_end + 1000)) ] &&
		ok "a -> b:8080 stopped $((t_stop - t_end)) ms after the apply returned (limit 1000)" ||
		bad "a -> b:8080 stopped $((t_stop - t_end)) ms after the apply returned"
fi
for n in same-pair same-port; do
	msgs=$(sed -n 's/^held \([0-9]*\) messages$/\1/p' "$D/$n")
	# 20 a second for $HOLD seconds; some slack for a slow machine.
	[ "${msgs:-0}" -ge $((HOLD * 20 * 3 / 4)) ] && ok "$n: carried on, $msgs messages" ||
		bad "$n: $(tail -1 "$D/$n")"
done

echo "-- afterwards"
expect block zsr-a tcp 10.97.0.12 8080
expect pass zsr-a tcp 10.97.0.12 9090
expect pass zsr-c tcp 10.97.0.12 8080

echo "-- the datapath's account"
sleep 0.3
F=$D/flows.jsonl
grep -F '"type":"revoked"' "$F" | grep -F '"workload":"rv/a"' |
	grep -qF '"dst":{"ip":"10.97.0.12","port":8080,' &&
	ok "flow log: a -> b:8080 revoked" || bad "no revoked record for a -> b:8080"
if grep -F '"type":"revoked"' "$F" | grep -qvF '"dst":{"ip":"10.97.0.12","port":8080,'; then
	bad "other flows revoked: $(grep -F '"type":"revoked"' "$F" | grep -vF '"port":8080,' | head -2)"
elif grep -F '"type":"revoked"' "$F" | grep -qF '"workload":"rv/c"'; then
	bad "c -> b:8080 revoked"
else
	ok "flow log: nothing else revoked"
fi
Z status | grep -q '"revoked": {' && ok "status counts revoked drops" || bad "status: no revoked drops"

summary
