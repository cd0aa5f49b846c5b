#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: IPFIX records from the real exporter (userspace/ipfix.c), read
# by real collectors from Debian: nfcapd/nfdump (package nfdump) for the
# standard elements, and tshark, when it is installed, for what nfdump does
# not decode (forwardingStatus, our enterprise elements).
#
#   netns zsi-col (lo: 127.0.0.1, ::1)
#     build/tests/test_ipfix --send 127.0.0.1:4739 --> nfcapd -b 127.0.0.1 -p 4739
#                                                  \-> tshark -i lo (if installed)
#     build/tests/test_ipfix --send [::1]:4740     --> nfcapd -6 -b ::1 -p 4740
#
# The sender exports six fixed records (sample_records() in
# tests/unit/test_ipfix.c: IPv4 and IPv6, TCP, UDP, ICMP and ICMPv6, allowed,
# denied and audit) in two messages. Checks: nfdump shows each with its
# addresses, ports (ICMP type.code), protocol, packets and bytes both ways
# (RFC 5103 reverse elements), TCP flags and interface, and no sequence
# failure; over IPv6 transport too. tshark: forwardingStatus (64 forwarded,
# 129 dropped ACL deny), every enterprise element, sequence numbers 0 and 3.
#
# Then, when this build's daemon has --ipfix, a real daemon exports real
# flows between workload namespaces:
#
#   zsi-web (10.93.0.11) --zsi-web--+
#   zsi-api (10.93.0.12) --zsi-api--+-- host ns zsi-host [zeroseg daemon --ipfix 127.0.0.1:4739]
#   zsi-db  (10.93.0.13) --zsi-db---+                    [nfcapd -b 127.0.0.1 -p 4739]
#   zsi-bad (10.93.0.66) --zsi-bad--+
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zsi-col zsi-host zsi-web zsi-api zsi-db zsi-bad

SEND=build/tests/test_ipfix
if ! command -v nfcapd >/dev/null || ! command -v nfdump >/dev/null; then
	echo "  FAIL nfcapd/nfdump missing: run scripts/deps.sh"
	exit 1
fi
make -s "$SEND" >/dev/null || { echo "  FAIL cannot build $SEND"; exit 1; }

zs_workdir
D=$ZS_DIR
C=zsi-col
ip netns add $C
ZS_NETNS+=("$C")
ip -n $C link set lo up

# start_nfcapd NS DIR PORT [nfcapd args]: a collector, bounded by the EXIT trap.
start_nfcapd() {
	local ns=$1 dir=$2 port=$3
	shift 3
	mkdir -p "$dir"
	ip netns exec "$ns" nfcapd -p "$port" -w "$dir" -t 3600 "$@" >"$dir.log" 2>&1 &
	NFCAPD_PID=$!
	ZS_PIDS+=("$NFCAPD_PID")
	for _ in $(seq 50); do
		ip netns exec "$ns" ss -Huln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "nfcapd did not start:" >&2
	cat "$dir.log" >&2
	return 1
}

# stop_nfcapd: SIGTERM makes nfcapd close and name its file.
stop_nfcapd() {
	kill "$NFCAPD_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$NFCAPD_PID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$NFCAPD_PID" 2>/dev/null
}

# decoded DIR: one normalized line per flow nfdump read.
decoded() {
	nfdump -R "$1" -q -N -o "fmt:%pr %sa %sp %da %dp %ipkt %ibyt %opkt %obyt %flg %in %out" |
		awk '/^No matching/ { next } NF { $1 = $1; print }'
}

# Every nfdump line the six sample records must give (see sample_records()).
expect_samples() {
	local f=$1 want
	while read -r want; do
		grep -qxF "$want" "$f" && ok "nfdump: $want" ||
			bad "nfdump: missing '$want'; decoded: $(tr '\n' ';' <"$f")"
	done <<'EOF'
6 10.99.0.11 40001 10.99.0.12 8080 10 1500 8 6000 ...AP.SF 5 0
17 10.99.0.12 5353 10.99.0.13 53 3 200 3 400 ........ 5 0
6 10.99.0.66 40066 10.99.0.13 5432 1 60 0 0 ......S. 5 0
6 fd00:99::11 40002 fd00:99::12 8080 5 700 4 900 ...AP... 5 0
58 fd00:99::11 0 fd00:99::13 128.0 1 104 0 0 ........ 9 0
1 10.99.0.66 0 10.99.0.12 8.0 1 84 0 0 ........ 5 0
EOF
	[ "$(wc -l <"$f")" -eq 6 ] && ok "nfdump: six flows" || bad "nfdump: $(wc -l <"$f") flows, want 6"
}

