# shellcheck shell=bash
# bench/lib.sh - what bench/run.sh and bench/forward.sh share (sourced):
# their options, CPU time, medians and per-round ratios; and the namespace
# bed's pieces, tests/lib/netns.sh.

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/netns.sh"

# Busy CPU jiffies (user nice system irq softirq; idle, iowait and steal
# left out) summed over all CPUs: the whole machine's.
busy_jiffies() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# cgroups_cpu_us CGROUP...: CPU time in microseconds of the processes in
# the cgroups (and their children) plus the ksoftirqd threads.  A packet
# sent over a veth is handled, through every namespace it crosses, in
# the sender's own context (its cgroup), or in ksoftirqd when softirq work
# is deferred.  /proc/stat's busy time also counts whatever else the
# machine runs meanwhile: on a shared VM that is several µs per
# connection, more in one round than in the next.
cgroups_cpu_us() {
	local k cg files=()
	k=$(for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do
		awk '{ print $14 + $15 }' "/proc/$p/stat"
	done | awk '{ s += $1 } END { print s + 0 }')
	for cg in "$@"; do files+=("$cg/cpu.stat"); done
	awk -v k="$k" -v hz="$(getconf CLK_TCK)" '$1 == "usage_usec" { s += $2 }
		END { printf "%.0f\n", s + k * 1e6 / hz }' "${files[@]}"
}

median() {
	if [ ! -s "$1" ]; then echo nan; return; fi
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pratio METHOD METRIC: the median over rounds of METHOD's sample
# ($RAW/METHOD.METRIC, one line a round) divided by "none"'s of the same
# round.  A round takes seconds, so the load of a shared machine drifts
# less within a round than across the run.
pratio() {
	paste -d ' ' "$RAW/none.$2" "$RAW/$1.$2" |
		awk '$1 > 0 && $2 != "" { printf "%.6f\n", $2 / $1 }' > "$RAW/pratio.$1.$2"
	median "$RAW/pratio.$1.$2" |
		awk '{ if ($1 == "nan") print "nan"; else printf "%.2f", $1 }'
}

# round_order ROUND METHOD...: the methods in the order of that round:
# as given in odd rounds, reversed in even ones, so that no method always
# runs first or always right after the same other method (what one
# leaves behind, a conntrack table to be collected, a cold path, would
# otherwise always be paid by the same next one).
round_order() {
	local r=$1 i
	shift
	if ((r % 2)); then
		printf '%s\n' "$@"
	else
		for ((i = $#; i >= 1; i--)); do printf '%s\n' "${!i}"; done
	fi
}

# bench_options NAME ARGS...: the options both benchmarks take, into
# ROUNDS, DURATION and THREADS.  --help prints the script's header
# comment; NAME starts the line that refuses an unknown option.
bench_options() {
	local name=$1
	shift
	ROUNDS=5
	DURATION=1.5
	THREADS=4
	while [ $# -gt 0 ]; do
		case $1 in
		--rounds) ROUNDS=$2; shift 2 ;;
		--duration) DURATION=$2; shift 2 ;;
		--threads) THREADS=$2; shift 2 ;;
		--quick) ROUNDS=3; DURATION=1; shift ;;
		-h|--help)
			awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" |
				sed 's/^# \{0,1\}//'
			exit 0 ;;
		*) echo "$name: unknown option $1" >&2; exit 2 ;;
		esac
	done
}
