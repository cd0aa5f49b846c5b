#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package zeroseg needs to build, test, demo and bench.
# Idempotent, and quiet when everything is already present.
set -euo pipefail

PKGS=(
	make gcc clang llvm pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
	libmnl-dev libnl-3-dev libnl-route-3-dev
	libyaml-dev libjansson-dev libmicrohttpd-dev libcmocka-dev
	iproute2 iptables nftables iperf3 procps
	libclang-rt-14-dev # libFuzzer for tests/fuzz/ (make fuzz, the test-fuzz tier)
	nfdump # IPFIX collector for tests/e2e/test_ipfix.sh (tshark, optional, decodes more)
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
