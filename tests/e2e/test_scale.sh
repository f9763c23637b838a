#!/bin/bash
# test_scale.sh - 100,000 sockets from every CPU at once in an attached
# cgroup, plain, with --record-sockets and with --sticky (each socket
# connected to another of 100,000 destinations, more than the sticky
# map's 65,536): the counters match the sockets made exactly, uplink by
# uplink, the round-robin split is exact, the maps' memory is what it was
# before, and the sticky map holds at most its size.  The minute-long run with
# the same checks is `make scale` (bench/scale.sh).
. "$(dirname "$0")/../lib/e2e.sh"
. tests/lib/maps.sh
cleanup() {
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

SOCKETS=100000
THREADS=$(nproc)
[ "$THREADS" -lt 2 ] && THREADS=2
DESTS=100.64.0.0/15		# 131,072 addresses; a UDP connect sends nothing

BED_ID=mlbt$$sc
bed_create

# scenario NAME [CRR OPTIONS] -- [ATTACH OPTIONS]
scenario() {
	local name=$1 crr_args=() attach_args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do crr_args+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	attach_args=("$@")

	check "$name: attach succeeds" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--uplink up0 --uplink up1 "${attach_args[@]}"
	map_memory "$CG" > "$WORK/mem.before"
	in_cgroup "$CRR" sockets --count "$SOCKETS" --threads "$THREADS" \
		"${crr_args[@]}" > "$WORK/crr"
	check_eq "$name: $SOCKETS sockets made from $THREADS threads, none failed" \
		"$SOCKETS 0" "$(awk '$1 == "sockets" { s = $2 } $1 == "failures" { f = $2 }
			END { print s, f }' "$WORK/crr")"
	map_memory "$CG" > "$WORK/mem.after"
	"$MLB" status --cgroup "$CG" --json > "$WORK/status.json"
	check_eq "$name: status --json counts every socket" "$SOCKETS" \
		"$(jq '.attachments[0].sockets' "$WORK/status.json")"
	check_eq "$name: each uplink's counter is the number of sockets that got its mark" \
		"up0 $((SOCKETS / 2)) $((SOCKETS / 2))
up1 $((SOCKETS / 2)) $((SOCKETS / 2))" \
		"$(marks_vs_counters "$WORK/crr" "$WORK/status.json")"
	check "$name: the maps' memory is what it was before the sockets" \
		check_same_quiet "$WORK/mem.before" "$WORK/mem.after"
	if [ "${#crr_args[@]}" -gt 0 ]; then
		local max n
		max=$(map_max_entries "$CG" sticky)
		n=$(map_entries "$CG" sticky)
		check "$name: the sticky map holds at most its size ($n of $max after $SOCKETS destinations)" \
			test "$n" -le "$max" -a "$n" -gt $((max / 2))
	fi
	check "$name: detach succeeds" "$MLB" detach --cgroup "$CG"
}

check_same_quiet() {
	diff -u "$1" "$2" | sed 's/^/#   /'
	cmp -s "$1" "$2"
}

scenario plain
scenario record-sockets -- --record-sockets
scenario sticky --to "$DESTS" -- --sticky 60

check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
