#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault tier, privilege: once set up, the daemon holds only the capabilities
# enforcing needs (cap_net_admin; cap_bpf too on kernels that refuse bpf()
# on held fds without it) in every thread, with no_new_privs, and still
# enforces: applies, enrolls interfaces that appear after the drop (tc and
# the XDP flood shield; an uplink's XDP prefilter), attaches its held
# programs again where their qdisc was deleted, restarts and adopts its pins.
#
#   zc-web  (10.94.0.11) --zc-web--+
#   zc-api  (10.94.0.12) --zc-api--+-- host ns zc-host [zeroseg daemon,
#   zc-late (10.94.0.13) --zc-late-+      --metrics 127.0.0.1:19465,
#                                          --uplink zc-up]
#   zc-late and the uplink veth zc-up (peer zc-up-peer, both in zc-host)
#   are created only after the daemon has dropped its capabilities.
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zc-host zc-web zc-api zc-late

e2e_host zc-host
e2e_workloads zc-web 10.94.0.11 zc-api 10.94.0.12
zs_serve zc-api --tcp 8080 --tcp 22 --udp 53 --udp 5353

# The capability numbers (linux/capability.h) and the set the daemon keeps:
# cap_net_admin, and cap_bpf where the kernel asks for it on held fds
# (before 6.5, with kernel.unprivileged_bpf_disabled set).
CAP_NET_ADMIN=12 CAP_BPF=39
want=$((1 << CAP_NET_ADMIN))
IFS=. read -r kmaj kmin _ </proc/sys/kernel/osrelease
if [ "$kmaj" -lt 6 ] || { [ "$kmaj" -eq 6 ] && [ "${kmin%%[!0-9]*}" -lt 5 ]; }; then
	[ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" != 0 ] && want=$((want | 1 << CAP_BPF))
fi
WANT=$(printf '%016x' "$want")

# field FILE NAME: one field of a /proc status file, e.g. CapEff.
field() { awk -v f="$2:" '$1 == f { print $2 }' "$1"; }
status_of() { field "/proc/$1/status" "$2"; }
# caps_kept PID: every thread of PID holds exactly $WANT (effective, permitted,
# bounding), nothing inheritable or ambient, and no_new_privs.
caps_kept() {
	local t f v bad=""
	for t in /proc/"$1"/task/*; do
		t=${t##*/}
		for f in CapEff CapPrm CapBnd; do
			v=$(field "/proc/$1/task/$t/status" $f)
			[ "$v" = "$WANT" ] || bad+=" thread $t $f=$v"
		done
		for f in CapInh CapAmb; do
			v=$(field "/proc/$1/task/$t/status" $f)
			[ "$v" = 0000000000000000 ] || bad+=" thread $t $f=$v"
		done
		v=$(field "/proc/$1/task/$t/status" NoNewPrivs)
		[ "$v" = 1 ] || bad+=" thread $t NoNewPrivs=$v"
	done
	[ -z "$bad" ] || { echo "   ${bad# }"; return 1; }
}
# until_ok SECONDS CMD...: CMD succeeds within SECONDS.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
tc_on() { ip netns exec zc-host tc filter show dev "$1" "$2" 2>/dev/null | grep -q "zs_tc_"; }
xdp_on() { ip -n zc-host link show dev "$1" 2>/dev/null | grep -q "prog/xdp"; }

wl() { # wl NAME IF ADDR [SHIELD]
	printf -- '---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: %s, namespace: priv, labels: {app: %s}}\nspec: {interface: %s, addresses: [%s]%s}\n' \
		"$1" "$1" "$2" "$3" "${4:+, floodShield: true}"
}
cat >"$D/policy.yaml" <<'Y'
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: api-in, namespace: priv}
spec:
  selector: {matchLabels: {app: api}}
  ingress:
    - from: [{selector: {matchLabels: {app: web}}}, {selector: {matchLabels: {app: late}}}]
      ports: [{protocol: TCP, port: 8080}, {protocol: UDP, port: 53}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: out, namespace: priv}
spec:
  selector: {matchLabels: {app: web}}
  egress:
    - to: [{selector: {matchLabels: {app: api}}}]
      ports: [{protocol: TCP, port: 8080}, {protocol: UDP, port: 53}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: late-out, namespace: priv}
spec:
  selector: {matchLabels: {app: late}}
  egress:
    - to: [{selector: {matchLabels: {app: api}}}]
      ports: [{protocol: TCP, port: 8080}]
Y
{ wl web zc-web 10.94.0.11; wl api zc-api 10.94.0.12; wl late zc-late 10.94.0.13 shield; } >"$D/workloads.yaml"

echo "-- set up, the daemon keeps only cap_net_admin$([ "$want" != $((1 << CAP_NET_ADMIN)) ] && echo ' and cap_bpf'), in every thread"
zs_daemon $H "$D" --metrics 127.0.0.1:19465 --uplink zc-up || exit 1
P=$ZS_DAEMON_PID
until_ok 5 grep -q "metrics on" "$D/daemon.log"
[ "$(status_of "$P" Threads)" -ge 2 ] && ok "the metrics listener's thread runs" ||
	bad "one thread only: the per-thread check below proves less"
