#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: IPv6 as complete as IPv4. Dual-stack workloads, each a /128
# behind its veth with the host's fe80::1 as gateway, so nothing works unless
# neighbour discovery passes the datapath; then policy, conntrack and ICMPv6
# echo by policy, with real traffic.
#
#   zs6-a (10.98.0.11, fd77:98::11) --zs6-a--+
#   zs6-b (10.98.0.12, fd77:98::12) --zs6-b--+-- host ns zs6-host [zeroseg daemon]
#   zs6-c (10.98.0.13, fd77:98::13) --zs6-c--+   (fe80::1 on every host veth)
#
# Policy: a may reach b on tcp/80, udp/53 and ICMPv6 echo (type 128); c has
# no rule. Checks: neighbour discovery resolves both ways and is never judged
# as a flow; allowed TCP, UDP and echo pass over IPv6 (their replies through
# conntrack), denied ones are blocked, IPv4 beside them behaves the same; the
# echo is blocked once its rule is gone; the flow log shows the IPv6 flows.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zs6-host zs6-a zs6-b zs6-c

A6=fd77:98::11 B6=fd77:98::12
e2e_host zs6-host
zs_workload6 $H zs6-a zs6-a 10.98.0.11 $A6
zs_workload6 $H zs6-b zs6-b 10.98.0.12 $B6
zs_workload6 $H zs6-c zs6-c 10.98.0.13 fd77:98::13
zs_serve zs6-b --tcp 80 --udp 53 --tcp 22

# policy PORTS: a may reach b on PORTS.
policy() {
	cat <<Y
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: v6, labels: {app: a}}
spec: {interface: zs6-a, addresses: [10.98.0.11, "$A6"]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: v6, labels: {app: b}}
spec: {interface: zs6-b, addresses: [10.98.0.12, "$B6"]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: c, namespace: v6, labels: {app: c}}
spec: {interface: zs6-c, addresses: [10.98.0.13, "fd77:98::13"]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b, namespace: v6}
spec:
  selector: {matchLabels: {app: b}}
  ingress: [{from: [{selector: {matchLabels: {app: a}}}], ports: [$1]}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a, namespace: v6}
spec:
  selector: {matchLabels: {app: a}}
  egress: [{to: [{selector: {matchLabels: {app: b}}}], ports: [$1]}]
Y
}
policy "{port: 80}, {protocol: UDP, port: 53}, {protocol: ICMPv6, type: 128}" >"$D/p.yaml"
policy "{port: 80}, {protocol: UDP, port: 53}" >"$D/no-echo.yaml"

# expect_icmp pass|block WNS ADDR: an echo request, and what it should do.
expect_icmp() {
	local want=$1 got
	if ip netns exec "$2" "$ZS_PROBE" icmp "$3" --ms "${ZS_PROBE_MS:-700}"; then got=pass; else got=block; fi
	[ "$got" = "$want" ] && ok "$want: $2 icmp echo $3" || bad "expected $want, got $got: $2 icmp echo $3"
}

echo "-- before enrollment, IPv6 works"
# The kernel's own first neighbour resolution can outlast one probe: warm it up.
for _ in 1 2 3; do zs_probe zs6-a tcp $B6 80 && break; done
expect pass zs6-a tcp $B6 80
expect_icmp pass zs6-a $B6
# Forget what was resolved: neighbour discovery has to work under policy too.
for n in $H zs6-a zs6-b zs6-c; do ip -n $n -6 neigh flush all; done

zs_daemon $H "$D" || exit 1
Z apply -f "$D/p.yaml" >/dev/null || bad "apply"

echo "-- neighbour discovery"
expect pass zs6-a tcp $B6 80
# gw WNS: the workload's entry for its gateway; nb IF ADDR: the host's for a workload.
gw() { ip -n "$1" -6 neigh show fe80::1 dev eth0; }
nb() { ip -n $H -6 neigh show "$2" dev "$1"; }
for w in zs6-a zs6-b; do
	grep -q lladdr <<<"$(gw $w)" && ok "$w resolved its gateway fe80::1: $(gw $w)" ||
		bad "$w cannot resolve its gateway fe80::1: $(gw $w)"
done
for x in "zs6-a $A6" "zs6-b $B6"; do
	grep -q lladdr <<<"$(nb $x)" && ok "the host resolved ${x#* }: $(nb $x)" ||
		bad "the host cannot resolve ${x#* }: $(nb $x)"
done
sleep 0.3
# ND messages are link plumbing: none may be judged (and dropped) as a flow.
nd=$(grep -F '"protocol":"ICMPv6"' "$D/flows.jsonl" | grep -E '"src":\{"ip":"fe80:|"dst":\{"ip":"fe80:')
[ -z "$nd" ] && ok "no flow records for neighbour discovery" ||
	bad "neighbour discovery judged as flows: $(head -2 <<<"$nd" | sed 's/,"labels":{[^}]*}//g')"

echo "-- policy over IPv6"
expect pass zs6-a udp $B6 53
expect_icmp pass zs6-a $B6
expect block zs6-a tcp $B6 22
expect block zs6-c tcp $B6 80
expect block zs6-c udp $B6 53
expect_icmp block zs6-c $B6
expect_icmp block zs6-b $A6
echo "-- and over IPv4 beside it"
expect pass zs6-a tcp 10.98.0.12 80
expect block zs6-c tcp 10.98.0.12 80
expect_icmp block zs6-a 10.98.0.12

echo "-- the echo rule removed"
Z apply -f "$D/no-echo.yaml" >/dev/null || bad "apply"
expect_icmp block zs6-a $B6
expect pass zs6-a tcp $B6 80

echo "-- flow log"
sleep 0.3
F=$D/flows.jsonl
flow() { # flow VERDICT SRC DST PORT|- PROTO: a line with all of these
	local port=",\"port\":$4,"
	[ "$4" = - ] && port=',"identity"'
	grep -F "\"verdict\":\"$1\"" "$F" | grep -F "\"src\":{\"ip\":\"$2\"" |
		grep -F "\"dst\":{\"ip\":\"$3\"$port" | grep -qF "\"protocol\":\"$5\""
}
flow allowed $A6 $B6 80 TCP && ok "flow: $A6 -> $B6 tcp/80 allowed" || bad "no allowed tcp/80 record"
flow allowed $A6 $B6 53 UDP && ok "flow: $A6 -> $B6 udp/53 allowed" || bad "no allowed udp/53 record"
flow allowed $A6 $B6 - ICMPv6 && ok "flow: $A6 -> $B6 echo allowed" || bad "no allowed ICMPv6 record"
flow denied $A6 $B6 22 TCP && ok "flow: $A6 -> $B6 tcp/22 denied" || bad "no denied tcp/22 record"
flow denied fd77:98::13 $B6 80 TCP && ok "flow: c -> $B6 tcp/80 denied" || bad "no denied c -> b record"
flow denied $A6 $B6 - ICMPv6 && ok "flow: $A6 -> $B6 echo denied after the rule went" ||
	bad "no denied ICMPv6 record"
grep -F "\"ip\":\"$A6\"" "$F" | grep -qF '"workload":"v6/a"' && ok "flow names the workload of an IPv6 address" ||
	bad "IPv6 source not attributed to v6/a"

summary