echo "-- test_ipfix --send to nfcapd over IPv4 (and tshark on lo)"
TSHARK=${ZS_TSHARK-$(command -v tshark || true)} # ZS_TSHARK= : run without it
if [ -n "$TSHARK" ]; then
	# Bounded: 20 s at most. "Capturing on" comes before the capture really
	# is: canaries to port 4738 until the file grows says it is.
	P=$D/ipfix.pcap
	ip netns exec $C timeout 30 "$TSHARK" -q -i lo -f "udp port 4739 or udp port 4738" \
		-a duration:20 -w "$P" >"$D/tshark.log" 2>&1 &
	TS_PID=$!
	ZS_PIDS+=("$TS_PID")
	for _ in $(seq 50); do [ -s "$P" ] && break; sleep 0.1; done
	for _ in $(seq 50); do
		size=$(stat -c %s "$P" 2>/dev/null || echo 0)
		ip netns exec $C bash -c 'echo canary >/dev/udp/127.0.0.1/4738' 2>/dev/null
		sleep 0.1
		[ "$(stat -c %s "$P" 2>/dev/null || echo 0)" -gt "$size" ] && [ "$size" -gt 0 ] && break
	done
fi
start_nfcapd $C "$D/nf4" 4739 -b 127.0.0.1 || exit 1
out=$(ip netns exec $C "$SEND" --send 127.0.0.1:4739 2>&1)
[ "$out" = "sent_records=6 sent_messages=2 errors=0 lost_records=0" ] &&
	ok "exporter: $out" || bad "exporter: $out"
sleep 0.5
stop_nfcapd
decoded "$D/nf4" >"$D/nf4.txt"
expect_samples "$D/nf4.txt"
nfdump -R "$D/nf4" -I >"$D/nf4.stat" 2>&1
grep -q "^Sequence failures: 0$" "$D/nf4.stat" && ok "nfdump: no sequence failure" ||
	bad "nfdump stat: $(grep -i sequence "$D/nf4.stat")"

echo "-- test_ipfix --send to nfcapd over IPv6"
start_nfcapd $C "$D/nf6" 4740 -6 -b ::1 || exit 1
out=$(ip netns exec $C "$SEND" --send "[::1]:4740" 2>&1)
[ "$out" = "sent_records=6 sent_messages=2 errors=0 lost_records=0" ] &&
	ok "exporter over IPv6: $out" || bad "exporter over IPv6: $out"
sleep 0.5
stop_nfcapd
decoded "$D/nf6" >"$D/nf6.txt"
cmp -s "$D/nf4.txt" "$D/nf6.txt" && ok "nfdump: same six flows over IPv6 transport" ||
	bad "IPv6 transport: $(diff "$D/nf4.txt" "$D/nf6.txt" | head -5)"

# One line per data record tshark decoded: addresses, ports, forwardingStatus
# (status << 6 | reason code), reverse packets/bytes, enterprise elements 1..7
# in hex.
tshark_flows() {
	"$TSHARK" -r "$1" -d udp.port==4739,cflow -Y cflow -V 2>/dev/null | awk '
	function lastnum(s,   n, a, v) { n = split(s, a, "("); v = a[n]; sub(/\).*/, "", v); return v + 0 }
	function flush() {
		if (inflow)
			printf "%s %s %s %s fwd=%d rev=%s/%s e1=%s e2=%s e3=%s e4=%s e5=%s e6=%s e7=%s\n",
				sa, da, sp, dp, fs * 64 + fc, rp, rb, e[1], e[2], e[3], e[4], e[5], e[6], e[7]
		inflow = 0; fs = fc = 0; sa = da = sp = dp = rp = rb = ""
		for (k = 1; k <= 7; k++) e[k] = "-"
	}
	/^        Flow [0-9]+$/ { flush(); inflow = 1; next }
	inflow && !/^            / { flush(); next }
	!inflow { next }
	/^            SrcAddr: / { sa = $2 }
	/^            DstAddr: / { da = $2 }
	/^            SrcPort: / { sp = $2 }
	/^            DstPort: / { dp = $2 }
	/Reverse Type 1 BYTES/ { rb = $2 }
	/Reverse Type 2 PKTS/ { rp = $2 }
	/= ForwardingStatus: / { fs = lastnum($0) }
	/= ForwardingStatus[A-Za-z]+Code: / { fc = lastnum($0) }
	/Enterprise Private entry: .* Type [0-9]+: Value/ {
		match($0, /Type [0-9]+:/); t = substr($0, RSTART + 5, RLENGTH - 6) + 0
		v = $0; sub(/.*\(hex bytes\): /, "", v); gsub(/ /, "", v); e[t] = v
	}
	END { flush() }'
}
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }

echo "-- tshark: forwardingStatus and the enterprise elements (PEN 32473)"
if [ -z "$TSHARK" ]; then
	echo "  skip tshark is not installed (it is optional: apt-get install tshark)"
else
	kill -INT "$TS_PID" 2>/dev/null # SIGINT: tshark closes the file properly
	wait "$TS_PID" 2>/dev/null
	tshark_flows "$P" >"$D/tshark.txt"
	while read -r want; do
		grep -qxF "$want" "$D/tshark.txt" && ok "tshark: $want" ||
			bad "tshark: missing '$want'; decoded: $(grep -F "${want%% *} " "$D/tshark.txt" | tr '\n' ';')"
	done <<EOF
