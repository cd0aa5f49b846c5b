#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: the Kubernetes NetworkPolicy suite. Namespaces x, y, z with
# workloads a, b, c in each (tests/e2e/k8s/estate.yaml), posture kubernetes;
# every case in tests/e2e/k8s/NN-*.yaml is a set of networking.k8s.io/v1
# NetworkPolicy objects and, in comments, the full 9x9 reachability matrix
# that Kubernetes semantics give for TCP and UDP on ports 80 and 81.
#
#   zk-xa 10.77.1.1  zk-xb 10.77.1.2  zk-xc 10.77.1.3  --+
#   zk-ya 10.77.2.1  zk-yb 10.77.2.2  zk-yc 10.77.2.3  --+-- host ns zk-host
#   zk-za 10.77.3.1  zk-zb 10.77.3.2  zk-zc 10.77.3.3  --+   [zeroseg daemon]
#   (each its own netns behind veth zk-NSPOD, serving TCP+UDP echo on 80, 81)
#
# Per case: apply, probe all 9x8 pairs x 4 ports with real connections (each
# source probes all its targets at once, the nine sources in parallel),
# compare, delete, and check that everything connects again (no stale
# policy). One check per case; on a mismatch both matrices are printed.
#
#   bash tests/e2e/test_k8s.sh [CASE-GLOB]    e.g. 'tests/e2e/k8s/1[0-4]-*'
# ZK_MS: the probe deadline in ms (default 400; a mismatch is re-probed once
# with three times that, so a slow machine cannot fake a denial).
source "$(dirname "$0")/../lib/e2e.sh"
e2e_begin zk-host zk-xa zk-xb zk-xc zk-ya zk-yb zk-yc zk-za zk-zb zk-zc

K=tests/e2e/k8s
MS=${ZK_MS:-400}
PODS=(xa xb xc ya yb yc za zb zc)
COMBOS=(tcp/80 tcp/81 udp/80 udp/81)
declare -A EXP OBS IDX
ADDRS=()
for i in "${!PODS[@]}"; do # xa -> 10.77.1.1
	ADDRS[i]=10.77.$((i / 3 + 1)).$((i % 3 + 1))
	IDX[${ADDRS[i]}]=$i
done
label() { echo "${1:0:1}/${1:1:1}"; }

# observe MS: every pair from all nine sources at once; fills OBS[combo] with
# 81 cells, row-major from x/a: X connected, . blocked, r refused (nobody
# answered: counts as blocked), ? no answer from the probe, - self.
observe() {
	local ms=$1 i j c addr combo res pids=()
	for i in "${!PODS[@]}"; do
		local targets=("${ADDRS[@]:0:i}" "${ADDRS[@]:i+1}")
		zs_matrix "zk-${PODS[i]}" --ms "$ms" --port tcp/80 --port tcp/81 --port udp/80 \
			--port udp/81 "${targets[@]}" >"$D/obs.${PODS[i]}" 2>&1 &
		pids+=("$!")
	done
	wait "${pids[@]}"
	for combo in "${COMBOS[@]}"; do
		OBS[$combo]=
		for i in "${!PODS[@]}"; do
			for j in "${!PODS[@]}"; do
				[ "$i" = "$j" ] && OBS[$combo]+=- || OBS[$combo]+=?
			done
		done
	done
	for i in "${!PODS[@]}"; do
		while read -r addr combo res; do
			j=${IDX[$addr]:-}
			[ -n "$j" ] && [ -n "${OBS[$combo]+set}" ] || continue
			case $res in ok) c=X ;; blocked) c=. ;; refused) c=r ;; *) c=? ;; esac
			local k=$((i * 9 + j))
			OBS[$combo]=${OBS[$combo]:0:k}$c${OBS[$combo]:k+1}
		done <"$D/obs.${PODS[i]}"
	done
}

