#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two simulated hosts on one machine, each with its own daemon (own socket,
# state dir and bpffs) managing its own namespace: neither disturbs the other.
# Also: apply from stdin and from a directory; get -o json.
#
#   zs2-a1 (10.91.0.1) --zs2-a1--[ host zs2-ha, daemon A ]
#   zs2-a2 (10.91.0.2) --zs2-a2--[                       ]
#   zs2-b1 (10.92.0.1) --zs2-b1--[ host zs2-hb, daemon B ]
#   zs2-b2 (10.92.0.2) --zs2-b2--[                       ]
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zs2-ha zs2-hb zs2-a1 zs2-a2 zs2-b1 zs2-b2

zs_workdir; DA=$ZS_DIR
zs_workdir; DB=$ZS_DIR
zs_host zs2-ha
zs_host zs2-hb
zs_workload zs2-ha zs2-a1 zs2-a1 10.91.0.1
zs_workload zs2-ha zs2-a2 zs2-a2 10.91.0.2
zs_workload zs2-hb zs2-b1 zs2-b1 10.92.0.1
zs_workload zs2-hb zs2-b2 zs2-b2 10.92.0.2
for w in zs2-a2 zs2-b2; do zs_serve $w --tcp 80 --tcp 443; done
zs_daemon zs2-ha "$DA" || exit 1
zs_daemon zs2-hb "$DB" || exit 1

wl() { # wl NAME IF ADDR ROLE
	printf -- '---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: %s, labels: {role: %s}}\nspec: {interface: %s, addresses: [%s]}\n' "$1" "$4" "$2" "$3"
}
allow() { # allow PORT: clients may reach servers on PORT
	printf -- '---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p%s}\nspec:\n  selector: {matchLabels: {role: server}}\n  ingress: [{from: [{selector: {matchLabels: {role: client}}}], ports: [{port: %s}]}]\n---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: c%s}\nspec:\n  selector: {matchLabels: {role: client}}\n  egress: [{to: [{selector: {matchLabels: {role: server}}}], ports: [{port: %s}]}]\n' "$1" "$1" "$1" "$1"
}

# Host A: from stdin. Host B: from a directory.
{ wl a1 zs2-a1 10.91.0.1 client; wl a2 zs2-a2 10.91.0.2 server; allow 80; } |
	"$ZS_BIN" --socket "$DA/sock" apply -f - >/dev/null && ok "apply -f - (stdin)" || bad "apply stdin"
mkdir -p "$DB/pol"
{ wl b1 zs2-b1 10.92.0.1 client; wl b2 zs2-b2 10.92.0.2 server; } >"$DB/pol/10-workloads.yaml"
allow 443 >"$DB/pol/20-policy.yml"
echo "not policy" >"$DB/pol/README.txt"
"$ZS_BIN" --socket "$DB/sock" apply -f "$DB/pol" >/dev/null && ok "apply -f DIR" || bad "apply dir"

expect pass zs2-a1 tcp 10.91.0.2 80
expect block zs2-a1 tcp 10.91.0.2 443
expect block zs2-b1 tcp 10.92.0.2 80
expect pass zs2-b1 tcp 10.92.0.2 443

n=$("$ZS_BIN" --socket "$DA/sock" get workloads -o json | grep -c '"kind": "Workload"')
[ "$n" = 2 ] && ok "daemon A holds its 2 workloads" || bad "daemon A holds $n workloads"
"$ZS_BIN" --socket "$DA/sock" get workloads | grep -q b1 && bad "daemon A sees host B's workload" || ok "daemon A sees only its own"

# Restarting A leaves B alone.
kill "$(pgrep -f "daemon --socket $DA/sock" | head -1)"
sleep 0.3
expect pass zs2-b1 tcp 10.92.0.2 443
expect block zs2-a1 tcp 10.91.0.2 443
"$ZS_BIN" --socket "$DB/sock" status >/dev/null && ok "daemon B still answers" || bad "daemon B"

summary
