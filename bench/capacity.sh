#!/bin/bash
# bench/capacity.sh - how well each balancing method uses three uplinks of
# unequal capacity, measured against the physical limit: the time the
# bytes take at the links' summed rate.
#
#   bench/capacity.sh [--rounds N] [--shapes A,B,C] [--methods M,...] [--quick]
#
#   client ns  up0 192.0.2.2    --- gw0  internet ns (server 203.0.113.10
#              up1 198.51.100.2 --- gw1  on lo; gwN shaped toward the
#              up2 10.102.0.2   --- gw2  client: the download direction)
#
# The bed is tests/lib/bed.sh's, with three uplinks and ids of its own.
# Shapes (rate, round trip):
#   A  50/10/2 Mbit/s, 10/40/80 ms
#   B  20/20/20 Mbit/s, 10 ms
#   C  A, with up0 cut to 5 Mbit/s CUT seconds into each workload (10 s;
#      2 s with --quick): the oracle's weights are wrong from then on
# Workloads, from curl processes in the attached cgroup:
#   batch    30 downloads of 2 MB, 6 at a time: the makespan
#   browse   200 requests of 20 kB, 10 at a time: p50 and p99 per request
#   long     3 downloads of 10 MB and, beside them, the browse requests,
#            all started at once: the long ones' makespan, and the
#            requests' p50 and p99 while they run
#   (--quick: 12 of 500 kB, 60 of 20 kB, long 2 MB, one round unless
#   --rounds)
# Methods, set up and removed in each round and shape, interleaved (the
# order reversed every other round):
#   alone    no mlb-bpf: the main table's default route via up0, the
#            fastest uplink
#   rr       mlb-bpf attach, round-robin with equal weights
#   oracle   weights equal to the true rates (25:5:1 for A and C, 1:1:1
#            for B)
#   wrong    weights 1:1:5, the most on the slowest uplink
#   lc       --balance least-conn, equal weights
#   ad       --balance adaptive, equal starting weights, attached and
#            watch started just before the workload (cold: nothing
#            measured yet)
#   adwarm   the same after a warm-up of half a batch (watch has measured
#            the links, as it has on a host where it runs all along)
#   ecmp     no mlb-bpf: a multipath default route over the three
#            uplinks, L4 hash, masquerade per uplink
# Rates are shaped by tbf on each gwN.  Round trips need sch_netem; where
# the kernel has none, the server holds each response two round trips of
# its uplink (handshake and request) before the first byte instead, and
# slow start's ramp is not reproduced.  Results: bench/results/capacity.md
# and capacity.png (gnuplot).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
. bench/lib.sh
# shellcheck source=tests/lib/bed.sh
. tests/lib/bed.sh

ROUNDS=3 ROUNDS_SET=0 QUICK=0 SHAPES=A,B,C METHODS_ARG=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; ROUNDS_SET=1; shift 2 ;;
	--shapes) SHAPES=$2; shift 2 ;;
	--methods) METHODS_ARG=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	-h|--help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "capacity: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	BATCH_N=12 BATCH_BYTES=500000 BROWSE_N=60 CUT=2 MAXT=60 LONG_BYTES=2000000
	[ "$ROUNDS_SET" = 1 ] || ROUNDS=1
else
	BATCH_N=30 BATCH_BYTES=2000000 BROWSE_N=200 CUT=10 MAXT=300 LONG_BYTES=10000000
fi
BATCH_PAR=6 BROWSE_BYTES=20000 BROWSE_PAR=10 PORT=8080
IFS=, read -ra SHAPE_LIST <<< "$SHAPES"
for s in "${SHAPE_LIST[@]}"; do
	case $s in A|B|C) ;; *) echo "capacity: unknown shape $s" >&2; exit 2 ;; esac
done

