#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: two simulated hosts, each with its own daemon and workloads,
# joined by a veth "uplink". Cross-host traffic is enforced by the XDP
# prefilter on the receiving uplink (before an skb exists); the same objects
# are applied on both hosts (a workload whose interface is not on a host is
# remote there: its address and labels are in the ipcache).
#
#   zx-a1 10.93.1.11 --+                                  +-- zx-a2 10.93.2.11
#   zx-b1 10.93.1.12 --+-- zx-h1 [daemon] ==uplink== zx-h2 [daemon]
#                          zx-up1 192.168.99.1   zx-up2 192.168.99.2
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zx-h1 zx-h2 zx-a1 zx-b1 zx-a2

zs_workdir
D1=$ZS_DIR/h1 D2=$ZS_DIR/h2
mkdir -p "$D1/bpffs" "$D2/bpffs"
mount -t bpf bpf "$D1/bpffs" && ZS_MOUNTS+=("$D1/bpffs")
mount -t bpf bpf "$D2/bpffs" && ZS_MOUNTS+=("$D2/bpffs")
Z1() { "$ZS_BIN" --socket "$D1/sock" "$@"; }
Z2() { "$ZS_BIN" --socket "$D2/sock" "$@"; }

zs_host zx-h1
zs_host zx-h2
ip link add zx-up1 netns zx-h1 type veth peer name zx-up2 netns zx-h2
ip -n zx-h1 addr add 192.168.99.1/30 dev zx-up1
ip -n zx-h2 addr add 192.168.99.2/30 dev zx-up2
ip -n zx-h1 link set zx-up1 up
ip -n zx-h2 link set zx-up2 up
ip -n zx-h1 route add 10.93.2.0/24 via 192.168.99.2
ip -n zx-h2 route add 10.93.1.0/24 via 192.168.99.1
zs_workload zx-h1 zx-a1 zx-a1 10.93.1.11
zs_workload zx-h1 zx-b1 zx-b1 10.93.1.12
zs_workload zx-h2 zx-a2 zx-a2 10.93.2.11
zs_serve zx-b1 --tcp 80 --tcp 81 --udp 53