10.99.0.11 10.99.0.12 40001 8080 fwd=64 rev=8/6000 e1=000003e9 e2=000003ea e3=$(hex shop/api) e4=01 e5=02 e6=00000007 e7=00
10.99.0.12 10.99.0.13 5353 53 fwd=64 rev=3/400 e1=000003ea e2=000003eb e3=$(hex shop/dns) e4=01 e5=02 e6=00000007 e7=00
10.99.0.66 10.99.0.13 40066 5432 fwd=129 rev=0/0 e1=0000042a e2=000003eb e3=$(hex default-deny) e4=02 e5=00 e6=00000007 e7=01
fd00:99::11 fd00:99::12 40002 8080 fwd=64 rev=4/900 e1=000003e9 e2=000003ea e3=$(hex shop/api) e4=01 e5=01 e6=00000007 e7=00
fd00:99::11 fd00:99::13 0 0 fwd=64 rev=0/0 e1=000003e9 e2=000003eb e3=$(hex shop/audit-db) e4=03 e5=00 e6=00000008 e7=00
10.99.0.66 10.99.0.12 0 0 fwd=129 rev=0/0 e1=0000042a e2=000003ea e3=$(hex shop/no-ping) e4=02 e5=00 e6=00000007 e7=02
EOF
	"$TSHARK" -r "$P" -d udp.port==4739,cflow -Y cflow -T fields -e cflow.sequence -e cflow.od_id \
		2>/dev/null | tr '\t' ' ' >"$D/seq.txt"
	[ "$(tr '\n' ';' <"$D/seq.txt")" = "0 42;3 42;" ] && ok "tshark: sequence 0 then 3, domain 42" ||
		bad "tshark sequence/domain: $(tr '\n' ';' <"$D/seq.txt")"
	"$TSHARK" -r "$P" -d udp.port==4739,cflow -Y cflow -V 2>/dev/null >"$D/tshark.v"
	[ "$(grep -c 'PEN: IPFIX Reverse Information Element Private Enterprise (29305)' "$D/tshark.v")" -eq 4 ] &&
		ok "tshark: templates name RFC 5103 reverse elements (PEN 29305)" || bad "reverse PEN in templates"
	[ "$(grep -c 'PEN: .*(32473)' "$D/tshark.v")" -eq 14 ] &&
		ok "tshark: templates carry 7 elements under PEN 32473 each" || bad "our PEN in templates"
fi

echo "-- zeroseg daemon --ipfix with real traffic"
if ! "$ZS_BIN" daemon --help 2>&1 | grep -q -- '--ipfix'; then
	echo "  skip $ZS_BIN daemon has no --ipfix option yet"
else
	H=zsi-host
	zs_host $H
	e2e_workloads zsi-web 10.93.0.11 zsi-api 10.93.0.12 zsi-db 10.93.0.13 zsi-bad 10.93.0.66
	zs_serve zsi-api --tcp 8080 --tcp 22
	sed -e 's/10\.77\.0\./10.93.0./' -e 's/zsd-/zsi-/' policies/demo.yaml >"$D/demo.yaml"
	start_nfcapd $H "$D/nfd" 4739 -b 127.0.0.1 || exit 1
	zs_daemon $H "$D" --ipfix 127.0.0.1:4739 || exit 1
	"$ZS_BIN" --socket "$D/sock" apply -f "$D/demo.yaml" >/dev/null || bad "apply"
	expect pass zsi-web tcp 10.93.0.12 8080
	expect block zsi-web tcp 10.93.0.12 22
	expect block zsi-bad tcp 10.93.0.12 8080
	sleep 2.5 # the daemon flushes about once a second
	stop_nfcapd
	nfdump -R "$D/nfd" -q -o "fmt:%pr %sa %da %dp %ipkt" | awk '/^No matching/ { next } NF { $1 = $1; print }' >"$D/nfd.txt"
	grep -q "^TCP 10.93.0.11 10.93.0.12 8080 " "$D/nfd.txt" && ok "collector: web -> api:8080" ||
		bad "collector: no web -> api:8080 flow"
	grep -q "^TCP 10.93.0.11 10.93.0.12 22 " "$D/nfd.txt" && ok "collector: web -> api:22 (denied)" ||
		bad "collector: no web -> api:22 flow"
	grep -q "^TCP 10.93.0.66 10.93.0.12 8080 " "$D/nfd.txt" && ok "collector: intruder -> api:8080 (denied)" ||
		bad "collector: no intruder flow"
	if grep -qv "^TCP 10.93.0.\(11\|66\) 10.93.0.12 \(8080\|22\) " "$D/nfd.txt"; then
		bad "collector: unexpected flows: $(grep -v '^TCP 10.93.0.\(11\|66\) 10.93.0.12' "$D/nfd.txt" | head -3)"
	else
		ok "collector: nothing else"
	fi
fi

summary
