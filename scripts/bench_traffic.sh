# SPDX-License-Identifier: MIT
# The traffic section of scripts/bench.sh (sourced by it, after lib.sh): real
# TCP and UDP between two workloads through a routed host namespace, with no
# filter, with zeroseg, and with iptables and nftables rule sets of the same
# sizes, each in namespaces of its own, removed after it (and by the EXIT
# trap on failure: every netns, process and pin is recorded by lib.sh).
#
#   client ns --(eth0 | zbt-c)-- host ns H --(zbt-s | eth0)-- server ns
#   10.77.0.1                    filter here                  10.77.0.2
#                                (tc on zbt-c/zbt-s, or FORWARD chain)
#
# Filters, each with N filler rules that do not match the flow (N = 0, 1k, 10k):
#   zeroseg   daemon in H; client egress and server ingress each carry N/2
#             rules (other peers: 100 remote workloads 10.78.0.0/24, distinct
#             ports) plus the one allowing client -> server TCP+UDP 5201.
#   iptables  iptables-legacy FORWARD, policy DROP: N rules
#             "-s 10.200.x.y -d 10.77.0.2 -p tcp --dport 5201 -j ACCEPT", then
#             one "-s 10.77.0.0/29 -d 10.77.0.0/29 -j ACCEPT" (both directions):
#             every packet walks the list (a stateless allow list).
#   ipt+ct    the same behind "-m conntrack --ctstate ESTABLISHED,RELATED -j
#             ACCEPT" as the first rule: only a flow's first packet walks.
#   nft       nftables, chain forward, policy drop, the same N rules then the
#             same final rule, linear.
#   nft set   one rule "ip saddr . ip daddr @allow accept", the set holding the
#             N filler pairs and the two directions of the flow.

BT_C=10.77.0.1
BT_S=10.77.0.2
BT_PORT=5201
BT_IPT=iptables-legacy
command -v iptables-legacy-restore >/dev/null || BT_IPT=iptables # nf_tables backend

# bt_median V...: the median of numbers.
bt_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# bt_forget PID: drop a waited-for pid from lib.sh's list (no kill of a reused pid).
bt_forget() {
	local p keep=()
	for p in "${ZS_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	ZS_PIDS=("${keep[@]}")
}

bt_stop() { # bt_stop PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	bt_forget "$1"
}

# ---- rule sets ------------------------------------------------------------------

bt_gen_zeroseg() { # N
	awk -v n="$1" -v c="$BT_C" -v s="$BT_S" -v port="$BT_PORT" '
	function wl(name, app, ifn, addr) {
		printf "---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
		printf "metadata: {name: %s, namespace: bench, labels: {app: %s}}\n", name, app
		if (ifn != "")
			printf "spec: {interface: %s, addresses: [%s]}\n", ifn, addr
		else
			printf "spec: {addresses: [%s]}\n", addr
	}
	function pol(name, app, dir, peerdir, peer, k, j) {
		printf "---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
		printf "metadata: {name: %s, namespace: bench}\n", name
		printf "spec:\n  selector: {matchLabels: {app: %s}}\n  %s:\n", app, dir
		for (j = 0; j < k; j++)
			printf "    - %s: [{selector: {matchLabels: {app: p%d}}}]\n      ports: [{protocol: TCP, port: %d}]\n", \
				peerdir, j % 100, 10000 + 2 * int(j / 100)
		printf "    - %s: [{selector: {matchLabels: {app: %s}}}]\n", peerdir, peer
		printf "      ports: [{protocol: TCP, port: %d}, {protocol: UDP, port: %d}]\n", port, port
	}
	BEGIN {
		wl("client", "client", "zbt-c", c)
		wl("server", "server", "zbt-s", s)
		for (k = 0; k < 100; k++)
			wl("p" k, "p" k, "", "10.78.0." (k + 1))
		pol("client-out", "client", "egress", "to", "server", int(n / 2))
		pol("server-in", "server", "ingress", "from", "client", n - int(n / 2))
	}'
}

# Filler rule j matches source 10.200.<j/256>.<j%256> (never the client).
bt_gen_iptables() { # ct|plain N
	awk -v ct="$1" -v n="$2" -v s="$BT_S" -v port="$BT_PORT" 'BEGIN {
		print "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]"
		if (ct == "ct")
			print "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
		for (j = 0; j < n; j++)
			printf "-A FORWARD -s 10.200.%d.%d/32 -d %s/32 -p tcp --dport %d -j ACCEPT\n", \
				int(j / 256), j % 256, s, port
		print "-A FORWARD -s 10.77.0.0/29 -d 10.77.0.0/29 -j ACCEPT\nCOMMIT"
	}'
}

