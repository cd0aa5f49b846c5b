# SPDX-License-Identifier: MIT
# The attack section of scripts/bench.sh (sourced by it, after lib.sh and
# bench_traffic.sh, whose bt_median and bt_stop it uses): one workload floods
# the server with UDP the policy denies while a legitimate client runs TCP to
# it, through a routed host namespace; how much of the TCP throughput is kept,
# with no filter, zeroseg (tc), zeroseg with the XDP flood shield on the
# attacker's interface, and nftables. Each configuration in namespaces of its
# own, removed after it (and by the EXIT trap on failure: every netns, process
# and pin is recorded by lib.sh).
#
#   client ns   --(eth0 | zba-c)--+
#   10.79.0.1     iperf3 -c       |
#                                 host ns H --(zba-s | eth0)-- server ns
#   attacker ns --(eth0 | zba-a)--+  filter here               10.79.0.2
#   10.79.0.3     flood udp :9       (tc on zba-*, XDP on      iperf3 -s :5201,
#                                    zba-a, or nft forward)    nothing on udp/9
#
# Per configuration, BA_REPS pairs of iperf3 runs (one TCP stream, BA_SECONDS),
# one without the flood and one with it, which first in turn: "kept" compares
# runs seconds apart, so the machine's drift between configurations cancels.
# With the flood: it starts, iperf3 0.2 s later, then the flood is stopped.
# What reached the server is its Udp NoPorts count (/proc/net/snmp in the
# server ns: datagrams for a port nobody listens on); what the filter dropped
# is its own count (zeroseg status, an nft counter).

BA_C=10.79.0.1
BA_S=10.79.0.2
BA_A=10.79.0.3
BA_PORT=5201
BA_FLOOD_PORT=9
# No CPU pinning: the kernel places the three busy tasks (flood, iperf3 client
# and server) on the two CPUs as it would on any host. Pinning the flood to
# one CPU and the client to the other (the server on either, or floating) made
# "kept" vary 0.5-1.1 between runs; unpinned, 0.7-1.0.

# ---- configuration -----------------------------------------------------------------

ba_gen_zeroseg() { # shield: true|false
	cat <<EOF
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: client, namespace: bench, labels: {app: client}}
spec: {interface: zba-c, addresses: [$BA_C]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: server, namespace: bench, labels: {app: server}}
spec: {interface: zba-s, addresses: [$BA_S]}
---
apiVersion: zeroseg.io/v1
kind: Workload
metadata: {name: attacker, namespace: bench, labels: {app: attacker}}
spec: {interface: zba-a, addresses: [$BA_A], floodShield: $1}
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: client-out, namespace: bench}
spec:
  selector: {matchLabels: {app: client}}
  egress:
    - to: [{selector: {matchLabels: {app: server}}}]
      ports: [{protocol: TCP, port: $BA_PORT}]
---
apiVersion: zeroseg.io/v1
kind: Policy
metadata: {name: server-in, namespace: bench}
spec:
  selector: {matchLabels: {app: server}}
  ingress:
    - from: [{selector: {matchLabels: {app: client}}}]
      ports: [{protocol: TCP, port: $BA_PORT}]
EOF
}

ba_gen_nft() {
	cat <<EOF
table ip zsattack {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip saddr $BA_C ip daddr $BA_S tcp dport $BA_PORT ct state new accept
    counter
  }
}
EOF
}

# ---- counters ----------------------------------------------------------------------

ba_noports() { # NS: UDP datagrams that found no socket there
	# shellcheck disable=SC2016 # awk's $, not the shell's
	ip netns exec "$1" awk '/^Udp:/ {
		if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col["NoPorts"] }' /proc/net/snmp
}

ba_zs_dropped() { # DIR: packets the daemon's datapath dropped, every drop reason
	timeout -k 2 10 "$ZS_BIN" --socket "$1/sock" status | tr -d ' \n' |
		grep -o '"[a-z0-9-]*":{"packets":[0-9]*' | grep -v '^"forwarded"' |
		awk -F: '{ s += $3 } END { print s + 0 }'
}

