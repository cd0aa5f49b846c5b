#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: the policy language's commands against a real daemon, and the
# peers that are not workloads, with real traffic.
#
#   zsp-web (10.89.0.11) --zsp-web--+
#   zsp-db  (10.89.0.13) --zsp-db---+-- host ns zsp-host [daemon] (169.254.1.1)
#   zsp-ext (10.89.1.50) --zsp-ext--+   (not a workload: world, inside a cidr)
#
# Checks: `diff` exit codes 0/1/2 and what it reports; `explain` names the
# policy and rule on each side, or default deny; an `entity: host` peer lets
# the host in; an ipBlock with except admits the cidr but not the except.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsp-host zsp-web zsp-db zsp-ext zsp-ext2

e2e_host zsp-host
e2e_workloads zsp-web 10.89.0.11 zsp-db 10.89.0.13 zsp-ext 10.89.1.50 zsp-ext2 10.89.1.66
zs_serve zsp-db --tcp 5432 --tcp 9100
zs_serve zsp-web --tcp 80

cat >"$D/workloads.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {interface: zsp-web, addresses: [10.89.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {interface: zsp-db, addresses: [10.89.0.13], ports: [{name: metrics, port: 9100}]}
Y
cat >"$D/policy.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  egress:
    - to: [{selector: {matchLabels: {app: db}}}]
      ports: [{port: 5432}]
  ingress:
    - from: [{cidr: 10.89.1.0/24, except: [10.89.1.66/32]}]
      ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 5432}]
    - from: [{ipBlock: {cidr: 169.254.1.1/32}}]
      ports: [{port: metrics}]
Y

zs_daemon $H "$D" || exit 1
Z apply -f "$D/workloads.yaml" -f "$D/policy.yaml" >/dev/null || bad "apply"

echo "-- diff"
out=$(Z diff -f "$D/policy.yaml"); rc=$?
[ $rc -eq 0 ] && grep -q "= NetworkPolicy shop/db: unchanged" <<<"$out" &&
	ok "diff of what is applied: exit 0, unchanged" || bad "diff unchanged: rc $rc: $out"
sed 's/port: 5432}]$/port: 5433}]/' "$D/policy.yaml" >"$D/policy2.yaml"
out=$(Z diff -f "$D/policy2.yaml"); rc=$?
[ $rc -eq 1 ] && grep -q "~ Policy shop/web: configured" <<<"$out" &&
	grep -q "policy map: +[1-9][0-9]* -[1-9]" <<<"$out" &&
	ok "diff of a changed port: exit 1, configured, entries added and removed" ||
	bad "diff changed: rc $rc: $out"
printf 'apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: x}\nspec:\n  selector: {}\n  ingress: [{ports: [{port: 0}]}]\n' >"$D/bad.yaml"
out=$(Z diff -f "$D/bad.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "bad.yaml:6:[0-9]*: port must be 1..65535" <<<"$out" &&
	ok "diff of a malformed file: exit 2, file:line:col" || bad "diff malformed: rc $rc: $out"
rev=$(Z status | grep -o '"revision": *[0-9]*\|revision [0-9]*' | head -1)
out=$(Z diff -f "$D/policy2.yaml"); rc=$?
[ "$(Z status | grep -o '"revision": *[0-9]*\|revision [0-9]*' | head -1)" = "$rev" ] &&
	ok "diff changes nothing (revision unchanged)" || bad "diff changed the revision"

echo "-- explain"
out=$(Z explain --from shop/web --to shop/db --port 5432/tcp)
grep -q "^egress   allow        shop/web: allow rule 0 of shop/web" <<<"$out" &&
	grep -q "^ingress  allow        shop/db: allow rule 0 of shop/db" <<<"$out" &&
	grep -q "^verdict  allowed" <<<"$out" && ok "explain web -> db 5432: both rules named" ||
	bad "explain allowed: $out"
out=$(Z explain --from shop/web --to shop/db --port 22/tcp)
grep -q "^egress   default-deny" <<<"$out" && grep -q "^verdict  denied" <<<"$out" &&
	ok "explain web -> db 22: default deny" || bad "explain default deny: $out"
out=$(Z explain --from 10.89.1.66 --to shop/web --port 80/tcp)
grep -q "cidr 10.89.1.66" <<<"$out" && grep -q "^verdict  denied" <<<"$out" &&
	ok "explain from the except address: its cidr, denied" || bad "explain except: $out"
out=$(Z explain --from 10.89.1.50 --to shop/web --port 80/tcp -o json)
grep -q '"verdict": "allowed"' <<<"$out" && grep -q '"cidr": "10.89.1.0/24"' <<<"$out" &&
	ok "explain -o json from inside the cidr: allowed" || bad "explain cidr: $out"
out=$(Z explain --from nosuch --to shop/web --port 80/tcp 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "no such workload" <<<"$out" && ok "explain of an unknown workload: an error" ||
	bad "explain unknown: $out"

echo "-- traffic"
expect pass zsp-web tcp 10.89.0.13 5432
expect block zsp-web tcp 10.89.0.13 9100
expect pass $H tcp 10.89.0.13 9100         # the host, by ipBlock on its address, named port
expect block $H tcp 10.89.0.13 5432
expect pass zsp-ext tcp 10.89.0.11 80     # world inside the cidr
expect block zsp-ext2 tcp 10.89.0.11 80   # the except

echo "-- entity: host"
cat >"$D/host.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: db-host, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  ingress:
    - from: [{entity: host}]
      ports: [{port: 5432}]
Y
Z apply -f "$D/host.yaml" >/dev/null || bad "apply host policy"
expect pass $H tcp 10.89.0.13 5432
expect block zsp-ext tcp 10.89.0.13 5432  # world is not the host
summary
