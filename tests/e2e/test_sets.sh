#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: an AddressSet as a blocklist. Real TCP through the real tc
# programs; the set changes through `zeroseg set`, one transaction each.
#
#   zsb-web (10.93.0.11) --zsb-web--+
#   zsb-a   (10.93.0.21) --zsb-a----+-- host ns zsb-host [zeroseg daemon]
#   zsb-b   (10.93.0.22) --zsb-b----+   a, b, c: echo servers on tcp/8080
#   zsb-c   (10.93.0.23) --zsb-c----+
#
# web's egress: deny to addressSet blocklist, allow 10.93.0.0/24 tcp/8080.
# Checks: a set member is denied and the others allowed; `get sets` shows the
# count, not the members; `set add` blocks a new member, `set remove` allows
# it again; a malformed `set add -f` is rejected with file:line, the set and
# the verdicts stay; a prefix-list file with comments is taken; `set
# replace` leaves exactly the members given; a set a policy names cannot be
# deleted; the set survives the daemon's restart.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsb-host zsb-web zsb-a zsb-b zsb-c

e2e_host zsb-host
e2e_workloads zsb-web 10.93.0.11 zsb-a 10.93.0.21 zsb-b 10.93.0.22 zsb-c 10.93.0.23
for w in zsb-a zsb-b zsb-c; do zs_serve $w --tcp 8080; done

{
	for wa in a:21 b:22 c:23; do
		cat <<Y
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: ${wa%:*}, namespace: bl, labels: {app: server}}
spec: {interface: zsb-${wa%:*}, addresses: [10.93.0.${wa#*:}]}
---
Y
	done
	cat <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: web, namespace: bl, labels: {app: web}}
spec: {interface: zsb-web, addresses: [10.93.0.11]}
---
apiVersion: zeroseg.io/v1
kind: AddressSet
metadata: {name: blocklist}
spec:
  prefixes: [10.93.0.21, 198.51.100.0/24, "2001:db8::/48"]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: web-out, namespace: bl}
spec:
  selector: {matchLabels: {app: web}}
  egress:
    - to: [{addressSet: blocklist}]
      action: deny
    - to: [{cidr: 10.93.0.0/24}]
      ports: [{port: 8080}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: servers-in, namespace: bl}
spec:
  selector: {matchLabels: {app: server}}
  ingress:
    - from: [{selector: {matchLabels: {app: web}}}]
      ports: [{port: 8080}]
Y
} >"$D/bl.yaml"

zs_daemon $H "$D" || exit 1
Z apply -f "$D/bl.yaml" >"$D/out" 2>&1 || bad "apply: $(cat "$D/out")"

echo "-- a set member is denied, the rest allowed"
expect block zsb-web tcp 10.93.0.21 8080
expect pass zsb-web tcp 10.93.0.22 8080
expect pass zsb-web tcp 10.93.0.23 8080
Z explain --from 10.93.0.11 --to 10.93.0.21 --port 8080/tcp >"$D/why" 2>&1
grep -q 'bl/web-out' "$D/why" && ok "explain names the deny rule" || bad "explain: $(cat "$D/why")"

echo "-- get shows the count"
Z get sets >"$D/sets" 2>&1
grep -Eq '^blocklist +3$' "$D/sets" && ok "get sets: blocklist 3" || bad "get sets: $(cat "$D/sets")"
grep -q '198.51.100.0/24' "$D/sets" && bad "get sets lists members by default" || ok "no members by default"
Z get sets blocklist | grep -q '198.51.100.0/24' && ok "get sets NAME lists them" || bad "get sets NAME"

echo "-- set add: the new member is blocked"
Z set add blocklist 10.93.0.22 >"$D/out" 2>&1 && grep -q '+1 -0 (4 members)' "$D/out" &&
	ok "set add: $(cat "$D/out")" || bad "set add: $(cat "$D/out")"