ba_nft_dropped() { # HOSTNS: the counter before the policy drop
	ip netns exec "$1" nft list chain ip zsattack forward |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

ba_dropped() { # KIND HOSTNS DIR
	case $1 in
	zeroseg | shield) ba_zs_dropped "$3" ;;
	nft) ba_nft_dropped "$2" ;;
	*) echo 0 ;;
	esac
}

# ---- one configuration -------------------------------------------------------------

# ba_tcp_once CLIENTNS ATTACKERNS DIR FLOOD(0|1): one iperf3 run, the flood
# around it; sets BA_G (Gbit/s), BA_FSENT and BA_FMS (datagrams the flood sent,
# in ms). Not in a subshell: the flood's pid is in lib.sh's list while it runs.
ba_tcp_once() {
	local c=$1 a=$2 d=$3 flood=$4 fpid=''
	BA_G='' BA_FSENT=0 BA_FMS=0
	if [ "$flood" = 1 ]; then
		ip netns exec "$a" timeout -k 2 $((BA_SECONDS + 20)) \
			"$ZS_PROBE" flood udp "$BA_S" "$BA_FLOOD_PORT" --seconds $((BA_SECONDS + 15)) >"$d/flood.out" 2>&1 &
		fpid=$!
		ZS_PIDS+=("$fpid")
		sleep 0.2
	fi
	BA_G=$(bt_tcp "$c" "$BA_SECONDS" "$BA_S" "$BA_PORT") || {
		[ -z "$fpid" ] || bt_stop "$fpid"
		return 1
	}
	if [ -n "$fpid" ]; then
		bt_stop "$fpid" # SIGTERM: it prints what it sent
		read -r BA_FSENT BA_FMS < <(awk '/^sent/ { print $2, $5 }' "$d/flood.out")
		cat "$d/flood.out" >>"$d/flood.log"
		[ "${BA_FSENT:-0}" -gt 0 ] || { echo "flood: $(cat "$d/flood.out")" >&2; return 1; }
	fi
	[ -n "$BA_G" ] || { echo "iperf3 tcp: no receiver line" >&2; return 1; }
}

# ba_run KIND: one configuration in fresh namespaces, BA_REPS pairs of runs,
# without and with the flood (in turn first); sets BA_TCP0 and BA_TCP1 (median
# Gbit/s without and with), BA_KEPT (median of each pair's with/without),
# BA_KPPS (median flood kpps sent), BA_SENT, BA_REACHED and BA_DROPPED
# (datagrams, all runs) and BA_NOTE. KIND: none zeroseg shield nft.
ba_run() {
	local rc=0 n
	BA_TCP0=- BA_TCP1=- BA_KEPT=- BA_KPPS=- BA_SENT=0 BA_REACHED=- BA_DROPPED=- BA_NOTE=''
	BA_SRV='' BA_DAEMON='' BA_PINS=''
	ba_run_in "$@" || rc=$?
	# Also after a failure: this configuration's processes, pins and namespaces.
	[ -n "$BA_SRV" ] && bt_stop "$BA_SRV"
	[ -n "$BA_DAEMON" ] && bt_stop "$BA_DAEMON"
	[ -n "$BA_PINS" ] && rm -rf "$BA_PINS"
	for n in c s a h; do ip netns del "zsba-$n-$$" 2>/dev/null; done
	return $rc
}