bt_gen_nft() { # linear|set N
	awk -v kind="$1" -v n="$2" -v c="$BT_C" -v s="$BT_S" -v port="$BT_PORT" 'BEGIN {
		print "table ip zsbench {"
		if (kind == "set") {
			printf "  set allow {\n    type ipv4_addr . ipv4_addr\n"
			printf "    elements = { %s . %s, %s . %s", c, s, s, c
			for (j = 0; j < n; j++)
				printf ", 10.200.%d.%d . %s", int(j / 256), j % 256, s
			print " }\n  }"
		}
		print "  chain forward {\n    type filter hook forward priority filter; policy drop;"
		if (kind == "set")
			print "    ip saddr . ip daddr @allow accept"
		else {
			for (j = 0; j < n; j++)
				printf "    ip saddr 10.200.%d.%d ip daddr %s tcp dport %d accept\n", \
					int(j / 256), j % 256, s, port
			print "    ip saddr 10.77.0.0/29 ip daddr 10.77.0.0/29 accept"
		}
		print "  }\n}"
	}'
}

# ---- measurements -----------------------------------------------------------------

# bt_tcp CLIENTNS SECONDS [SERVER PORT]: TCP goodput at the receiver, Gbit/s
# (server $BT_S:$BT_PORT unless given).
bt_tcp() {
	local out
	out=$(ip netns exec "$1" timeout -k 2 $(($2 + 15)) iperf3 -c "${3:-$BT_S}" -p "${4:-$BT_PORT}" \
		-t "$2" -f m 2>&1) ||
		{ echo "iperf3 tcp: $out" | tail -3 >&2; return 1; }
	awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") printf "%.2f\n", $i / 1000 }' <<<"$out"
}

# bt_udp CLIENTNS SECONDS: 64-byte-payload datagrams delivered per second, in thousands.
bt_udp() {
	local out
	out=$(ip netns exec "$1" timeout -k 2 $(($2 + 15)) iperf3 -c "$BT_S" -p "$BT_PORT" -u -l 64 -b 0 \
		-t "$2" -f m 2>&1) || { echo "iperf3 udp: $out" | tail -3 >&2; return 1; }
	awk '/receiver/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[0-9.]+-[0-9.]+$/) { split($i, t, "-") }
			if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, l, "/") }
		}
		if (t[2] > t[1]) printf "%.0f\n", (l[2] - l[1]) / (t[2] - t[1]) / 1000
	}' <<<"$out"
}

# bt_run KIND N: one configuration in fresh namespaces; sets BT_TCP and BT_UDP
# (medians) and BT_NOTE. KIND: none zeroseg iptables ipt-ct nft nft-set.
bt_run() {
	local rc=0
	BT_TCP=- BT_UDP=- BT_NOTE='' BT_SRV='' BT_DAEMON='' BT_PINS=''
	bt_run_in "$@" || rc=$?
	# Also after a failure: this configuration's processes, pins and namespaces.
	[ -n "$BT_SRV" ] && bt_stop "$BT_SRV"
	[ -n "$BT_DAEMON" ] && bt_stop "$BT_DAEMON"
	[ -n "$BT_PINS" ] && rm -rf "$BT_PINS"
	ip netns del "zsbt-c-$$" 2>/dev/null
	ip netns del "zsbt-s-$$" 2>/dev/null
	ip netns del "zsbt-h-$$" 2>/dev/null
	return $rc
}

bt_run_in() {
	local kind=$1 n=$2 h=zsbt-h-$$ c=zsbt-c-$$ s=zsbt-s-$$ d=$BENCH_DIR/$1-$2 t i v
	local tcp=() udp=()
	mkdir -p "$d"
	zs_host "$h" && zs_workload "$h" "$c" zbt-c "$BT_C" && zs_workload "$h" "$s" zbt-s "$BT_S" ||
		return 1
	case $kind in
	none) ;;
	zeroseg)
		bt_gen_zeroseg "$n" >"$d/policy.yaml"
		BT_PINS=$ZS_DIR/bpffs/traffic-$n
		mkdir -p "$BT_PINS"
		ln -sfn "$BT_PINS" "$d/bpffs"
		zs_daemon "$h" "$d" || return 1
		BT_DAEMON=$ZS_DAEMON_PID
		timeout -k 5 60 "$ZS_BIN" --socket "$d/sock" apply -f "$d/policy.yaml" >"$d/apply.out" 2>&1 ||
			{ tail -n 5 "$d/apply.out" "$d/daemon.log" >&2; return 1; }
		;;
	iptables | ipt-ct)
		bt_gen_iptables "$([ "$kind" = ipt-ct ] && echo ct || echo plain)" "$n" >"$d/rules"
		ip netns exec "$h" "$BT_IPT-restore" <"$d/rules" || return 1
		;;
	nft | nft-set)
		bt_gen_nft "$([ "$kind" = nft-set ] && echo set || echo linear)" "$n" >"$d/rules"
		ip netns exec "$h" nft -f "$d/rules" || return 1
		;;
	esac
	ip netns exec "$s" timeout -k 2 $((BT_REPS * 2 * (BT_SECONDS + 5) + 30)) \
		iperf3 -s -p "$BT_PORT" >"$d/iperf3-server.log" 2>&1 &
	BT_SRV=$!
	ZS_PIDS+=("$BT_SRV")
	for ((i = 0; i < 40; i++)); do
		ip netns exec "$s" ss -Hltn "sport = :$BT_PORT" | grep -q . && break
		sleep 0.05
	done
	for ((i = 0; i < BT_REPS; i++)); do
		v=$(bt_tcp "$c" "$BT_SECONDS") && [ -n "$v" ] || return 1
		tcp+=("$v")
	done
	for ((i = 0; i < BT_REPS; i++)); do
		v=$(bt_udp "$c" "$BT_SECONDS") && [ -n "$v" ] || return 1
		udp+=("$v")
	done
	BT_TCP=$(bt_median "${tcp[@]}")
	BT_UDP=$(bt_median "${udp[@]}")
	if [ "$kind" = zeroseg ]; then
		# Proof the programs were in force: a port the policy does not allow is blocked.
		t=$(zs_matrix "$c" --ms 300 --port tcp/5202 "$BT_S" | awk '{ print $3 }')
		[ "$t" = blocked ] || BT_NOTE="tcp/5202 $t, expected blocked"
	fi
}