MLB=${MLB:-$ROOT/build/mlb-bpf}
METHODS=(alone rr oracle wrong lc ad adwarm ecmp)
[ -z "$METHODS_ARG" ] || IFS=, read -ra METHODS <<< "$METHODS_ARG"
OUT=$ROOT/bench/results
mkdir -p "$OUT"
BED_ID=mlbcap$$
GW2=10.102.0.1
RAW=$(mktemp -d)
SRV_PID='' CUT_PID='' WATCH_PID=''

cleanup() {
	[ -z "$CUT_PID" ] || kill "$CUT_PID" 2>/dev/null
	[ -z "$WATCH_PID" ] || kill "$WATCH_PID" 2>/dev/null
	[ -z "$SRV_PID" ] || kill "$SRV_PID" 2>/dev/null
	bed_destroy
	rm -rf "$RAW"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- shapes ---------------------------------------------------------

# rates (Mbit/s) and round trips (ms) of up0..up2 per shape
shape_rates() { case $1 in B) echo 20 20 20 ;; *) echo 50 10 2 ;; esac; }
shape_rtts() { case $1 in B) echo 10 10 10 ;; *) echo 10 40 80 ;; esac; }
# the oracle's weights: the rates' ratios (C's before its cut)
shape_weights() { case $1 in B) echo 1 1 1 ;; *) echo 25 5 1 ;; esac; }

HAVE_NETEM=0
# link_shape I MBIT RTT_MS [BURST]: gwI's egress (toward the client) at
# MBIT; "replace" both sets and changes it (C's cut).  tbf's bucket holds
# 4 ms at the rate, at least two full packets, so an idle link does not
# send a small response at the veth's speed; its queue holds 200 ms.  The
# cut keeps the fast link's bucket (BURST): shrunk under running
# transfers, whose TSO packets were sized for 50 Mbit/s, it stalled them
# for good (kernel 6.18: downloads hung until curl's --max-time).
link_shape() {
	local burst=${4:-$(($2 * 500))}
	[ "$burst" -ge 3028 ] || burst=3028
	if [ "$HAVE_NETEM" = 1 ]; then
		in_inet tc qdisc replace dev "gw$1" root netem delay "${3}ms" \
			rate "${2}mbit" limit 1000
	else
		in_inet tc qdisc replace dev "gw$1" root tbf rate "${2}mbit" \
			burst "$burst" latency 200ms
	fi
}

UP_NETS=(192.0.2.0/24 198.51.100.0/24 10.102.0.0/24)
apply_shape() {
	local rates rtts i
	read -ra rates <<< "$(shape_rates "$1")"
	read -ra rtts <<< "$(shape_rtts "$1")"
	: > "$RAW/delays"
	for i in 0 1 2; do
		link_shape "$i" "${rates[i]}" "${rtts[i]}"
		[ "$HAVE_NETEM" = 1 ] || awk -v n="${UP_NETS[i]}" -v r="${rtts[i]}" \
			'BEGIN { printf "%s %.3f\n", n, 2 * r / 1000 }' >> "$RAW/delays"
	done
}

# cut_schedule SHAPE: for C, up0 down to 5 Mbit/s CUT seconds from now,
# in the background ($CUT_PID); cut_cancel stops it if still waiting.
cut_schedule() {
	[ "$1" = C ] || return 0
	( trap 'kill $s 2>/dev/null; exit 0' TERM
	  sleep "$CUT" & s=$!
	  wait "$s" && link_shape 0 5 10 25000 && echo "$EPOCHREALTIME" > "$RAW/cut.at" ) &
	CUT_PID=$!
}
cut_cancel() {
	[ -n "$CUT_PID" ] || return 0
	kill "$CUT_PID" 2>/dev/null
	wait "$CUT_PID" 2>/dev/null
	CUT_PID=''
}

# limit_s SHAPE BYTES: seconds the bytes take at the links' summed rate
# (payload only: TCP/IP and Ethernet headers are about 4.5 % more); for C
# at 62 Mbit/s until the cut, 17 after.
limit_s() {
	awk -v s="$1" -v b="$2" -v cut="$CUT" 'BEGIN {
		bits = b * 8
		if (s == "B") { print bits / 60e6; exit }
		if (s == "A" || bits <= 62e6 * cut) { print bits / 62e6; exit }
		print cut + (bits - 62e6 * cut) / 17e6 }'
}

