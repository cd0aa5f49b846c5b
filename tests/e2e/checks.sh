# SPDX-License-Identifier: MIT
# Check helpers shared by the end-to-end tests (sourced after scripts/lib.sh).
PASS=0 FAIL=0
ok() { echo "  ok   $*"; PASS=$((PASS + 1)); }
bad() { echo "  FAIL $*"; FAIL=$((FAIL + 1)); }
# expect pass|block WNS tcp|udp ADDR PORT: a real connection, and what it should do.
expect() {
	local want=$1 got
	shift
	if zs_probe "$@"; then got=pass; else got=block; fi
	[ "$got" = "$want" ] && ok "$want: $*" || bad "expected $want, got $got: $*"
}
# The closing line, and the exit status.
summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