caps_kept "$P" && ok "every thread: CapEff = CapPrm = CapBnd = $WANT, nothing inheritable or ambient, NoNewPrivs 1" ||
	bad "capabilities after set-up"
grep -q "privilege: keeping cap_net_admin" "$D/daemon.log" && ok "the log says what is kept" ||
	bad "no 'privilege: keeping' line in the log"

echo "-- an apply after the drop attaches and enforces (real TCP and UDP)"
cat "$D/workloads.yaml" "$D/policy.yaml" >"$D/all.yaml"
Z apply -f "$D/all.yaml" >/dev/null && ok "apply" || bad "apply after the drop"
tc_on zc-web ingress && tc_on zc-web egress && ok "tc programs attached to zc-web" || bad "no tc on zc-web"
expect pass zc-web tcp 10.94.0.12 8080
expect pass zc-web udp 10.94.0.12 53
expect block zc-web tcp 10.94.0.12 22
expect block zc-web udp 10.94.0.12 5353

echo "-- an interface created after the drop is enrolled: tc and the XDP flood shield"
zs_workload $H zc-late zc-late 10.94.0.13
until_ok 5 tc_on zc-late ingress && tc_on zc-late egress && ok "tc attached to zc-late (clsact created after the drop)" ||
	bad "zc-late not enrolled: $(grep -i late "$D/daemon.log" | tail -2)"
until_ok 5 xdp_on zc-late && ok "flood shield (XDP) attached to zc-late" || bad "no XDP on zc-late"
expect pass zc-late tcp 10.94.0.12 8080
expect block zc-late udp 10.94.0.12 53
expect block zc-late tcp 10.94.0.12 22

echo "-- an uplink created after the drop gets the XDP prefilter"
ip -n zc-host link add zc-up type veth peer name zc-up-peer
ip -n zc-host link set zc-up up
ip -n zc-host link set zc-up-peer up
until_ok 5 xdp_on zc-up && ok "XDP prefilter attached to zc-up" || bad "no XDP on zc-up"

echo "-- the clsact qdisc deleted: the held programs attach again after the drop"
ip netns exec zc-host tc qdisc del dev zc-web clsact && ok "tc qdisc del dev zc-web clsact" || bad "qdisc del"
Z delete workload web -n priv >/dev/null && ok "delete workload web (detach)" || bad "delete web"
Z apply -f "$D/all.yaml" >/dev/null && ok "apply with zc-web again (attach)" || bad "re-apply"
tc_on zc-web ingress && tc_on zc-web egress && ok "tc programs on zc-web again" || bad "no tc on zc-web"
expect block zc-web tcp 10.94.0.12 22
expect pass zc-web tcp 10.94.0.12 8080
caps_kept "$P" && ok "capabilities unchanged after all that" || bad "capabilities moved"

echo "-- a restart adopts the pins, and drops again"
rev=$(Z status | grep -o '"revision": [0-9]*' | grep -o '[0-9]*$')
kill "$P"
wait "$P" 2>/dev/null
expect block zc-web tcp 10.94.0.12 22
zs_daemon $H "$D" --uplink zc-up || exit 1
P=$ZS_DAEMON_PID
rev2=$(Z status | grep -o '"revision": [0-9]*' | grep -o '[0-9]*$')
n=$(Z get workloads -o json | grep -c '"kind": "Workload"')
[ "$rev2" -ge "$rev" ] && [ "$n" = 3 ] && ok "adopted: revision $rev, then $rev2 (the restore is a commit); 3 workloads" ||
	bad "after the restart: revision $rev, then $rev2; $n workloads"
caps_kept "$P" && ok "capabilities dropped again" || bad "capabilities after the restart"
expect pass zc-web tcp 10.94.0.12 8080
expect block zc-web tcp 10.94.0.12 22
expect pass zc-late tcp 10.94.0.12 8080
expect block zc-late udp 10.94.0.12 53
ip -n zc-host link del zc-late # the interface goes; created again, it is enrolled again
ip netns del zc-late
zs_workload $H zc-late zc-late 10.94.0.13
until_ok 5 tc_on zc-late ingress && ok "re-created zc-late enrolled after the restart's drop" || bad "zc-late not enrolled"
expect block zc-late tcp 10.94.0.12 22
expect pass zc-late tcp 10.94.0.12 8080

echo "-- --keep-caps keeps every capability (debugging)"
kill "$P"
wait "$P" 2>/dev/null
zs_daemon $H "$D" --keep-caps || exit 1
P=$ZS_DAEMON_PID
[ "$(status_of "$P" CapEff)" = "$(status_of $$ CapEff)" ] && [ "$(status_of "$P" NoNewPrivs)" = 1 ] &&
	ok "--keep-caps: CapEff as started ($(status_of "$P" CapEff)), NoNewPrivs 1" ||
	bad "--keep-caps: CapEff $(status_of "$P" CapEff), NoNewPrivs $(status_of "$P" NoNewPrivs)"

summary
