# SPDX-License-Identifier: MIT
# The registration part of the control-plane section of scripts/bench.sh
# (sourced by it, after lib.sh; bt_stop comes from bench_traffic.sh, which it
# sources too): the time from `zeroseg apply` of a new Workload to its first
# enforced packet, i.e. the first one the datapath lets through, with a daemon
# holding estates of filler rules. One set of namespaces and one daemon serve
# every estate (each applied on top of the last); they are removed at the end,
# and by the EXIT trap on failure (lib.sh records them all).
#
#   newcomer ns --(eth0 | zbr-n)-- host ns H --(zbr-s | eth0)-- server ns
#   10.79.0.2                      daemon,                      10.79.0.1
#   sender: UDP to server:7001     tc on both veths             receiver on 7001
#   every 100 us, all the time     (zbr-n: once registered)
#
# Objects (namespace reg), applied first (the "0/0" estate):
#   Workload server (app=server, zbr-s); Policy server-in: ingress from
#   app=newcomer, UDP 7001; Policy newcomer-out: egress to app=server, UDP 7001
#   (posture deny: the newcomer's own egress must allow it too).
# newcomer.yaml, applied and deleted each round by tests/bench/bench_register.c:
#   Workload newcomer (app=newcomer, zbr-n, 10.79.0.2).
# Unregistered, the newcomer's address is "world" to server-in: dropped at
# zbr-s. Filler: bench_compile --emit's estate (R rules over W workloads in
# namespace bench, interfaces that do not exist), as in the daemon rows above.

BR_SERVER=10.79.0.1
BR_NEWCOMER=10.79.0.2
BR_PORT=7001

br_gen_reg() {
	cat <<EOF
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: server, namespace: reg, labels: {app: server}}
spec: {interface: zbr-s, addresses: [$BR_SERVER]}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: server-in, namespace: reg}
spec:
  selector: {matchLabels: {app: server}}
  ingress:
    - from: [{selector: {matchLabels: {app: newcomer}}}]
      ports: [{protocol: UDP, port: $BR_PORT}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: newcomer-out, namespace: reg}
spec:
  selector: {matchLabels: {app: newcomer}}
  egress:
    - to: [{selector: {matchLabels: {app: server}}}]
      ports: [{protocol: UDP, port: $BR_PORT}]
EOF
}

br_gen_newcomer() {
	cat <<EOF
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: newcomer, namespace: reg, labels: {app: newcomer}}
spec: {interface: zbr-n, addresses: [$BR_NEWCOMER]}
EOF
}

# br_run: the namespaces and one daemon for every estate; each estate is
# applied on top of the last (0/0: nothing but the server and its policies).
br_run() {
	local rc=0
	BR_DAEMON='' BR_PINS=''
	br_run_in || rc=$?
	# Also after a failure: the daemon, its pins and the namespaces.
	[ -n "$BR_DAEMON" ] && bt_stop "$BR_DAEMON"
	[ -n "$BR_PINS" ] && rm -rf "$BR_PINS"
	ip netns del "zsbr-n-$$" 2>/dev/null
	ip netns del "zsbr-s-$$" 2>/dev/null
	ip netns del "zsbr-h-$$" 2>/dev/null
	return $rc
}

