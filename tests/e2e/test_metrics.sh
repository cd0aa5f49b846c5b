#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: the Prometheus endpoint of a real daemon (--metrics), scraped
# from inside the host namespace while real allowed and denied traffic flows.
#
#   zsm-web (10.90.0.11) --zsm-web--+
#   zsm-api (10.90.0.12) --zsm-api--+-- host ns zsm-host [zeroseg daemon
#   zsm-db  (10.90.0.13) --zsm-db---+      --metrics 127.0.0.1:19464]
#   zsm-bad (10.90.0.66) --zsm-bad--+      <- scraped with bash /dev/tcp
#
#   zsm-empty: an empty namespace where a daemon asked for 0.0.0.0 must refuse.
#
# Checks: the listener is on loopback only; GET /metrics answers 200 with the
# text format's content type, 404 elsewhere, 405 for POST; build info, start
# time, revision and last apply agree with `zeroseg --version` and `status`;
# workload, policy and map occupancy gauges match the estate (conntrack
# capacity from --ct-max); after allowed and denied connections the flow,
# record, packet and byte counters moved by at least what was sent, and
# nothing was lost; a non-loopback --metrics address is refused.
source "$(dirname "$0")/../lib/e2e.sh"

if ! "$ZS_BIN" daemon --help 2>&1 | grep -q -- '--metrics'; then
	echo "SKIP: $ZS_BIN daemon has no --metrics option yet"
	exit 0
fi

e2e_begin zsm-host zsm-web zsm-api zsm-db zsm-bad zsm-empty

PORT=19464 # the host namespace's own port space: no clash with anything
e2e_host zsm-host
e2e_workloads zsm-web 10.90.0.11 zsm-api 10.90.0.12 zsm-db 10.90.0.13 zsm-bad 10.90.0.66
zs_serve zsm-api --tcp 8080 --tcp 22
zs_serve zsm-db --tcp 5432

sed -e 's/10\.77\.0\./10.90.0./' -e 's/zsd-/zsm-/' policies/demo.yaml >"$D/demo.yaml"

# scrape OUT [METHOD] [PATH]: one HTTP/1.0 request to the metrics port from
# inside the host namespace; the reply (CRs removed) in OUT. 0 when it answered.
scrape() {
	local out=$1 method=${2:-GET} path=${3:-/metrics}
	ip netns exec $H timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" "$3" >&3
		cat <&3' _ "$PORT" "$method" "$path" 2>/dev/null | tr -d '\r' >"$out"
	[ -s "$out" ]
}
status_of() { head -1 "$1" | awk '{ print $2 }'; }
header_of() { sed '/^$/q' "$1" | awk -v h="$2:" 'tolower($1) == tolower(h) { sub(/^[^:]*: */, ""); print; exit }'; }
# val FILE 'SERIES': the value of one series of a scrape ("" when absent).
val() { sed '1,/^$/d' "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
# sum FILE PREFIX: the total of the series whose name{labels} starts with PREFIX.
sum() { sed '1,/^$/d' "$1" | awk -v p="$2" 'index($1, p) == 1 { s += $2 } END { print s + 0 }'; }
# grew BEFORE AFTER PREFIX MIN: the series under PREFIX grew by at least MIN.
grew() {
	local b a
	b=$(sum "$1" "$3") a=$(sum "$2" "$3")
	[ $((a - b)) -ge "$4" ] && ok "$3 +$((a - b)) (>= $4)" || bad "$3 grew by $((a - b)), expected >= $4"
}
# is FILE 'SERIES' VALUE: a series has exactly this value.
is() {
	local v
	v=$(val "$1" "$2")
	[ "$v" = "$3" ] && ok "$2 = $3" || bad "$2 = '$v', expected $3"
}

t0=$(date +%s)
zs_daemon $H "$D" --ct-max 4096 --metrics "127.0.0.1:$PORT" || exit 1

echo "-- the endpoint"
for _ in $(seq 50); do # 503 until the daemon's first snapshot
	scrape "$D/m0" && [ "$(status_of "$D/m0")" = 200 ] && break
	sleep 0.1
done
[ "$(status_of "$D/m0")" = 200 ] && ok "GET /metrics: 200" || bad "GET /metrics: $(head -1 "$D/m0")"
ct=$(header_of "$D/m0" Content-Type)
case $ct in
"text/plain; version=0.0.4"*) ok "content type: $ct" ;;
*) bad "content type: '$ct'" ;;
esac
listen=$(ip netns exec $H ss -Hltn "sport = :$PORT" | awk '{ print $4 }')
[ "$listen" = "127.0.0.1:$PORT" ] && ok "listens on 127.0.0.1:$PORT only" || bad "listening on: $listen"
scrape "$D/x" GET / && [ "$(status_of "$D/x")" = 404 ] && ok "GET /: 404" || bad "GET /: $(head -1 "$D/x")"
scrape "$D/x" POST /metrics && [ "$(status_of "$D/x")" = 405 ] && ok "POST /metrics: 405" ||
	bad "POST /metrics: $(head -1 "$D/x")"
version=$("$ZS_BIN" --version | awk '{ print $2 }')
is "$D/m0" "zeroseg_build_info{version=\"$version\"}" 1
st=$(val "$D/m0" zeroseg_start_time_seconds)
[ -n "$st" ] && [ "$st" -ge "$t0" ] && [ "$st" -le "$(date +%s)" ] && ok "start time $st" || bad "start time '$st'"

