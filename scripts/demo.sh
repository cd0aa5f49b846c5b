#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo: installs what it needs, builds, creates a small estate in network
# namespaces, starts zeroseg, applies policies/demo.yaml, sends real traffic
# and shows what passed, what was denied, and the flow records as they stream.
# Everything it creates is removed at the end, also on failure or Ctrl-C.
#
#   web 10.77.0.11 --+
#   api 10.77.0.12 --+-- host namespace zsdemo-host [zeroseg daemon]
#   db  10.77.0.13 --+
#   intruder 10.77.0.66 (compromised: tries everything)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "the demo creates namespaces and loads eBPF: run it as root (sudo make demo)" >&2
	exit 1
fi
bash scripts/deps.sh
make -s all
source scripts/lib.sh
trap zs_cleanup EXIT INT TERM

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
zs_workdir
D=$ZS_DIR
H=zsdemo-host
Z() { "$ZS_BIN" --socket "$D/sock" "$@"; }

# A demo killed hard (SIGKILL) leaves its namespaces: clear them first.
for n in zsdemo-host zsdemo-web zsdemo-api zsdemo-db zsdemo-bad; do ip netns del "$n" 2>/dev/null || true; done

bold "1. An estate: web, api, db and a compromised workload, each in its own network namespace"
zs_host $H
zs_workload $H zsdemo-web zsd-web 10.77.0.11
zs_workload $H zsdemo-api zsd-api 10.77.0.12
zs_workload $H zsdemo-db zsd-db 10.77.0.13
zs_workload $H zsdemo-bad zsd-bad 10.77.0.66
ZS_SERVE_SECONDS=60 zs_serve zsdemo-api --tcp 8080 --tcp 22
ZS_SERVE_SECONDS=60 zs_serve zsdemo-db --tcp 5432 --udp 5432 --tcp 22
sleep 0.2

try() { # try WHO WNS PROTO ADDR PORT WHAT
	local who=$1 w=$2 proto=$3 addr=$4 port=$5 what=$6
	if zs_probe "$w" "$proto" "$addr" "$port"; then
		printf '  %-9s -> %-22s %s/%-5s \033[32mCONNECTED\033[0m\n' "$who" "$what" "$proto" "$port"
	else
		printf '  %-9s -> %-22s %s/%-5s \033[31mBLOCKED\033[0m\n' "$who" "$what" "$proto" "$port"
	fi
}
traffic() {
	try web zsdemo-web tcp 10.77.0.12 8080 "api"
	try web zsdemo-web tcp 10.77.0.13 5432 "db (skipping a tier)"
	try api zsdemo-api tcp 10.77.0.13 5432 "db"
	try api zsdemo-api udp 10.77.0.13 5432 "db"
	try intruder zsdemo-bad tcp 10.77.0.13 5432 "db"
	try intruder zsdemo-bad tcp 10.77.0.12 8080 "api"
	try intruder zsdemo-bad tcp 10.77.0.13 22 "db ssh"
	try intruder zsdemo-bad tcp 10.77.0.11 80 "web"
}

bold "2. Without zeroseg the network is flat: the intruder reaches everything"
traffic

bold "3. Start zeroseg and apply policies/demo.yaml (least privilege: web->api:8080, api->db:5432)"
zs_daemon $H "$D"
Z apply -f policies/demo.yaml
Z get workloads
Z flows --follow >"$D/follow.txt" &
ZS_PIDS+=("$!")
sleep 0.2

bold "4. The same traffic, with the policy enforced in the kernel (eBPF on tc)"
traffic

sleep 0.5
bold "5. Flow records, streamed live by 'zeroseg flows --follow' (JSON lines in the flow log)"
cat "$D/follow.txt"
echo
echo "  one record as JSON:"
grep -F '"verdict":"denied"' "$D/flows.jsonl" | head -1 | sed 's/^/  /'

bold "6. Why? 'zeroseg explain' names the policy and rule on each side"
Z explain --from shop/web --to shop/api --port 8080/tcp
echo
Z explain --from shop/web --to shop/db --port 5432/tcp

bold "7. Denied flows only ('zeroseg flows --verdict denied -o table')"
Z flows --verdict denied -o table

bold "8. Counters ('zeroseg status')"
Z status
bold "Done: everything the demo created is being removed."
