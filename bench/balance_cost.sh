#!/bin/bash
# balance_cost.sh - what --balance costs the kernel per socket, rr,
# least-conn and adaptive side by side, interleaved round by round (the
# order reversed every other round), medians.  Per socket: every BPF
# program attached to the bed's cgroup (sock_create; for least-conn and
# adaptive also connect4 and sock_release, which count the socket; no
# watch runs, so adaptive weighs by the given weights), run_time_ns summed
# over the programs (kernel.bpf_stats_enabled=1, restored after) divided
# by the sockets made.  Two workloads of 20,000 sockets from two threads:
# UDP sockets created and closed (the decision alone, as make bench's
# "ns per socket"), and UDP sockets connect()ed to the bed's server
# range before close (counted and released by least-conn; a route
# lookup, no packet).  Writes bench/results/balance_cost.md.
#
#   bench/balance_cost.sh [--rounds N] [MLB CRR]
set -u
ROUNDS=7
[ "${1:-}" = --rounds ] && { ROUNDS=$2; shift 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MLB=$(realpath "${1:-$ROOT/build/mlb-bpf}")
CRR=$(realpath "${2:-$ROOT/build/crr}")
cd "$ROOT" || exit 1
. tests/lib/bed.sh
RAW=$(mktemp -d)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true
	bed_destroy
	rm -rf "$RAW"
}
trap cleanup EXIT
SOCKETS=20000

# run_time: "NS CNT_SOCK_CREATE" summed over the programs on $CG.
run_time() {
	local id total=0 create=0 line
	for id in $(bpftool cgroup show "$CG" -j | jq -r '.[].id'); do
		line=$(bpftool prog show id "$id" -j |
			jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0) \(.name)"')
		set -- $line
		total=$((total + $1))
	done
	echo "$total"
}

# sample MODE WORKLOAD: ns per socket of every program on the cgroup.
sample() {
	local to=() a b
	[ "$2" = connect ] && to=(--to 203.0.113.0/28)
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --balance "$1" \
		--uplink up0 --uplink up1 --uplink up2 >/dev/null
	a=$(run_time)
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" \
		nsenter --net="/run/netns/$CLI" "$CRR" sockets \
		--count "$SOCKETS" --threads 2 "${to[@]}" > /dev/null
	b=$(run_time)
	"$MLB" detach --cgroup "$CG"
	echo "$a $b" | awk -v n="$SOCKETS" '{ printf "%.1f\n", ($2 - $1) / n }'
}

BED_ID=mlbbc$$
bed_create 3
sysctl -qw kernel.bpf_stats_enabled=1
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then order="rr least-conn adaptive"; else order="adaptive least-conn rr"; fi
	for w in create connect; do
		for m in $order; do
			printf '\rbalance cost: round %d/%d %s %s   ' "$r" "$ROUNDS" "$w" "$m"
			sample "$m" "$w" >> "$RAW/$m.$w"
		done
	done
done
echo
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
OUT=$ROOT/bench/results/balance_cost.md
{
	echo "# BPF cost per socket by balancing mode"
	echo
	echo "$(uname -r), $(nproc) CPUs, 3 uplinks, $SOCKETS sockets from 2 threads per sample, median of $ROUNDS interleaved rounds (bench/balance_cost.sh)."
	echo "ns per socket: run_time_ns of every program on the cgroup (sock_create; least-conn and adaptive add connect4 and sock_release) over the sockets made."
	echo
	echo "| workload | rr | least-conn | adaptive |"
	echo "|---|---|---|---|"
	echo "| socket created and closed | $(median "$RAW/rr.create") | $(median "$RAW/least-conn.create") | $(median "$RAW/adaptive.create") |"
	echo "| UDP socket connected, then closed | $(median "$RAW/rr.connect") | $(median "$RAW/least-conn.connect") | $(median "$RAW/adaptive.connect") |"
	echo
	echo "Samples (ns per socket, in round order):"
	echo
	for f in rr.create least-conn.create adaptive.create rr.connect \
		least-conn.connect adaptive.connect; do
		echo "- $f: $(paste -sd' ' "$RAW/$f")"
	done
} > "$OUT"
cat "$OUT"