echo "-- an apply shows at once"
t1=$(date +%s)
Z apply -f "$D/demo.yaml" >/dev/null || bad "apply"
rev=$(Z status | grep -o '"revision": *[0-9]*' | grep -o '[0-9]*$')
for _ in $(seq 30); do
	scrape "$D/m1" && [ "$(val "$D/m1" zeroseg_policy_revision)" = "$rev" ] && break
	sleep 0.1
done
is "$D/m1" zeroseg_policy_revision "$rev"
la=$(val "$D/m1" zeroseg_last_apply_timestamp_seconds)
[ -n "$la" ] && [ "$la" -ge "$t1" ] && [ "$la" -le "$(date +%s)" ] && ok "last apply $la" || bad "last apply '$la' (applied at $t1)"
is "$D/m1" zeroseg_workloads 4
is "$D/m1" zeroseg_policies 3
[ "$(val "$D/m1" zeroseg_identities)" -ge 4 ] 2>/dev/null && ok "identities >= 4" ||
	bad "identities: '$(val "$D/m1" zeroseg_identities)'"
is "$D/m1" 'zeroseg_map_entries{map="endpoints"}' 4
is "$D/m1" 'zeroseg_map_capacity{map="endpoints"}' 16384
is "$D/m1" 'zeroseg_map_capacity{map="conntrack"}' 4096
is "$D/m1" 'zeroseg_map_capacity{map="conntrack6"}' 4096
[ "$(val "$D/m1" 'zeroseg_map_entries{map="ipcache"}')" -ge 4 ] 2>/dev/null && ok "ipcache entries >= 4" ||
	bad "ipcache entries: '$(val "$D/m1" 'zeroseg_map_entries{map="ipcache"}')'"
[ "$(val "$D/m1" 'zeroseg_map_entries{map="policy"}')" -gt 0 ] 2>/dev/null && ok "policy entries > 0" ||
	bad "policy entries: '$(val "$D/m1" 'zeroseg_map_entries{map="policy"}')'"

echo "-- traffic: 3 allowed, 3 denied connections"
expect pass zsm-web tcp 10.90.0.12 8080
expect pass zsm-web tcp 10.90.0.12 8080
expect pass zsm-api tcp 10.90.0.13 5432
expect block zsm-web tcp 10.90.0.12 22
expect block zsm-bad tcp 10.90.0.12 8080
expect block zsm-bad tcp 10.90.0.13 5432

# The daemon publishes about once a second: wait for the flows to show.
A='zeroseg_flows_total{verdict="allowed",' DN='zeroseg_flows_total{verdict="denied",'
for _ in $(seq 50); do
	scrape "$D/m2" && [ $(($(sum "$D/m2" "$A") - $(sum "$D/m1" "$A"))) -ge 3 ] &&
		[ $(($(sum "$D/m2" "$DN") - $(sum "$D/m1" "$DN"))) -ge 3 ] && break
	sleep 0.1
done
grew "$D/m1" "$D/m2" "$A" 3
grew "$D/m1" "$D/m2" "$DN" 3
grew "$D/m1" "$D/m2" 'zeroseg_flow_records_total{type="new"}' 6
grew "$D/m1" "$D/m2" 'zeroseg_flow_bytes_total{verdict="allowed",' 1
grew "$D/m1" "$D/m2" 'zeroseg_packets_total{reason="forwarded"}' 9 # 3 handshakes and echoes, at least
grew "$D/m1" "$D/m2" 'zeroseg_bytes_total{reason="forwarded"}' 360 # 40 bytes of IP and TCP, at least
grew "$D/m1" "$D/m2" 'zeroseg_packets_total{reason="default-deny"}' 3
is "$D/m2" 'zeroseg_flows_total{verdict="audit",direction="ingress"}' 0
is "$D/m2" zeroseg_events_lost_total 0
is "$D/m2" 'zeroseg_records_lost_total{sink="json"}' 0
[ "$(val "$D/m2" 'zeroseg_map_entries{map="conntrack"}')" -ge 1 ] 2>/dev/null && ok "conntrack entries >= 1" ||
	bad "conntrack entries: '$(val "$D/m2" 'zeroseg_map_entries{map="conntrack"}')'"
# Status and metrics tell the same story.
st_lost=$(Z status | grep -o '"events_lost": *[0-9]*' | grep -o '[0-9]*$')
[ "${st_lost:-0}" = "$(val "$D/m2" zeroseg_events_lost_total)" ] && ok "events lost agrees with status" ||
	bad "events lost: status ${st_lost:-?}, metrics $(val "$D/m2" zeroseg_events_lost_total)"

echo "-- a non-loopback address is refused"
ip netns add zsm-empty
ZS_NETNS+=(zsm-empty)
zs_workdir
E=$ZS_DIR
if ip netns exec zsm-empty timeout 10 "$ZS_BIN" daemon --socket "$E/sock" --state-dir "$E/state" \
	--bpffs "$E/bpffs" --metrics "0.0.0.0:$PORT" >"$E/log" 2>&1; then
	bad "daemon ran with --metrics 0.0.0.0:$PORT"
elif [ $? -eq 124 ]; then
	bad "daemon with --metrics 0.0.0.0:$PORT did not refuse (still running after 10 s)"
else
	grep -qi loopback "$E/log" && ok "0.0.0.0 refused: $(grep -i loopback "$E/log" | head -1)" ||
		bad "refused without saying why: $(cat "$E/log")"
fi

summary