# load_expect FILE: EXP[combo] from the file's "# expect COMBO...:" grids
# ("all" for the four); prints what is wrong and returns 1 if malformed.
load_expect() {
	local line cells combos=() grid="" rows=0 c err=""
	EXP=()
	flush() {
		[ ${#combos[@]} -eq 0 ] && return
		[ "$rows" = 9 ] || err+="a grid for ${combos[*]} has $rows rows; "
		for c in "${combos[@]}"; do
			[[ " ${COMBOS[*]} " = *" $c "* ]] || err+="unknown \"$c\" (${COMBOS[*]} or all); "
			[ -n "${EXP[$c]+set}" ] && err+="$c given twice; "
			EXP[$c]=$grid
		done
	}
	while IFS= read -r line; do
		if [[ $line =~ ^#\ expect\ (.+):\ *$ ]]; then
			flush
			read -ra combos <<<"${BASH_REMATCH[1]}"
			[ "${combos[*]}" = all ] && combos=("${COMBOS[@]}")
			grid="" rows=0
		elif [[ $line =~ ^#\ +([xyz]/[abc])((\ +[-X.]){9})\ *$ ]]; then
			[ "${BASH_REMATCH[1]}" = "$(label "${PODS[rows]:-}")" ] ||
				err+="row ${BASH_REMATCH[1]} out of order; "
			cells=${BASH_REMATCH[2]// /}
			grid+=$cells
			rows=$((rows + 1))
		fi
	done <"$1"
	flush
	for c in "${COMBOS[@]}"; do
		if [ -z "${EXP[$c]+set}" ]; then
			err+="no grid for $c; "
			continue
		fi
		for i in "${!PODS[@]}"; do
			[ "${EXP[$c]:i*10:1}" = - ] || { err+="$c: self cell of $(label "${PODS[i]}") is not '-'; "; break; }
		done
		[[ ${EXP[$c]} =~ ^[-X.]{81}$ ]] || err+="$c: cells other than X . -; "
	done
	[ -z "$err" ] && return 0
	echo "${err%; }"
	return 1
}

# fill_expect X: expect X everywhere but the diagonal (the baseline).
fill_expect() {
	local c i j
	EXP=()
	for c in "${COMBOS[@]}"; do
		EXP[$c]=
		for i in "${!PODS[@]}"; do
			for j in "${!PODS[@]}"; do [ "$i" = "$j" ] && EXP[$c]+=- || EXP[$c]+=$1; done
		done
	done
}

# differ: how many probed cells disagree (observed counts as connected only
# when X); lists them in $D/diff.
differ() {
	local c k n=0 e o
	: >"$D/diff"
	for c in "${COMBOS[@]}"; do
		for ((k = 0; k < 81; k++)); do
			e=${EXP[$c]:k:1} o=${OBS[$c]:k:1}
			[ "$e" = - ] || [ "${e/[^X]/.}" = "${o/[^X]/.}" ] && continue
			echo "$c $(label "${PODS[k / 9]}") -> $(label "${PODS[k % 9]}"): expected $e, observed $o" >>"$D/diff"
			n=$((n + 1))
		done
	done
	echo "$n"
}

# show: expected and observed side by side, only for the port/protocols that
# differ; rows from, columns to; a differing observed cell is starred.
show() {
	local c i j e o hdr="" erow orow
	for j in "${PODS[@]}"; do hdr+=" $(label "$j")"; done
	for c in "${COMBOS[@]}"; do
		grep -q "^$c " "$D/diff" || continue
		printf '     %-7s%-40s%s\n' "$c" expected "observed (* differs)"
		printf '            %s    %s\n' "$hdr" "$hdr"
		for i in "${!PODS[@]}"; do
			erow="" orow=""
			for j in "${!PODS[@]}"; do
				e=${EXP[$c]:i*9+j:1} o=${OBS[$c]:i*9+j:1}
				erow+="  $e "
				if [ "$e" = - ] || [ "${e/[^X]/.}" = "${o/[^X]/.}" ]; then
					orow+="  $o "
				else
					orow+="  $o*"
				fi
			done
			printf '       %s  %s    %s\n' "$(label "${PODS[i]}")" "$erow" "$orow"
		done
	done
	sed -n '1,16s/^/       /p' "$D/diff"
	[ "$(wc -l <"$D/diff")" -gt 16 ] && echo "       ..."
}

# judge NAME: observe and compare with EXP (re-probing once, slowly, on a
# mismatch); 0 when they agree, else prints both and returns 1.
judge() {
	local n
	observe "$MS"
	n=$(differ)
	[ "$n" = 0 ] && return 0
	echo "    $1: $n cells differ at $MS ms; probing again at $((MS * 3)) ms"
	observe $((MS * 3))
	n=$(differ)
	[ "$n" = 0 ] && return 0
	echo "    $1: $n of $((4 * 72)) probes differ from the expectation"
	show
	return 1
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# ---- the estate ---------------------------------------------------------------
t0=$(now_ms)
e2e_host zk-host
for i in "${!PODS[@]}"; do
	zs_workload $H "zk-${PODS[i]}" "zk-${PODS[i]}" "${ADDRS[i]}"
	ZS_SERVE_SECONDS=${ZS_SERVE_SECONDS:-600} zs_serve "zk-${PODS[i]}" --tcp 80 --tcp 81 --udp 80 --udp 81
done
zs_daemon $H "$D" || exit 1
if ! Z apply -f $K/estate.yaml >"$D/apply.out" 2>&1; then
	bad "apply the estate: $(cat "$D/apply.out")"
	summary
	exit 1
fi

echo "-- no policy, posture kubernetes: every pair connects"
fill_expect X
for _ in 1 2 3 4 5; do # the servers may still be binding
	observe "$MS"
	[ "$(differ)" = 0 ] && break
	sleep 0.2
done
judge baseline && ok "baseline: all 72 pairs x 4 connect" || bad "baseline"

echo "-- the cases"
for f in ${1:-$K/[0-9][0-9]-*.yaml}; do
	name=$(basename "$f" .yaml)
	t=$(now_ms)
	if ! load_expect "$f" >"$D/why"; then
		bad "$name: malformed expectation: $(cat "$D/why")"
		continue
	fi
	if ! Z apply -f "$f" >"$D/apply.out" 2>&1; then
		bad "$name: apply failed: $(cat "$D/apply.out")"
		continue
	fi
	good=1
	judge "$name" || good=0
	if ! Z delete -f "$f" >"$D/delete.out" 2>&1; then
		bad "$name: delete failed: $(cat "$D/delete.out")"
		continue
	fi
	fill_expect X
	judge "$name, after delete" || { echo "    $name: a deleted policy still acts"; good=0; }
	t=$(($(now_ms) - t))
	[ $good = 1 ] && ok "$name ($t ms)" || bad "$name ($t ms)"
done

echo "-- $(($(now_ms) - t0)) ms in all"
summary