ba_run_in() {
	local kind=$1 h=zsba-h-$$ c=zsba-c-$$ s=zsba-s-$$ a=zsba-a-$$ d=$BENCH_DIR/$1 i f g0 g1
	local tcp0=() tcp1=() kept=() kpps=() np0 np1 dr0 dr1
	mkdir -p "$d"
	: >"$d/flood.log"
	zs_host "$h" && zs_workload "$h" "$c" zba-c "$BA_C" && zs_workload "$h" "$s" zba-s "$BA_S" &&
		zs_workload "$h" "$a" zba-a "$BA_A" || return 1
	case $kind in
	none) ;;
	zeroseg | shield)
		ba_gen_zeroseg "$([ "$kind" = shield ] && echo true || echo false)" >"$d/policy.yaml"
		BA_PINS=$ZS_DIR/bpffs/attack-$kind
		mkdir -p "$BA_PINS"
		ln -sfn "$BA_PINS" "$d/bpffs"
		zs_daemon "$h" "$d" || return 1
		BA_DAEMON=$ZS_DAEMON_PID
		timeout -k 5 60 "$ZS_BIN" --socket "$d/sock" apply -f "$d/policy.yaml" >"$d/apply.out" 2>&1 ||
			{ tail -n 5 "$d/apply.out" "$d/daemon.log" >&2; return 1; }
		;;
	nft)
		ba_gen_nft >"$d/rules"
		ip netns exec "$h" nft -f "$d/rules" || return 1
		;;
	esac
	ip netns exec "$s" timeout -k 2 $((BA_REPS * 2 * (BA_SECONDS + 5) + 30)) \
		iperf3 -s -p "$BA_PORT" >"$d/iperf3-server.log" 2>&1 &
	BA_SRV=$!
	ZS_PIDS+=("$BA_SRV")
	for ((i = 0; i < 40; i++)); do
		ip netns exec "$s" ss -Hltn "sport = :$BA_PORT" | grep -q . && break
		sleep 0.05
	done
	np0=$(ba_noports "$s")
	dr0=$(ba_dropped "$kind" "$h" "$d")
	for ((i = 0; i < BA_REPS; i++)); do
		for f in $((i % 2)) $((1 - i % 2)); do
			ba_tcp_once "$c" "$a" "$d" "$f" || return 1
			if [ "$f" = 0 ]; then
				g0=$BA_G
				continue
			fi
			g1=$BA_G
			kpps+=("$(awk -v n="$BA_FSENT" -v ms="$BA_FMS" 'BEGIN { printf "%.0f", n / ms }')")
			BA_SENT=$((BA_SENT + BA_FSENT))
		done
		tcp0+=("$g0")
		tcp1+=("$g1")
		kept+=("$(awk -v a="$g1" -v b="$g0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
	done
	np1=$(ba_noports "$s")
	dr1=$(ba_dropped "$kind" "$h" "$d")
	BA_TCP0=$(bt_median "${tcp0[@]}")
	BA_TCP1=$(bt_median "${tcp1[@]}")
	BA_KEPT=$(bt_median "${kept[@]}")
	BA_KPPS=$(bt_median "${kpps[@]}")
	BA_REACHED=$((np1 - np0))
	BA_DROPPED=$((dr1 - dr0))
	# Proof the filter was in force: nothing of the flood reached the server,
	# the filter counted drops, and the shield is XDP on the attacker's veth.
	case $kind in
	zeroseg | shield | nft)
		[ "$BA_REACHED" = 0 ] || BA_NOTE+=" $BA_REACHED flood datagrams reached the server!"
		[ "$BA_DROPPED" -gt 0 ] || BA_NOTE+=" no drops counted!"
		;;
	none) [ "$BA_REACHED" -gt 0 ] || BA_NOTE+=" the flood did not reach the server?" ;;
	esac
	if [ "$kind" = shield ]; then
		if ip -n "$h" -d link show zba-a | grep -q 'prog/xdp .*name zs_xdp_shield'; then
			BA_SHIELD_MODE=$(sed -n 's/.*flood shield on zba-a (\(.*\) mode).*/\1/p' "$d/daemon.log" | tail -1)
		else
			BA_NOTE+=" no XDP on zba-a!"
		fi
	fi
	[ "$kind" = zeroseg ] && ip -n "$h" -d link show zba-a | grep -q 'prog/xdp' &&
		BA_NOTE+=" XDP on zba-a without a shield!"
	return 0
}

# ---- the section -------------------------------------------------------------------

ba_pct() { # PART WHOLE
	awk -v p="$1" -v w="$2" 'BEGIN { if (p == "-" || w <= 0) print "-"; else printf "%.1f%%\n", 100 * p / w }'
}

