#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: real TCP and UDP between workload namespaces through the real
# tc programs, steered by a real daemon.
#
#   zse-web (10.88.0.11) --zse-web--+
#   zse-api (10.88.0.12) --zse-api--+-- host ns zse-host [zeroseg daemon]
#   zse-db  (10.88.0.13) --zse-db---+
#   zse-bad (10.88.0.66) --zse-bad--+
#
# Checks: before any policy traffic flows; after apply, allowed connects and
# its replies work, denied does not, UDP alike; the flow log matches what
# happened; deleting a policy denies new connections; a malformed apply is
# rejected with file:line:col and changes nothing; the daemon's restart keeps
# enforcement (it stays while the daemon is down, too).
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zse-host zse-web zse-api zse-db zse-bad

e2e_host zse-host
e2e_workloads zse-web 10.88.0.11 zse-api 10.88.0.12 zse-db 10.88.0.13 zse-bad 10.88.0.66
zs_serve zse-api --tcp 8080 --tcp 22
zs_serve zse-db --tcp 5432 --udp 5432 --udp 53

sed -e 's/10\.77\.0\./10.88.0./' -e 's/zsd-/zse-/' policies/demo.yaml >"$D/demo.yaml"

echo "-- before enrollment, the network is open"
expect pass zse-bad tcp 10.88.0.13 5432

zs_daemon $H "$D" || exit 1
Z apply -f "$D/demo.yaml" >/dev/null || bad "apply"

echo "-- policy in force"
expect pass zse-web tcp 10.88.0.12 8080
expect block zse-web tcp 10.88.0.12 22
expect pass zse-api tcp 10.88.0.13 5432
expect pass zse-api udp 10.88.0.13 5432
expect block zse-api udp 10.88.0.13 53
expect block zse-bad tcp 10.88.0.13 5432
expect block zse-bad tcp 10.88.0.12 8080
expect block zse-web tcp 10.88.0.13 5432
expect block zse-db tcp 10.88.0.12 8080

echo "-- flow log matches"
sleep 0.3
F=$D/flows.jsonl
flow() { # flow VERDICT SRC DST PORT PROTO: a line with all of these
	grep -F "\"verdict\":\"$1\"" "$F" | grep -F "\"workload\":\"$2\"" |
		grep -F "\"dst\":{\"ip\":\"$3\",\"port\":$4," | grep -qF "\"protocol\":\"$5\""
}
flow allowed shop/web 10.88.0.12 8080 TCP && ok "flow: web->api:8080 allowed" || bad "flow web->api allowed missing"
flow denied shop/web 10.88.0.12 22 TCP && ok "flow: web->api:22 denied" || bad "flow web->api:22 denied missing"
flow allowed shop/api 10.88.0.13 5432 UDP && ok "flow: api->db udp allowed" || bad "flow api->db udp missing"
flow denied shop/intruder 10.88.0.13 5432 TCP && ok "flow: intruder->db denied" || bad "flow intruder->db missing"
grep -F '"dst":{"ip":"10.88.0.12","port":8080,' "$F" | grep -F '"verdict":"allowed"' |
	grep -qF '"ingress_policy":"shop/api"' && ok "flow names the allowing policy" || bad "policy name"
grep -F '"dst":{"ip":"10.88.0.12","port":22,' "$F" | grep -qF '"policy":"default-deny"' &&
	ok "flow says default-deny" || bad "default-deny name"
if grep -F '"verdict":"allowed"' "$F" | grep -qF '"workload":"shop/intruder"'; then
	bad "intruder has an allowed flow"
else
	ok "intruder: no allowed flow"
fi
Z flows -o json | grep -qF '"verdict":"denied"' && ok "zeroseg flows lists records" || bad "zeroseg flows"

echo "-- a malformed apply changes nothing"
printf 'apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: db-ingress, namespace: shop}\nspec:\n  selector: {}\n  ingress:\n    - ports: [{port: 0}]\n' >"$D/bad.yaml"
rev_before=$(Z status | grep -o '"revision": [0-9]*')
if Z apply -f "$D/bad.yaml" 2>"$D/err"; then bad "bad apply accepted"; else ok "bad apply rejected"; fi
grep -q "bad.yaml:7:22: port must be 1..65535" "$D/err" && ok "error names file:line:col" || bad "error text: $(cat "$D/err")"
[ "$(Z status | grep -o '"revision": [0-9]*')" = "$rev_before" ] && ok "revision unchanged" || bad "revision moved"
expect pass zse-api tcp 10.88.0.13 5432

echo "-- deleting a policy denies new connections"
Z delete policy db-ingress -n shop >/dev/null || bad "delete"
expect block zse-api tcp 10.88.0.13 5432
expect pass zse-web tcp 10.88.0.12 8080

echo "-- the daemon stops: enforcement stays; it restarts and adopts"
kill "$ZS_DAEMON_PID"
wait "$ZS_DAEMON_PID" 2>/dev/null
expect block zse-bad tcp 10.88.0.12 8080
expect pass zse-web tcp 10.88.0.12 8080
zs_daemon $H "$D" || exit 1
expect block zse-api tcp 10.88.0.13 5432
expect pass zse-web tcp 10.88.0.12 8080
Z get policies | grep -q db-ingress && bad "deleted policy came back" || ok "state survived restart"

summary