# ---- methods --------------------------------------------------------

attach() {
	"$MLB" attach --netns "$CLI" --cgroup "$CG" "$@" >/dev/null
}
weighted() {
	attach --uplink "up0,weight=$1" --uplink "up1,weight=$2" --uplink "up2,weight=$3"
}
setup_alone() { :; }
teardown_alone() { :; }
setup_rr() { attach --uplink up0 --uplink up1 --uplink up2; }
setup_oracle() {
	# shellcheck disable=SC2046  # three numbers, split on purpose
	weighted $(shape_weights "$SHAPE")
}
setup_wrong() { weighted 1 1 5; }
setup_lc() { attach --balance least-conn --uplink up0 --uplink up1 --uplink up2; }
# adaptive: watch's lines stamped with the time they came, for C's
# reweighting time
setup_ad() {
	attach --balance adaptive --uplink up0 --uplink up1 --uplink up2 || return 1
	"$MLB" watch --cgroup "$CG" 2> >(while IFS= read -r l; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >> "$RAW/watch.log") &
	WATCH_PID=$!
}
setup_adwarm() {
	setup_ad || return 1
	apply_shape "$SHAPE"
	fetch $((BATCH_N / 2)) "$BATCH_BYTES" "$BATCH_PAR" >/dev/null
}
teardown_mlb() {
	if [ -n "$WATCH_PID" ]; then
		kill "$WATCH_PID"
		wait "$WATCH_PID" 2>/dev/null
		WATCH_PID=''
	fi
	"$MLB" detach --cgroup "$CG" >/dev/null
}

# reweighed SINCE: seconds from SINCE (epoch, the cut) to watch's first
# line after it giving up0 less weight than up1; "-" if none did.
reweighed() {
	awk -v t="$1" '$1 >= t && / weights / {
		w0 = w1 = -1
		for (i = 2; i < NF; i++) {
			if ($i == "up0") w0 = $(i + 1)
			if ($i == "up1") w1 = $(i + 1)
		}
		if (w0 >= 0 && w1 >= 0 && w0 < w1) { printf "%.1f\n", $1 - t; found = 1; exit }
	} END { if (!found) print "-" }' "$RAW/watch.log"
}
# Kernel ECMP picks the source address before the L4 hash picks the
# nexthop, so a connection may leave by another uplink than its address
# belongs to: masquerade per uplink puts that right.
setup_ecmp() {
	in_cli sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	in_cli ip route add default metric 50 nexthop via "$GW0" dev up0 \
		nexthop via "$GW1" dev up1 nexthop via "$GW2" dev up2
	in_cli nft -f - <<'NFT'
table ip capecmp {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname { "up0", "up1", "up2" } masquerade
	}
}
NFT
}
teardown_ecmp() {
	in_cli nft delete table ip capecmp
	in_cli ip route del default metric 50
	in_cli sysctl -qw net.ipv4.fib_multipath_hash_policy=0
}

# ---- workloads ------------------------------------------------------

# tx_bytes: "B0 B1 B2", bytes the gateways have sent toward the client.
tx_bytes() {
	ip -n "$INET" -j -s link show | jq -r '[.[] | select(.ifname | test("^gw[0-2]$"))]
		| sort_by(.ifname) | map(.stats64.tx.bytes | tostring) | join(" ")'
}

