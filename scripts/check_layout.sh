#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layout's rules, checked (make test runs it first; docs/ARCHITECTURE.md
# says why each holds):
#   - dependencies point one way: each part of userspace/ includes only the
#     parts below it (nothing includes the daemon or the CLI, except the
#     CLI's `daemon` command, which starts it);
#   - no userspace .c file over ZS_MAX_FILE_LINES lines, no function over
#     ZS_MAX_FUNC_LINES (kernel style: a function's braces stand in column 0);
#   - every source file says what it provides: an SPDX line first.
set -uo pipefail
cd "$(dirname "$0")/.."

ZS_MAX_FILE_LINES=${ZS_MAX_FILE_LINES:-800}
ZS_MAX_FUNC_LINES=${ZS_MAX_FUNC_LINES:-100}

# part -> the parts it may include (besides itself and bpf/abi.h)
declare -A ALLOWED=(
	[util]=""
	[proto]="util"
	[policy]="util"
	[datapath]="util policy"
	[telemetry]="util policy"
	[store]="util policy"
	[daemon]="util proto policy datapath telemetry store"
	[cni]="util proto"
	[cli]="util proto policy telemetry daemon"
)

pass=0 fail=0
bad() { echo "  FAIL $*"; fail=$((fail + 1)); }

echo "-- dependencies point one way"
ok=1
for f in userspace/*/*.[ch]; do
	part=${f#userspace/}
	part=${part%%/*}
	if [ -z "${ALLOWED[$part]+x}" ]; then
		bad "$f: userspace/$part/ is not a known part (add it to scripts/check_layout.sh and docs/ARCHITECTURE.md)"
		ok=0
		continue
	fi
	while read -r inc; do
		dep=${inc%%/*}
		[ "$dep" = "$part" ] && continue
		[ "$inc" = "bpf/abi.h" ] && continue
		[ -z "${ALLOWED[$dep]+x}" ] && continue # a generated header (datapath.skel.h)
		case " ${ALLOWED[$part]} " in
		*" $dep "*) ;;
		*) bad "$f includes $inc: $part/ may include only: ${ALLOWED[$part]:-nothing}"; ok=0 ;;
		esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
[ $ok = 1 ] && { echo "  ok   every include points down"; pass=$((pass + 1)); }

echo "-- no room too big"
ok=1
for f in userspace/*/*.c; do
	n=$(wc -l <"$f")
	[ "$n" -gt "$ZS_MAX_FILE_LINES" ] && { bad "$f: $n lines (at most $ZS_MAX_FILE_LINES)"; ok=0; }
done
[ $ok = 1 ] && { echo "  ok   no userspace .c file over $ZS_MAX_FILE_LINES lines"; pass=$((pass + 1)); }
long=$(awk -v max="$ZS_MAX_FUNC_LINES" '
	FNR == 1 { name = "" }
	/^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name) }
	/^\{/ { start = FNR }
	/^\}/ && start { if (FNR - start + 1 > max) printf "%s:%d %s(): %d lines\n", FILENAME, start, name, FNR - start + 1; start = 0 }
' userspace/*/*.c)
if [ -n "$long" ]; then
	while read -r l; do bad "$l (at most $ZS_MAX_FUNC_LINES)"; done <<<"$long"
else
	echo "  ok   no userspace function over $ZS_MAX_FUNC_LINES lines"
	pass=$((pass + 1))
fi

echo "-- every file says what it provides"
ok=1
while read -r f; do
	head -2 "$f" | grep -q 'SPDX-License-Identifier' || { bad "$f: no SPDX line"; ok=0; }
done < <(git ls-files 'userspace/*' 'bpf/*' 'tests/*.c' 'tests/*.h' 'tests/*.sh' 'scripts/*' 'cni/*' | grep -E '\.(c|h|sh)$')
[ $ok = 1 ] && { echo "  ok   an SPDX line atop every source file"; pass=$((pass + 1)); }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
