#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: a policy file that cannot be read or decoded fails the whole
# command (issue 12: one that was not UTF-8 was skipped inside a directory
# apply, rc 0, its deny never applied).
#
#   zsu-a (10.84.0.11) --zsu-a--+-- host ns zsu-host [daemon]
#   zsu-b (10.84.0.12) --zsu-b--+
#
# Checks: a directory apply with one invalid UTF-8 file exits 1, names the
# file at line:col, and applies nothing (the revision did not move, the
# traffic the file would deny still passes); the same for a file alone
# (not a bare usage message), for a dangling link in the directory, and for
# diff (exit 2) and check (exit 1).
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsu-host zsu-a zsu-b

e2e_host zsu-host
e2e_workloads zsu-a 10.84.0.11 zsu-b 10.84.0.12
zs_serve zsu-a --tcp 80

mkdir -p "$D/dir"
cat >"$D/dir/10-allow.yaml" <<'Y'
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: a, namespace: u, labels: {app: a}}
spec: {interface: zsu-a, addresses: [10.84.0.11]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: b, namespace: u, labels: {app: b}}
spec: {interface: zsu-b, addresses: [10.84.0.12]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: a, namespace: u}
spec:
  selector: {matchLabels: {app: a}}
  ingress: [{from: [{selector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: b, namespace: u}
spec:
  selector: {matchLabels: {app: b}}
  egress: [{to: [{selector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]
Y
revision() { Z status | grep -o '"revision": *[0-9]*\|revision [0-9]*' | head -1; }

zs_daemon $H "$D" || exit 1
Z apply -f "$D/dir" >/dev/null || bad "apply the directory"
expect pass zsu-b tcp 10.84.0.11 80
rev=$(revision)

echo "-- a directory with a file that is not UTF-8"
# A deny of b -> a, with a Latin-1 byte (0xe9) in its name's comment.
printf 'apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: quarantine, namespace: u}  # caf\xe9\nspec:\n  selector: {matchLabels: {app: a}}\n  ingress: [{from: [{selector: {matchLabels: {app: b}}}], action: deny}]\n' \
	>"$D/dir/20-deny.yaml"
out=$(Z apply -f "$D/dir" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "^$D/dir/20-deny.yaml:3:50: not valid UTF-8 (byte 0xe9 at offset 88)" <<<"$out" &&
	ok "apply of the directory: exit 1, the file named at line:col" || bad "apply dir: rc $rc: $out"
[ "$(revision)" = "$rev" ] && ok "nothing applied: the revision did not move" ||
	bad "the revision moved: $rev -> $(revision)"
expect pass zsu-b tcp 10.84.0.11 80

out=$(Z apply -f "$D/dir/20-deny.yaml" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "20-deny.yaml:3:50: not valid UTF-8" <<<"$out" && ! grep -qi usage <<<"$out" &&
	ok "apply of the file alone: exit 1, named, not a usage message" || bad "apply file: rc $rc: $out"
out=$(Z diff -f "$D/dir" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "20-deny.yaml:3:50: not valid UTF-8" <<<"$out" &&
	ok "diff: exit 2 (its error code), named" || bad "diff: rc $rc: $out"
out=$(Z check -f "$D/dir" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "20-deny.yaml:3:50: not valid UTF-8" <<<"$out" &&
	ok "check: exit 1, named" || bad "check: rc $rc: $out"
rm "$D/dir/20-deny.yaml"

echo "-- a directory with a dangling link"
ln -s "$D/gone.yaml" "$D/dir/30-link.yaml"
out=$(Z apply -f "$D/dir" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "^$D/dir/30-link.yaml:1:1: cannot read: No such file or directory" <<<"$out" &&
	[ "$(revision)" = "$rev" ] && ok "dangling link: exit 1, named, nothing applied" ||
	bad "dangling link: rc $rc: $out"
rm "$D/dir/30-link.yaml"

out=$(Z apply -f "$D/dir" 2>&1) && ok "the directory applies again once the bad files are gone" ||
	bad "clean apply: $out"
expect pass zsu-b tcp 10.84.0.11 80
summary