# fetch N BYTES PARALLEL: N downloads of BYTES, PARALLEL curl processes at
# a time, each a new connection (a new socket for the balancer); one line
# "time_total size_download" a download into $RAW/fetch.  Prints the
# makespan in seconds.
fetch() {
	local t0 t1
	t0=$(date +%s%N)
	yes "http://$SERVER:$PORT/$2" | head -n "$1" |
		in_cgroup_ns "$CG" "$CLI" xargs -P "$3" -n 1 curl -s -o /dev/null \
			--max-time "$MAXT" -w '%{time_total} %{size_download}\n' \
			> "$RAW/fetch" 2>/dev/null
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

# failed BYTES [FILE]: downloads in FILE ($RAW/fetch) that did not bring
# BYTES.
failed() { awk -v b="$1" '$2 != b { n++ } END { print n + 0 }' "${2:-$RAW/fetch}"; }

# run_batch and run_browse append to $RAW/SHAPE.METHOD.{makespan,share,
# fail,browse}: one line a round (browse: one line a request).
run_batch() {
	local k=$RAW/$SHAPE.$1 b0 b1 span
	apply_shape "$SHAPE"
	b0=$(tx_bytes)
	rm -f "$RAW/cut.at"
	cut_schedule "$SHAPE"
	span=$(fetch "$BATCH_N" "$BATCH_BYTES" "$BATCH_PAR")
	cut_cancel
	b1=$(tx_bytes)
	echo "$span" >> "$k.makespan"
	failed "$BATCH_BYTES" >> "$k.fail"
	# each gateway's share of the bytes sent, in per cent
	echo "$b0 $b1" | awk '{ t = 0; for (i = 1; i <= 3; i++) { d[i] = $(i + 3) - $i; t += d[i] }
		printf "%.0f/%.0f/%.0f\n", 100 * d[1] / t, 100 * d[2] / t, 100 * d[3] / t }' \
		>> "$k.share"
}

# run_reweigh METHOD: for C under adaptive, downloads back to back (6 at a
# time) for CUT + 15 s with the cut at CUT; appends to $RAW/C.METHOD.reweigh
# the seconds watch took to give up0 less weight than up1.
run_reweigh() {
	local end pids=() w
	[ "$SHAPE" = C ] && [ -n "$WATCH_PID" ] || return 0
	apply_shape C
	rm -f "$RAW/cut.at"
	cut_schedule C
	end=$(($(date +%s) + CUT + 15))
	for w in 1 2 3 4 5 6; do
		in_cgroup_ns "$CG" "$CLI" sh -c "while [ \$(date +%s) -lt $end ]; do
			curl -s -o /dev/null --max-time 30 http://$SERVER:$PORT/$BATCH_BYTES; done" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cut_cancel
	if [ -s "$RAW/cut.at" ]; then
		reweighed "$(cat "$RAW/cut.at")" >> "$RAW/C.$1.reweigh"
	fi
}

# run_long METHOD: 3 downloads of LONG_BYTES and the browse requests
# beside them, started together; appends the long ones' makespan to
# $k.long and each request's time to $k.longsmall.
run_long() {
	local k=$RAW/$SHAPE.$1 t0 t1 p
	apply_shape "$SHAPE"
	cut_schedule "$SHAPE"
	t0=$(date +%s%N)
	yes "http://$SERVER:$PORT/$LONG_BYTES" | head -n 3 |
		in_cgroup_ns "$CG" "$CLI" xargs -P 3 -n 1 curl -s -o /dev/null \
			--max-time "$MAXT" -w '%{time_total} %{size_download}\n' \
			> "$RAW/long" 2>/dev/null &
	p=$!
	fetch "$BROWSE_N" "$BROWSE_BYTES" "$BROWSE_PAR" >/dev/null
	wait "$p"
	t1=$(date +%s%N)
	cut_cancel
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >> "$k.long"
	awk '{ print $1 * 1000 }' "$RAW/fetch" >> "$k.longsmall"
	echo $(($(failed "$LONG_BYTES" "$RAW/long") + $(failed "$BROWSE_BYTES"))) >> "$k.fail"
}

run_browse() {
	local k=$RAW/$SHAPE.$1
	apply_shape "$SHAPE"
	cut_schedule "$SHAPE"
	fetch "$BROWSE_N" "$BROWSE_BYTES" "$BROWSE_PAR" >/dev/null
	cut_cancel
	awk '{ print $1 * 1000 }' "$RAW/fetch" >> "$k.browse"
	failed "$BROWSE_BYTES" >> "$k.fail"
}