br_run_in() {
	local h=zsbr-h-$$ s=zsbr-s-$$ n=zsbr-n-$$ d=$BENCH_DIR/register sz r w after file
	mkdir -p "$d"
	br_gen_reg >"$d/reg.yaml"
	br_gen_newcomer >"$d/newcomer.yaml"
	zs_host "$h" && zs_workload "$h" "$s" zbr-s "$BR_SERVER" &&
		zs_workload "$h" "$n" zbr-n "$BR_NEWCOMER" || return 1
	BR_PINS=$ZS_DIR/bpffs/register
	mkdir -p "$BR_PINS"
	ln -sfn "$BR_PINS" "$d/bpffs"
	zs_daemon "$h" "$d" || return 1
	BR_DAEMON=$ZS_DAEMON_PID
	for sz in "${BR_SIZES[@]}"; do
		read -r r w <<<"$sz"
		file=$d/reg.yaml
		if [ "$(num "$r")" -gt 0 ]; then
			mkdir -p "$d/$r-$w"
			"$ZS_BENCH/bench_compile" --emit "$d/$r-$w" --rules "$r" --workloads "$w" \
				--incr-reps 0 || return 1
			file=$d/$r-$w/estate.yaml
		fi
		if ! timeout -k 5 60 "$ZS_BIN" --socket "$d/sock" apply -f "$file" >>"$d/apply.out" 2>&1; then
			echo "registration: apply of $file failed or timed out:" >&2
			tail -n 5 "$d/apply.out" "$d/daemon.log" >&2
			return 1
		fi
		# Idle: the daemon's once-a-second tick has retired the last change
		# (1.1 s after it); back to back (20 ms after it), the apply waits
		# for that itself.
		for after in "${BR_AFTER[@]}"; do
			if [ "$after" = 0 ] && [ "$QUICK" = 1 ] && [ "$(num "$r")" -gt 0 ]; then
				continue # --quick: no back-to-back row for the large estate
			fi
			if ! timeout -k 5 $((BR_LIMIT + 5)) "$ZS_BENCH/bench_register" --timeout "$BR_LIMIT" \
				--send-ns "/run/netns/$n" --recv-ns "/run/netns/$s" --to "$BR_SERVER:$BR_PORT" \
				--zeroseg "$ZS_BIN" --socket "$d/sock" --file "$d/newcomer.yaml" \
				--reps "$BR_REPS" --after-ms "$after" --log "$d/cli.log" --label "$r/$w"; then
				tail -n 5 "$d/cli.log" "$d/daemon.log" >&2
				return 1
			fi
		done
	done
}

# The section's part: the table, rows per estate, and what it measures.
bench_register() {
	BR_SIZES=("0 0" "10k 1k") BR_AFTER=(1100 0) BR_REPS=8 BR_LIMIT=30
	if [ "$QUICK" = 1 ]; then
		BR_REPS=3
		BR_LIMIT=12
	fi
	echo
	echo "registration: a new Workload (zeroseg apply -f) to its first packet through, with a"
	echo "daemon holding R filler rules over W workloads; UDP every 100 us, dropped until then"
	"$ZS_BENCH/bench_register" --header
	br_run || return 1
	echo "apply -> first packet: from starting 'zeroseg apply -f newcomer.yaml' (a Workload:"
	echo "  interface, address, app=newcomer) to the first datagram the server receives (one"
	echo "  CLOCK_MONOTONIC). Round: the newcomer unknown, its datagrams dropped for 20 ms; apply;"
	echo "  first datagram; 'zeroseg delete -f'; they stop (delete -> last: the last received)."
	echo "  res.: from the last dropped datagram's sending to the first allowed one's, worst"
	echo "  round: the resolution. exec: 'zeroseg --version', the CLI's own start (in each apply)."
	echo "  after: ms from the previous change (the delete) to the apply. 1100: the daemon's 1 s"
	echo "  tick has retired the old policy generation; 20 (back to back): the apply first waits"
	echo "  for packets still reading it (per-CPU in-flight counts), as the delete always does."
	echo "  Where the time goes: the daemon flips to the new policy, then persists the state"
	echo "  (JSON, each unchanged object's text kept from the last save; fsync) and answers:"
	echo "  apply command minus first packet. Before the flip it parses, validates and"
	echo "  recompiles the whole estate, looks its interfaces up in one netlink dump and attaches"
	echo "  tc to the new one. Dominant part: small estate, the CLI's start (exec); 10k/1k, the"
	echo "  whole-estate recompile."
	echo "  Estate R/W: 0/0 = the server, its policy allowing app=newcomer UDP 7001 and the"
	echo "  newcomer's egress policy alone; 10k/1k adds bench_compile --emit's filler."
}