expect block zsb-web tcp 10.93.0.22 8080
expect pass zsb-web tcp 10.93.0.23 8080
Z set add blocklist 10.93.0.22 >"$D/out" 2>&1 && grep -q '^unchanged' "$D/out" &&
	ok "adding a member again changes nothing" || bad "re-add: $(cat "$D/out")"

echo "-- set remove: allowed again"
Z set remove blocklist 10.93.0.22 >"$D/out" 2>&1 || bad "set remove: $(cat "$D/out")"
expect pass zsb-web tcp 10.93.0.22 8080

echo "-- a malformed list changes nothing"
printf '# threat feed\n10.93.0.23\n10.93.0.0/33\n' >"$D/bad.txt"
rev=$(Z status | grep -o '"revision": [0-9]*')
if Z set add blocklist -f "$D/bad.txt" 2>"$D/err"; then bad "bad list accepted"; else ok "bad list rejected"; fi
grep -q 'bad.txt:3:1: prefix: "10.93.0.0/33"' "$D/err" && ok "error names file:line" || bad "error: $(cat "$D/err")"
[ "$(Z status | grep -o '"revision": [0-9]*')" = "$rev" ] && ok "revision unchanged" || bad "revision moved"
Z get sets | grep -Eq '^blocklist +3$' && ok "set unchanged" || bad "set changed: $(Z get sets)"
expect pass zsb-web tcp 10.93.0.23 8080
expect block zsb-web tcp 10.93.0.21 8080

echo "-- a list with comments"
printf '# threat feed\n\n  10.93.0.23   # seen 2026-12-01\n203.0.113.0/24\n' >"$D/good.txt"
Z set add blocklist -f "$D/good.txt" >"$D/out" 2>&1 && grep -q '+2 -0 (5 members)' "$D/out" &&
	ok "set add -f: $(cat "$D/out")" || bad "set add -f: $(cat "$D/out")"
expect block zsb-web tcp 10.93.0.23 8080

echo "-- set replace: exactly the members given (a feed's sync)"
Z set replace blocklist 10.93.0.21 10.93.0.23 192.0.2.1 >"$D/out" 2>&1 && grep -q '+1 -3 (3 members)' "$D/out" &&
	ok "set replace: $(cat "$D/out")" || bad "set replace: $(cat "$D/out")"
expect block zsb-web tcp 10.93.0.21 8080
expect block zsb-web tcp 10.93.0.23 8080
expect pass zsb-web tcp 10.93.0.22 8080

echo "-- set replace from an empty feed is refused: the blocklist stays"
: >"$D/empty.txt"
if Z set replace blocklist -f "$D/empty.txt" >"$D/out" 2>&1; then
	bad "an empty replace emptied the set: $(cat "$D/out")"
else
	grep -q 'allow-empty' "$D/out" && ok "empty replace refused: $(head -c 160 "$D/out")" ||
		bad "error: $(cat "$D/out")"
fi
Z get sets | grep -Eq '^blocklist +3$' && ok "the set keeps its 3 members" || bad "after: $(Z get sets)"
expect block zsb-web tcp 10.93.0.21 8080

echo "-- a set in use cannot be deleted"
if Z delete addressset blocklist 2>"$D/err"; then bad "deleted a set in use"; else ok "delete refused"; fi
grep -q 'no AddressSet "blocklist"' "$D/err" && ok "the error says why" || bad "error: $(cat "$D/err")"
expect block zsb-web tcp 10.93.0.21 8080

echo "-- the daemon restarts: the set is kept"
kill "$ZS_DAEMON_PID"
wait "$ZS_DAEMON_PID" 2>/dev/null
zs_daemon $H "$D" || exit 1
Z get sets | grep -Eq '^blocklist +3$' && ok "set survived restart" || bad "after restart: $(Z get sets)"
expect block zsb-web tcp 10.93.0.23 8080
expect pass zsb-web tcp 10.93.0.22 8080

summary