# ---- run ------------------------------------------------------------

bed_create 3
if in_inet tc qdisc add dev gw0 root netem delay 1ms 2>/dev/null; then
	HAVE_NETEM=1
	in_inet tc qdisc del dev gw0 root
fi
# One socket a download and short runs: the client's ephemeral ports and
# TIME_WAIT are no concern, but masquerade (ECMP) needs conntrack room.
nsenter --net="/run/netns/$INET" python3 "$ROOT/bench/capacity_server.py" \
	"$SERVER" "$PORT" "$RAW/delays" > "$RAW/srv.ready" 2>"$RAW/srv.err" &
SRV_PID=$!
for _ in $(seq 50); do
	grep -q ready "$RAW/srv.ready" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$RAW/srv.ready" || { echo "capacity: the server did not start" >&2; cat "$RAW/srv.err" >&2; exit 1; }

echo "capacity: $ROUNDS round(s), shapes ${SHAPE_LIST[*]}, batch $BATCH_N x $BATCH_BYTES B by $BATCH_PAR," \
	"browse $BROWSE_N x $BROWSE_BYTES B by $BROWSE_PAR; round trips by $([ "$HAVE_NETEM" = 1 ] && echo netem || echo 'the server (no sch_netem)')"
T0=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
	for SHAPE in "${SHAPE_LIST[@]}"; do
		for m in $(round_order "$r" "${METHODS[@]}"); do
			printf '\rround %d/%d shape %s: %-8s' "$r" "$ROUNDS" "$SHAPE" "$m"
			if ! "setup_$m"; then
				echo "capacity: setting up $m failed" >&2
				exit 1
			fi
			run_batch "$m"
			run_browse "$m"
			run_long "$m"
			run_reweigh "$m"
			case $m in alone|ecmp) "teardown_$m" ;; *) teardown_mlb ;; esac
		done
	done
done
ELAPSED=$(($(date +%s) - T0))
printf '\rdone in %d s%30s\n' "$ELAPSED" ''
bed_host_untouched || echo "capacity: the host's own rules or tables changed" >&2

# ---- report ---------------------------------------------------------

# pct FILE P: the P-th percentile (nearest rank) of the file's numbers
pct() {
	[ -s "$1" ] || { echo nan; return; }
	sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.0f", v[i] }'
}
label() {
	case $1 in
	alone) echo "up0 alone (no mlb-bpf)" ;;
	rr) echo "mlb-bpf round-robin" ;;
	oracle) echo "mlb-bpf weights = rates ($(shape_weights "$2" | tr ' ' :))" ;;
	wrong) echo "mlb-bpf wrong weights (1:1:5)" ;;
	lc) echo "mlb-bpf --balance least-conn" ;;
	ad) echo "mlb-bpf --balance adaptive, cold" ;;
	adwarm) echo "mlb-bpf --balance adaptive, warm" ;;
	ecmp) echo "kernel ECMP (L4 hash)" ;;
	esac
}
shape_title() {
	case $1 in
	A) echo "A: 50/10/2 Mbit/s, 10/40/80 ms" ;;
	B) echo "B: 20/20/20 Mbit/s, 10 ms" ;;
	C) echo "C: A with up0 cut to 5 Mbit/s after $CUT s" ;;
	esac
}

