#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: flow records over a flow's life, with real traffic.
#
#   zsf-a (10.87.0.11) --zsf-a--+-- host ns zsf-host [daemon: active 1 s, idle 2 s]
#   zsf-b (10.87.0.12) --zsf-b--+
#
# Checks: a long TCP connection gets a start record, periodic updates and an
# end record (FIN) with packets and bytes both ways and TCP flags; a UDP flow
# ends by idle timeout; a flood of denied packets costs about one record per
# second, each carrying the count of packets suppressed since the last; the
# flow log rotates by size and keeps N files; `flows` filters.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsf-host zsf-a zsf-b

e2e_host zsf-host
e2e_workloads zsf-a 10.87.0.11 zsf-b 10.87.0.12
zs_serve zsf-b --tcp 80 --udp 53

cat >"$D/p.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: f, labels: {app: a}}
spec: {interface: zsf-a, addresses: [10.87.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: f, labels: {app: b}}
spec: {interface: zsf-b, addresses: [10.87.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a-to-b, namespace: f}
spec:
  selector: {matchLabels: {app: a}}
  egress: [{to: [{selector: {matchLabels: {app: b}}}], ports: [{port: 80}, {protocol: UDP, port: 53}, {protocol: UDP, port: 9}]}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b-from-a, namespace: f}
spec:
  selector: {matchLabels: {app: b}}
  ingress: [{from: [{selector: {matchLabels: {app: a}}}], ports: [{port: 80}, {protocol: UDP, port: 53}]}]
Y
zs_daemon $H "$D" --active-timeout 1 --idle-timeout 2 --flow-log-max-kb 64 --flow-log-keep 2 || exit 1
Z apply -f "$D/p.yaml" >/dev/null || bad "apply"
F=$D/flows.jsonl

echo "-- a long TCP flow: start, updates, end"
ip netns exec zsf-a "$ZS_PROBE" hold 10.87.0.12 80 --every-ms 100 --seconds 3.5 >/dev/null 2>&1
sleep 2.5
tcp() { grep -F '"protocol":"TCP"' "$F" | grep -F '"port":80,' | grep -F "\"type\":\"$1\""; }
[ "$(tcp new | grep -c allowed)" -ge 1 ] && ok "start record" || bad "no start record: $(cat "$F")"
tcp new | head -1 | grep -q '"policy":"f/b-from-a","rule":"ingress\[0\]"' &&
	ok "the record names the deciding policy and rule" || bad "policy/rule: $(tcp new | head -1)"
n=$(tcp update | wc -l)
[ "$n" -ge 2 ] && ok "periodic updates of the long flow ($n)" || bad "updates: $n"
end=$(tcp end | head -1)
grep -q '"end_reason":"end-of-flow"' <<<"$end" && ok "end record on FIN" || bad "end record: $end"
pk=$(grep -o '"packets":\[[0-9]*,[0-9]*\]' <<<"$end")
[[ "$pk" =~ \"packets\":\[([0-9]+),([0-9]+)\] ]] && [ "${BASH_REMATCH[1]}" -ge 30 ] &&
	[ "${BASH_REMATCH[2]}" -ge 30 ] && ok "packets both ways in the end record ($pk)" || bad "packets: $pk"
grep -q '"tcp_flags":"SAPF' <<<"$end" && ok "TCP flags seen: SYN ACK PSH FIN" || bad "flags: $end"
grep -q '"start":"' <<<"$end" && grep -q '"end":"' <<<"$end" && ok "start and end times" ||
	bad "times: $end"

echo "-- UDP: idle timeout"
ip netns exec zsf-a "$ZS_PROBE" udp 10.87.0.12 53 --ms 500 >/dev/null
sleep 3.5
grep -F '"protocol":"UDP"' "$F" | grep -F '"type":"end"' | grep -q '"end_reason":"idle"' &&
	ok "a quiet UDP flow ends by idle timeout" || bad "no idle end: $(grep UDP "$F")"

echo "-- a flood of denied packets: one record a second, with the count"
before=$(grep -c '"port":9,' "$F")
ip netns exec zsf-a "$ZS_PROBE" stream udp 10.87.0.12 9 --pps 2000 --seconds 3 >/dev/null 2>&1
sleep 2.5 # the last second's drops are reported once the flow is quiet
recs=$(grep -F '"port":9,' "$F" | grep -c '"verdict":"denied"')
sup=$(grep -F '"port":9,' "$F" | grep -o '"suppressed":[0-9]*' | grep -o '[0-9]*' | paste -sd+ | bc 2>/dev/null ||
	grep -F '"port":9,' "$F" | grep -o '"suppressed":[0-9]*' | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
[ "$recs" -ge 2 ] && [ "$recs" -le 7 ] && ok "6000 denied packets cost $recs records" ||
	bad "denied records: $recs (before $before)"
[ "${sup:-0}" -ge 5800 ] && ok "suppressed counts carried: $sup packets" || bad "suppressed: $sup"

echo "-- rotation"
pids=()
for i in $(seq 40); do ip netns exec zsf-a "$ZS_PROBE" udp 10.87.0.12 53 --ms 50 >/dev/null 2>&1 & pids+=($!); done
wait "${pids[@]}" # not a bare wait: the daemon and servers are children too
ip netns exec zsf-a "$ZS_PROBE" stream udp 10.87.0.12 9 --pps 5 --seconds 1 >/dev/null 2>&1
for i in $(seq 3); do
	ip netns exec zsf-b "$ZS_PROBE" matrix --ms 100 --port tcp/$((1000 + i)) --port udp/$((2000 + i)) 10.87.0.11 >/dev/null 2>&1
done
sleep 1.5
size=$(stat -c %s "$F")
[ "$size" -le $((64 * 1024)) ] && ok "the live file stays under its limit ($size bytes)" || bad "size $size"
ls "$F".1 >/dev/null 2>&1 && ok "rotated to $(basename "$F").1" || bad "no rotation: $(ls "$D")"
[ ! -e "$F.3" ] && ok "only --flow-log-keep 2 rotated files kept" || bad "$F.3 exists"

echo "-- flows filters"
out=$(Z flows --last 500 --verdict denied --port 9 -o json)
[ -n "$out" ] && ! grep -v '"port":9,' <<<"$out" | grep -q . && ok "--verdict denied --port 9" ||
	bad "filter: $out"
out=$(Z flows --last 500 --from f/a --protocol tcp -o compact)
[ -n "$out" ] && ! grep -qv 'f/a' <<<"$out" && ok "--from f/a --protocol tcp" || bad "from filter: $out"
out=$(Z flows --last 500 --to 10.87.0.0/24 --type end -o table)
grep -q "end" <<<"$out" && ok "--to CIDR --type end -o table" || bad "table: $out"
summary