bench_attack() {
	local kinds=(none zeroseg shield nft) kind base='' failed=0 label
	BA_SECONDS=2 BA_REPS=3 BA_SHIELD_MODE='?'
	if [ "$QUICK" = 1 ]; then
		BA_SECONDS=1 BA_REPS=1
	fi
	echo "under attack: the attacker floods the server with 64-byte UDP to port $BA_FLOOD_PORT (denied)"
	echo "while the client runs one iperf3 TCP stream to it. Per filter, $BA_REPS pair(s) of $BA_SECONDS s runs,"
	echo "without and with the flood; medians. TCP: receiver Gbit/s, (x) = ratio to no filter"
	echo "without the flood; kept: with / without the flood, same filter, pair by pair. Flood:"
	echo "datagrams the attacker's socket took per second (sendmmsg, as fast as it goes); of all"
	echo "it sent, how many reached the server's stack (Udp NoPorts there), the filter dropped"
	printf '%-14s | %13s | %13s | %4s | %10s | %7s | %7s |\n' "" "TCP Gbit/s" "TCP Gbit/s" "" flood \
		reached "filter"
	printf '%-14s | %13s | %13s | %4s | %10s | %7s | %7s |\n' filter "no flood" "under flood" kept \
		"kpps sent" server dropped
	for kind in "${kinds[@]}"; do
		case $kind in
		none) label="no filter" ;;
		zeroseg) label="zeroseg (tc)" ;;
		shield) label="zeroseg + XDP" ;;
		nft) label="nftables" ;;
		esac
		if ! ba_run "$kind"; then
			printf '%-14s | %13s | %13s | %4s | %10s | %7s | %7s | failed\n' "$label" - - - - - -
			[ -n "$base" ] || return 1
			failed=1
			continue
		fi
		[ -n "$base" ] || base=$BA_TCP0
		[ "$kind" = none ] && BA_DROPPED=- # no filter to count
		printf '%-14s | %6s (%4.2f) | %6s (%4.2f) | %4.2f | %10s | %7s | %7s |%s\n' "$label" \
			"$BA_TCP0" "$(awk -v a="$BA_TCP0" -v b="$base" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
			"$BA_TCP1" "$(awk -v a="$BA_TCP1" -v b="$base" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
			"$BA_KEPT" "$BA_KPPS" "$(ba_pct "$BA_REACHED" "$BA_SENT")" "$(ba_pct "$BA_DROPPED" "$BA_SENT")" \
			"$BA_NOTE"
		[ -z "$BA_NOTE" ] || failed=1
	done
	echo "CPUs: $(nproc), nothing pinned: pinning the flood to one CPU and the client to the other"
	echo "  made 'kept' swing 0.5-1.1 between runs, unpinned 0.7-1.0. Over veth each"
	echo "  packet is handled on its sender's CPU, in its time: the flood takes the pair the"
	echo "  CPU share the scheduler gives the attacker, whatever the filter; a cheaper drop"
	echo "  shows as more datagrams per second for the attacker, not as more TCP."
	echo "zeroseg: daemon in the host ns, tc on zba-c/zba-s/zba-a; client egress and server"
	echo "  ingress allow client -> server TCP $BA_PORT, the attacker is enrolled with no policy"
	echo "  (posture deny): its flood is dropped at its own veth. zeroseg + XDP: the same with"
	echo "  'floodShield: true' on the attacker's Workload (XDP on zba-a, $BA_SHIELD_MODE mode; on a"
	echo "  veth XDP sees the skb the sender's stack already built, on a NIC it runs before one)."
	echo "nftables: table ip, chain forward, policy drop: 'ct state established,related accept',"
	echo "  'ip saddr $BA_C ip daddr $BA_S tcp dport $BA_PORT ct state new accept', then a bare"
	echo "  'counter' (what falls to the policy drop, for the dropped column)."
	echo "Checked per run: zeroseg and nft rows let no flood datagram reach the server and count"
	echo "drops, the XDP row has zs_xdp_shield attached to zba-a (ip -d link), the tc row no XDP."
	return $failed
}