: > "$RAW/plot.dat"
{
	echo "# Unequal uplinks: bench/capacity.sh"
	echo
	echo "$ROUNDS round(s)$([ "$QUICK" = 1 ] && echo ', --quick'), $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r), $ELAPSED s."
	echo "Batch: $BATCH_N downloads of $BATCH_BYTES bytes, $BATCH_PAR at a time; makespan (median over rounds) and its ratio to the limit."
	echo "Browse: $BROWSE_N requests of $BROWSE_BYTES bytes, $BROWSE_PAR at a time; time per request, percentiles over every round's requests."
	echo "Long: 3 downloads of $LONG_BYTES bytes with the browse requests beside them, started together; the makespan (median over rounds; the limit row: all those bytes at the summed rate) and the requests' percentiles."
	echo "The limit: the batch's payload bytes at the links' summed rate (headers add about 4.5 %, so about 1.05 is the best reachable)."
	echo "Share: the batch's bytes the gateways sent via up0/up1/up2, per cent (the last round's)."
	if [ "$HAVE_NETEM" = 1 ]; then
		echo "Rates and round trips by netem on the gateways' side."
	else
		echo "Rates by tbf on the gateways' side; this kernel has no sch_netem, so each uplink's round trip is the server holding its responses two round trips (handshake, request); slow start's ramp is not reproduced."
	fi
	for SHAPE in "${SHAPE_LIST[@]}"; do
		lim=$(limit_s "$SHAPE" $((BATCH_N * BATCH_BYTES)))
		echo
		echo "## $(shape_title "$SHAPE")"
		echo
		echo "| method | batch makespan | ÷ limit | share up0/up1/up2 | browse p50 | browse p99 | long makespan | requests beside p50 / p99 | failed |"
		echo "|---|---|---|---|---|---|---|---|---|"
		printf '| the links'"'"' total rate (the limit) | %.1f s | 1.00 | %s | | | %.1f s | | |\n' "$lim" \
			"$(shape_rates "$SHAPE" | awk '{ t = $1 + $2 + $3; printf "%.0f/%.0f/%.0f", 100 * $1 / t, 100 * $2 / t, 100 * $3 / t }')" \
			"$(limit_s "$SHAPE" $((3 * LONG_BYTES + BROWSE_N * BROWSE_BYTES)))"
		row="$SHAPE"
		for m in "${METHODS[@]}"; do
			k=$RAW/$SHAPE.$m
			span=$(median "$k.makespan")
			ratio=$(awk -v a="$span" -v b="$lim" 'BEGIN { printf "%.2f", a / b }')
			row+=" $ratio"
			printf '| %s | %.1f s | %s | %s | %s ms | %s ms | %.1f s | %s / %s ms | %s |\n' \
				"$(label "$m" "$SHAPE")" "$span" "$ratio" "$(tail -n 1 "$k.share")" \
				"$(pct "$k.browse" 50)" "$(pct "$k.browse" 99)" "$(median "$k.long")" \
				"$(pct "$k.longsmall" 50)" "$(pct "$k.longsmall" 99)" \
				"$(awk '{ s += $1 } END { print s + 0 }' "$k.fail")"
		done
		echo "$row" >> "$RAW/plot.dat"
		if [ "$SHAPE" = C ]; then
			echo
			echo "Re-weighing after the cut: seconds from the cut to the first weights watch put in force with up0 below up1, with 6 downloads running back to back through it (one figure a round; \"-\": not within 15 s):"
			for m in ad adwarm; do
				[ -s "$RAW/C.$m.reweigh" ] &&
					echo "- $(label "$m" C): $(paste -sd' ' "$RAW/C.$m.reweigh") s"
			done
		fi
	done
} > "$OUT/capacity.md"

if command -v gnuplot >/dev/null; then
	# one bar a method, in the order of the tables, a cluster a shape
	plot='' col=2
	for m in "${METHODS[@]}"; do
		plot+="\"$RAW/plot.dat\" using $col$([ "$col" = 2 ] && echo ':xtic(1)') title \"$(label "$m" A | sed 's/ (25:5:1)//')\", "
		col=$((col + 1))
	done
	gnuplot <<GP 2>/dev/null || true
set terminal pngcairo size 1200,520
set output "$OUT/capacity.png"
set title "Batch makespan / the links' total rate (1 = the limit; lower is better; log scale; $ROUNDS round(s))"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 2
set yrange [0.8:*]
set grid ytics
set key outside right top
plot $plot 1 with lines lw 2 lc "black" title "the limit"
GP
fi

cat "$OUT/capacity.md"