# ---- the section ------------------------------------------------------------------

bench_traffic() {
	local sizes=(0 1k 10k) kinds=(zeroseg iptables ipt-ct nft nft-set) kind sz base_tcp base_udp
	local failed=0 label
	BT_SECONDS=2 BT_REPS=3
	if [ "$QUICK" = 1 ]; then
		sizes=(10k)
		BT_SECONDS=1 BT_REPS=1
	fi
	echo "traffic: client ns -> routed host ns -> server ns over veth; iperf3 $BT_SECONDS s runs,"
	echo "median of $BT_REPS; TCP: one stream, receiver Gbit/s; UDP: 64-byte payloads, -b 0,"
	echo "datagrams delivered (sent - lost) kpps; (x) = ratio to the no-filter run just above"
	echo "(measured again before each filter: the machine drifts more than the 5% asked about)"
	printf '%-10s %6s | %15s | %15s |\n' filter rules "TCP Gbit/s" "UDP 64B kpps"
	local first_tcp='' first_udp=''
	for kind in "${kinds[@]}"; do
		if [ -z "$first_tcp" ] || [ "$QUICK" = 0 ]; then
			bt_run none 0 || return 1
			base_tcp=$BT_TCP base_udp=$BT_UDP
			[ -n "$first_tcp" ] || first_tcp=$BT_TCP first_udp=$BT_UDP
			printf '%-10s %6s | %8s (%4.2f) | %8s (%4.2f) |\n' "no filter" - \
				"$base_tcp" "$(awk -v a="$base_tcp" -v b="$first_tcp" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
				"$base_udp" "$(awk -v a="$base_udp" -v b="$first_udp" 'BEGIN { print (b > 0 ? a / b : 0) }')"
		fi
		for sz in "${sizes[@]}"; do
			label=$kind
			[ "$kind" = iptables ] && [ "$BT_IPT" = iptables ] && label=ipt-nft
			if ! bt_run "$kind" "$(num "$sz")"; then
				printf '%-10s %6s | %15s | %15s | failed\n' "$label" "$sz" - -
				failed=1
				continue
			fi
			printf '%-10s %6s | %8s (%4.2f) | %8s (%4.2f) |%s\n' "$label" "$sz" \
				"$BT_TCP" "$(awk -v a="$BT_TCP" -v b="$base_tcp" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
				"$BT_UDP" "$(awk -v a="$BT_UDP" -v b="$base_udp" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
				"${BT_NOTE:+ $BT_NOTE}"
		done
	done
	if [ "$QUICK" = 0 ]; then
		bt_run none 0 || return 1
		printf '%-10s %6s | %8s (%4.2f) | %8s (%4.2f) | last; its ratio is to the first: drift\n' \
			"no filter" - \
			"$BT_TCP" "$(awk -v a="$BT_TCP" -v b="$first_tcp" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
			"$BT_UDP" "$(awk -v a="$BT_UDP" -v b="$first_udp" 'BEGIN { print (b > 0 ? a / b : 0) }')"
	fi
	echo "no filter rows: the first one's ratio is 1.00; each later one's is to the first (drift)."
	echo "rules: filler rules that do not match the flow, besides the rule(s) that let it"
	echo "  through. zeroseg: N/2 on the client's egress, N/2 on the server's ingress (other"
	echo "  peers, distinct ports), daemon in the host ns, tc on both host-side veths."
	echo "  iptables ($BT_IPT) and nft: FORWARD, policy drop, N '-s 10.200.x.y -d server"
	echo "  tcp dport 5201 accept' then '10.77.0.0/29 <-> 10.77.0.0/29 accept': every packet, both"
	echo "  directions, walks the list. ipt-ct: the same behind '--ctstate ESTABLISHED,RELATED"
	echo "  -j ACCEPT' as rule 1 (only a flow's first packet walks). nft-set: one rule,"
	echo "  'ip saddr . ip daddr @allow', the set holding the N pairs and the flow's two."
	return $failed
}