cat >"$ZS_DIR/fleet.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a1, namespace: fleet, labels: {app: a, site: one}}
spec: {interface: zx-a1, addresses: [10.93.1.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b1, namespace: fleet, labels: {app: b, site: one}}
spec: {interface: zx-b1, addresses: [10.93.1.12]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a2, namespace: fleet, labels: {app: a, site: two}}
spec: {interface: zx-a2, addresses: [10.93.2.11]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a-out, namespace: fleet}
spec:
  selector: {matchLabels: {app: a}}
  egress:
    - to: [{selector: {matchLabels: {app: b}}}]
      ports: [{port: 80}, {port: 81}, {protocol: UDP, port: 53}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b-in, namespace: fleet}
spec:
  selector: {matchLabels: {app: b}}
  ingress:
    - from: [{selector: {matchLabels: {app: a, site: two}}}]
      ports: [{port: 80}]
    - from: [{selector: {matchLabels: {app: a, site: one}}}]
      ports: [{port: 81}]
Y

zs_daemon zx-h1 "$D1" --uplink zx-up1 || exit 1
zs_daemon zx-h2 "$D2" --uplink zx-up2 || exit 1
Z1 apply -f "$ZS_DIR/fleet.yaml" >/dev/null || bad "apply on host 1"
Z2 apply -f "$ZS_DIR/fleet.yaml" >/dev/null || bad "apply on host 2"

ip -n zx-h1 link show zx-up1 | grep -q "xdp" && ok "XDP prefilter attached to host 1's uplink" ||
	bad "no XDP program on zx-up1: $(ip -n zx-h1 link show zx-up1)"
grep -q "uplink zx-up1: XDP prefilter attached" "$D1/daemon.log" && ok "daemon names the uplink and mode" ||
	bad "daemon log: $(cat "$D1/daemon.log")"

echo "-- cross-host"
expect pass zx-a2 tcp 10.93.1.12 80     # b1 takes 80 from site two
expect block zx-a2 tcp 10.93.1.12 81    # a2's egress allows 81; b1's ingress does not
expect block zx-a2 udp 10.93.1.12 53
echo "-- same host, for contrast"
expect pass zx-a1 tcp 10.93.1.12 81
expect block zx-a1 tcp 10.93.1.12 80

sleep 0.3
F=$D1/flows.jsonl
denied_at() { # denied_at DPORT IFACE: host 1 reported the denial at that interface
	grep -F '"verdict":"denied"' "$F" | grep -F "\"dst\":{\"ip\":\"10.93.1.12\",\"port\":$1," |
		grep -qF "\"interface\":\"$2\""
}
denied_at 81 zx-up1 && ok "the cross-host denial happened on the uplink (XDP), before tc" ||
	bad "no denied record at zx-up1 for :81: $(cat "$F")"
denied_at 53 zx-up1 && ok "UDP too" || bad "no denied UDP record at zx-up1"
grep -F '"verdict":"allowed"' "$F" | grep -F '"port":80,' | grep -qF '"workload":"fleet/a2"' &&
	ok "the allowed cross-host flow names the remote workload" || bad "allowed record: $(cat "$F")"
n=$(grep -F '"verdict":"denied"' "$F" | grep -F '"port":81,' | grep -cF '"interface":"zx-up1"')
expect block zx-a2 tcp 10.93.1.12 81
sleep 0.3
n2=$(grep -F '"verdict":"denied"' "$F" | grep -F '"port":81,' | grep -cF '"interface":"zx-up1"')
[ "$n2" -le $((n + 1)) ] && ok "retransmitted SYNs of a denied flow cost one record, not one each" ||
	bad "records for :81 went from $n to $n2"

echo "-- spoofed source from the uplink"
# A packet arriving on host 1's uplink that claims a local workload's address.
ip -n zx-h2 addr add 10.93.1.11/32 dev lo
ip -n zx-h2 route add 10.93.1.12/32 via 192.168.99.1 src 10.93.1.11 2>/dev/null ||
	ip -n zx-h2 route replace 10.93.1.12/32 via 192.168.99.1 src 10.93.1.11
spoofed() { Z1 status | tr -d ' \n' | grep -o '"spoofed-source":{"packets":[0-9]*' | grep -o '[0-9]*$'; }
before=$(spoofed)
ip netns exec zx-h2 "$ZS_PROBE" tcp 10.93.1.12 81 --ms 300 && bad "spoofed connect got through" ||
	ok "connect from the uplink with a local workload's address fails"
after=$(spoofed)
[ "${after:-0}" -gt "${before:-0}" ] && ok "counted as spoofed-source on host 1" ||
	bad "spoofed-source counter did not move ($before -> $after): $(Z1 status)"

echo "-- flood shield (opt-in, per workload)"
ip -n zx-h1 link show zx-a1 | grep -q xdp && bad "a shield without asking" || ok "no shield by default"
sed 's/spec: {interface: zx-a1, addresses: \[10.93.1.11\]}/spec: {interface: zx-a1, addresses: [10.93.1.11], floodShield: true}/' \
	"$ZS_DIR/fleet.yaml" >"$ZS_DIR/shield.yaml"
Z1 apply -f "$ZS_DIR/shield.yaml" >/dev/null || bad "apply with floodShield"
ip -n zx-h1 link show zx-a1 | grep -q xdp && ok "floodShield: true attaches XDP to zx-a1" ||
	bad "no XDP on zx-a1: $(ip -n zx-h1 link show zx-a1)"
expect pass zx-a1 tcp 10.93.1.12 81
expect block zx-a1 tcp 10.93.1.12 80
Z1 apply -f "$ZS_DIR/fleet.yaml" >/dev/null || bad "apply without floodShield"
ip -n zx-h1 link show zx-a1 | grep -q xdp && bad "shield still attached after it was turned off" ||
	ok "turning floodShield off detaches it"
expect pass zx-a1 tcp 10.93.1.12 81
summary
