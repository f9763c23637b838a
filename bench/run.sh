#!/bin/bash
# bench/run.sh - mlb-bpf against what users would pick instead, side by
# side in one run, on a namespace bed of its own (tests/lib/bed.sh).
#
#   bench/run.sh [--rounds N] [--duration S] [--threads T] [--quick]
#
# Methods, each set up from scratch in the client namespace and run
# interleaved round after round (A B C ... C B A ... A B C ...):
#   none        one default route, no balancing (the physical limit)
#   conntrack   none + a masquerade table: what conntrack alone costs
#   iptables    the seed recipe verbatim (mangle CONNMARK/statistic/MARK,
#               nat MASQUERADE, fwmark rules and tables)
#   nftables    the same recipe in nftables (numgen inc mod 2, ct mark)
#   ecmp        multipath default route, fib_multipath_hash_policy=1
#   none-again  "none" once more, later in the round: what an identical
#               method differs by, the bed's noise, in the same table
#   mlb         mlb-bpf attach, the default (no NAT, no conntrack)
#   mlb-one     the same with weights 1000:1: the program and its rules
#               with all but 0.1% of sockets on up0, so the balancer's own
#               cost shows apart from the cost of using two paths
#   mlb-masq    mlb-bpf attach --masquerade
#
# Measures per method: TCP connect/request/response rate and CPU time per
# connection (the bed's own: client and server cgroups and ksoftirqd; and
# the whole machine's busy time beside it), share of connections per
# uplink, UDP new-socket exchange rate, iperf3 bulk throughput.  Ratios to
# "none" are per round (each method against the "none" of its own round),
# median over rounds.  Then the BPF program's own cost per socket
# for 2..64 uplinks, balance accuracy over 10,000 sockets, and attach /
# detach time, failover time with `mlb-bpf watch`.  Medians over rounds,
# ratios to "none".  Results go to
# bench/results/ (results.md, results.csv, bpf_cost.csv, failover.csv,
# ratios.png).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
bench_options bench "$@"

export MLB=${MLB:-$ROOT/build/mlb-bpf}
export CRR=${CRR:-$ROOT/build/crr}
. tests/lib/bed.sh

METHODS=(none conntrack iptables nftables ecmp none-again mlb mlb-one mlb-masq)
OUT=$ROOT/bench/results
RAW=$(mktemp -d)
mkdir -p "$OUT"
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true
	if [ -n "${IPERF:-}" ]; then bed_server_stop "$IPERF"; fi
	if [ -n "${SRV_TCP:-}" ]; then bed_server_stop "$SRV_TCP"; fi
	if [ -n "${SRV_UDP:-}" ]; then bed_server_stop "$SRV_UDP"; fi
	bed_destroy
	if [ -n "${SRV_CG:-}" ]; then rmdir "$SRV_CG" 2>/dev/null || true; fi
	rm -rf "$RAW"
}
trap cleanup EXIT

# ---- methods --------------------------------------------------------

TABLE0=110
TABLE1=111
recipe_routes() {
	in_cli ip rule add fwmark 10 table $TABLE0 prio 31000
	in_cli ip rule add fwmark 11 table $TABLE1 prio 31000
	in_cli ip route add 192.0.2.0/24 dev up0 table $TABLE0
	in_cli ip route add default via "$GW0" table $TABLE0
	in_cli ip route add 198.51.100.0/24 dev up1 table $TABLE1
	in_cli ip route add default via "$GW1" table $TABLE1
}
recipe_routes_undo() {
	in_cli ip rule del fwmark 10 table $TABLE0 prio 31000
	in_cli ip rule del fwmark 11 table $TABLE1 prio 31000
	in_cli ip route flush table $TABLE0
	in_cli ip route flush table $TABLE1
}

setup_none() { :; }
teardown_none() { :; }
setup_none-again() { :; }
teardown_none-again() { :; }

setup_conntrack() {
	in_cli nft add table ip benchnat
	in_cli nft add chain ip benchnat post '{ type nat hook postrouting priority srcnat; }'
	in_cli nft add rule ip benchnat post oifname up0 masquerade
}
teardown_conntrack() { in_cli nft delete table ip benchnat; }

setup_iptables() {
	recipe_routes
	in_cli iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark
	in_cli iptables -t mangle -A OUTPUT -m mark ! --mark 0 -j ACCEPT
	in_cli iptables -t mangle -A OUTPUT -j MARK --set-mark 10
	in_cli iptables -t mangle -A OUTPUT -m statistic --mode nth --every 2 --packet 0 -j MARK --set-mark 11
	in_cli iptables -t mangle -A OUTPUT -j CONNMARK --save-mark
	in_cli iptables -t nat -A POSTROUTING -o up0 -j MASQUERADE
	in_cli iptables -t nat -A POSTROUTING -o up1 -j MASQUERADE
}
# iptables-nft keeps the tables and their (now empty) base chains after a
# flush, still hooked: every later method would run through them.
teardown_iptables() {
	in_cli iptables -t mangle -F OUTPUT
	in_cli iptables -t nat -F POSTROUTING
	in_cli nft delete table ip mangle 2>/dev/null || true
	in_cli nft delete table ip nat 2>/dev/null || true
	recipe_routes_undo
}

setup_nftables() {
	recipe_routes
	in_cli nft -f - <<'NFT'
table ip benchlb {
	chain output {
		type route hook output priority mangle; policy accept;
		meta mark set ct mark
		meta mark != 0 accept
		meta mark set numgen inc mod 2 map { 0 : 10, 1 : 11 }
		ct mark set meta mark
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "up0" masquerade
		oifname "up1" masquerade
	}
}
NFT
}
teardown_nftables() {
	in_cli nft delete table ip benchlb
	recipe_routes_undo
}

setup_ecmp() {
	in_cli sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	in_cli ip route add default metric 50 \
		nexthop via "$GW0" dev up0 nexthop via "$GW1" dev up1
}
teardown_ecmp() {
	in_cli ip route del default metric 50
	in_cli sysctl -qw net.ipv4.fib_multipath_hash_policy=0
}

# mlb-bpf's attach and detach are timed (milliseconds) as they run.
timed_ms() {
	local start end
	start=$(date +%s%N)
	"$@"
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}
setup_mlb() {
	timed_ms "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--uplink up0 --uplink up1 >> "$RAW/attach_ms"
}
teardown_mlb() { timed_ms "$MLB" detach --cgroup "$CG" >> "$RAW/detach_ms"; }
setup_mlb-one() {
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0,weight=1000 \
		--uplink up1,weight=1
}
teardown_mlb-one() { "$MLB" detach --cgroup "$CG"; }
setup_mlb-masq() {
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
		--masquerade
}
teardown_mlb-masq() { "$MLB" detach --cgroup "$CG"; }

# ---- measurements ---------------------------------------------------

# record METHOD METRIC VALUE: one sample of one round.
record() { echo "$3" >> "$RAW/$1.$2"; }

measure_crr() {
	local m=$1 b0 b1 c0 c1 n
	bed_counters_reset
	b0=$(busy_jiffies)
	c0=$(cgroups_cpu_us "$CG" "$SRV_CG")
	in_cgroup "$CRR" client --connect "$SERVER:5000" --duration "$DURATION" \
		--threads "$THREADS" --rst > "$RAW/out" || true
	c1=$(cgroups_cpu_us "$CG" "$SRV_CG")
	b1=$(busy_jiffies)
	n=$(awk '$1 == "transactions" { print $2 }' "$RAW/out")
	record "$m" crr_rate "$(awk '$1 == "rate" { print $2 }' "$RAW/out")"
	# microseconds of CPU per connection (client and server): the bed's
	# own, and the whole machine's busy time
	record "$m" cpu_us "$(awk -v c="$((c1 - c0))" -v n="$n" \
		'BEGIN { printf "%.2f", c / n }')"
	record "$m" cpu_machine_us "$(awk -v b="$((b1 - b0))" -v n="$n" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", b * 1e6 / hz / n }')"
	local s0 s1
	s0=$(bed_counter gw0_syn)
	s1=$(bed_counter gw1_syn)
	record "$m" share_up1 "$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b / (a + b) }')"
}

measure_udp() {
	in_cgroup "$CRR" client --udp --connect "$SERVER:5001" \
		--duration "$DURATION" --threads "$THREADS" > "$RAW/out" || true
	record "$1" udp_rate "$(awk '$1 == "rate" { print $2 }' "$RAW/out")"
}

# iperf3 takes whole seconds (a fraction can make it run on forever).
BULK_SECONDS=$(awk -v d="$DURATION" 'BEGIN { s = int(d); if (s < d) s++; if (s < 1) s = 1; print s }')
measure_bulk() {
	in_cgroup timeout $((BULK_SECONDS + 10)) iperf3 -c "$SERVER" -p 5201 \
		-P 4 -t "$BULK_SECONDS" -J \
		> "$RAW/iperf.json" 2>/dev/null || true
	record "$1" bulk_gbps "$(jq '.end.sum_received.bits_per_second / 1e9' \
		"$RAW/iperf.json" 2>/dev/null || echo 0)"
}

# ---- the bed --------------------------------------------------------

echo "bench: $ROUNDS rounds x ${DURATION}s, $THREADS client threads, methods: ${METHODS[*]}"
BED_ID=mlbbench$$
bed_create
in_cli sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
# Tens of thousands of short flows a second would fill the machine-wide
# conntrack table (nf_conntrack_max) within a few rounds with the default
# 30 s UDP / 10 s TCP-close timeouts, and every method with conntrack
# would then drop packets.  Short timeouts in the client namespace keep
# the methods comparable; conntrack's per-packet cost is unchanged.
in_cli sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 \
	net.netfilter.nf_conntrack_udp_timeout_stream=1 \
	net.netfilter.nf_conntrack_tcp_timeout_close=1 \
	net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 2>/dev/null || true
bed_counters_start
# The servers get a cgroup of their own (beside $CG, whose programs must
# not mark them), so that their CPU time can be read.
SRV_CG=$BED_CGROOT/$BED_ID-srv
mkdir "$SRV_CG"
SRV_TCP=$(bed_server_start "$RAW/srv_tcp" "--threads $THREADS")
SRV_UDP=$(bed_server_start "$RAW/srv_udp" "--udp --threads 2" 5001)
nsenter --net="/run/netns/$INET" iperf3 -s -B "$SERVER" -p 5201 >/dev/null 2>&1 &
IPERF=$!
for p in "$SRV_TCP" "$SRV_UDP" "$IPERF"; do echo "$p" > "$SRV_CG/cgroup.procs"; done
sleep 0.5

for ((r = 1; r <= ROUNDS; r++)); do
	for m in $(round_order "$r" "${METHODS[@]}"); do
		printf '\rround %d/%d: %-12s' "$r" "$ROUNDS" "$m"
		"setup_$m"
		measure_crr "$m"
		measure_udp "$m"
		measure_bulk "$m"
		"teardown_$m" >/dev/null
	done
done
echo

# ---- BPF cost per socket, balance accuracy ----------------------------

# A second client namespace with many uplinks (veth pairs inside it, so
# no traffic is needed: only socket creation is measured).
bpf_cost_bed() {
	local n=$1 i args=("${@:2}")
	ip netns add "$BED_ID-many"
	for ((i = 0; i < n; i++)); do
		ip -n "$BED_ID-many" link add "m$i" type veth peer name "p$i"
		ip -n "$BED_ID-many" link set "m$i" up
		ip -n "$BED_ID-many" link set "p$i" up
		ip -n "$BED_ID-many" addr add "10.$((i / 200 + 60)).$((i % 200)).2/24" dev "m$i"
		args+=(--uplink "m$i,gateway=10.$((i / 200 + 60)).$((i % 200)).1")
	done
	"$MLB" attach --netns "$BED_ID-many" --cgroup "$CG" "${args[@]}" \
		--no-masquerade 2>/dev/null
}
bpf_cost_bed_done() {
	"$MLB" detach --cgroup "$CG"
	ip netns del "$BED_ID-many"
}

# bpf_ns_per_socket CGROUP: make 20,000 sockets in CGROUP (two threads)
# and print its program's run_time_ns / run_cnt over them.
bpf_ns_per_socket() {
	"$MLB" status --cgroup "$1" --json > "$RAW/s0"
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$1" \
		"$CRR" sockets --count 20000 --threads 2 > /dev/null
	"$MLB" status --cgroup "$1" --json > "$RAW/s1"
	jq -n --slurpfile a "$RAW/s0" --slurpfile b "$RAW/s1" \
		'($b[0].attachments[0].run_time_ns - $a[0].attachments[0].run_time_ns) /
		 ($b[0].attachments[0].run_cnt - $a[0].attachments[0].run_cnt)'
}

sysctl -qw kernel.bpf_stats_enabled=1
for n in 2 4 8 16 64 2r; do
	printf '\rBPF cost per socket: %s uplinks ' "$n"
	if [ "$n" = 2r ]; then
		bpf_cost_bed 2 --record-sockets	# with per-socket records
	else
		bpf_cost_bed "$n"
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		bpf_ns_per_socket "$CG" >> "$RAW/bpf_ns.$n"
	done
	bpf_cost_bed_done
done
# Per-socket cost with 1, 10 and 100 sibling policies sharing the bed's
# uplinks: sockets are made in one of them; the others must not add cost.
for n in 1 10 100; do
	printf '\rBPF cost per socket: %d policies ' "$n"
	for ((p = 0; p < n; p++)); do
		mkdir "$CG/p$p"
		"$MLB" attach --netns "$CLI" --cgroup "$CG/p$p" --uplink up0 \
			--uplink up1 --no-masquerade
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		bpf_ns_per_socket "$CG/p0" >> "$RAW/policy_ns.$n"
	done
	for ((p = 0; p < n; p++)); do
		"$MLB" detach --cgroup "$CG/p$p"
		rmdir "$CG/p$p"
	done
done
sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
echo

# accuracy WEIGHTS THREADS: largest |share - weight share| in percent over
# 10,000 sockets, and the largest deviation in sockets.
accuracy() {
	local weights=$1 threads=$2 i args=() w
	IFS=: read -ra w <<< "$weights"
	for ((i = 0; i < ${#w[@]}; i++)); do
		args+=(--uplink "up$i,weight=${w[$i]}")
	done
	"$MLB" attach --netns "$CLI" --cgroup "$CG" "${args[@]}" --no-masquerade
	in_cgroup "$CRR" sockets --count 10000 --threads "$threads" > "$RAW/marks"
	"$MLB" status --cgroup "$CG" --json > "$RAW/acc.json"
	"$MLB" detach --cgroup "$CG"
	jq -r '.attachments[0] | .sockets as $t | ([.uplinks[].weight] | add) as $w |
		[.uplinks[] | ((.sockets - $t * .weight / $w) | fabs)] | max as $d |
		"\($d) \($d * 100 / $t)"' "$RAW/acc.json"
}
ACC_RR1=$(accuracy 1:1 1)
ACC_RR4=$(accuracy 1:1 "$THREADS")
ACC_W1=""
ACC_W4=""
# 5:3:1 needs three uplinks: add a third to the bed for it.
ip link add up2 netns "$CLI" type veth peer name gw2 netns "$INET"
in_cli ip link set up2 up
in_inet ip link set gw2 up
in_cli ip addr add 10.102.0.2/24 dev up2
in_inet ip addr add 10.102.0.1/24 dev gw2
in_cli ip route add default via 10.102.0.1 dev up2 metric 300
ACC_W1=$(accuracy 5:3:1 1)
ACC_W4=$(accuracy 5:3:1 "$THREADS")

# ---- failover time ------------------------------------------------------

# failover carrier|silent: seconds from the fault to the last new socket
# that still got the dead uplink's mark, with watch's defaults (probe the
# gateway every 1 s, 1 s timeout, down after 3).
failover() {
	local kind=$1 t0 watch marks
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
		--no-masquerade
	"$MLB" watch --cgroup "$CG" 2>/dev/null &
	watch=$!
	sleep 1.5
	in_cgroup "$CRR" marks --duration 7 --every 5 > "$RAW/marks" &
	marks=$!
	sleep 1
	t0=$(date +%s.%N)
	if [ "$kind" = carrier ]; then
		in_inet ip link set gw0 down
	else
		in_inet nft add table inet benchfault
		in_inet nft add chain inet benchfault in '{ type filter hook input priority -10; }'
		in_inet nft add rule inet benchfault in iifname gw0 drop
	fi
	wait "$marks" || true
	if [ "$kind" = carrier ]; then
		in_inet ip link set gw0 up
	else
		in_inet nft delete table inet benchfault
	fi
	kill "$watch"
	wait "$watch" 2>/dev/null || true
	"$MLB" detach --cgroup "$CG"
	awk -v t0="$t0" '$2 == "0x10" && $1 >= t0 { last = $1 }
		END { printf "%.3f\n", last ? last - t0 : 0 }' "$RAW/marks"
}
FAILOVER_ROUNDS=$((ROUNDS < 2 ? ROUNDS : 2))
for ((r = 1; r <= FAILOVER_ROUNDS; r++)); do
	printf '\rfailover time: round %d/%d ' "$r" "$FAILOVER_ROUNDS"
	failover carrier >> "$RAW/failover.carrier"
	failover silent >> "$RAW/failover.silent"
done
echo

# ---- report ---------------------------------------------------------

{
	echo "method,crr_rate,crr_ratio,cpu_us_per_conn,cpu_ratio,share_up1,udp_rate,udp_ratio,bulk_gbps,bulk_ratio,cpu_machine_us_per_conn,cpu_machine_ratio"
	for m in "${METHODS[@]}"; do
		echo "$m,$(median "$RAW/$m.crr_rate"),$(pratio "$m" crr_rate),$(median "$RAW/$m.cpu_us"),$(pratio "$m" cpu_us),$(median "$RAW/$m.share_up1"),$(median "$RAW/$m.udp_rate"),$(pratio "$m" udp_rate),$(median "$RAW/$m.bulk_gbps"),$(pratio "$m" bulk_gbps),$(median "$RAW/$m.cpu_machine_us"),$(pratio "$m" cpu_machine_us)"
	done
} > "$OUT/results.csv"

{
	for n in 2 4 8 16 64 2r; do
		echo "bpf_ns_per_socket,$n,$(median "$RAW/bpf_ns.$n")"
	done
	for n in 1 10 100; do
		echo "bpf_ns_per_socket_policies,$n,$(median "$RAW/policy_ns.$n")"
	done
} > "$OUT/bpf_cost.csv"

{
	echo "fault,failover_seconds"
	echo "carrier,$(median "$RAW/failover.carrier")"
	echo "silent,$(median "$RAW/failover.silent")"
} > "$OUT/failover.csv"

{
	echo "# mlb-bpf benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs;" \
		"$ROUNDS interleaved rounds of ${DURATION}s, $THREADS client threads;" \
		"medians; ratios to \"none\" are taken round by round (against the none of the same round), median over rounds." \
		"iptables: $(iptables -V)."
	echo
	echo "| method | conn/s | vs none | CPU µs/conn | vs none | machine CPU µs/conn | vs none | share up1 | UDP exch/s | vs none | bulk Gbit/s | vs none |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	tail -n +2 "$OUT/results.csv" | awk -F, '{
		m = $1
		if (m == "none-again") m = "none, again (the noise)"
		if (m == "mlb") m = "mlb-bpf (default, no NAT)"
		if (m == "mlb-one") m = "mlb-bpf, weights 1000:1 (all on up0)"
		if (m == "mlb-masq") m = "mlb-bpf --masquerade"
		printf "| %s | %.0f | %s | %.1f | %s | %.1f | %s | %s | %.0f | %s | %.2f | %s |\n",
			m, $2, $3, $4, $5, $11, $12, $6, $7, $8, $9, $10 }'
	echo
	echo "CPU µs/conn is the bed's own CPU time per connection: the client's and the servers' cgroups (the kernel's work for a packet runs in the sender's context, so the client namespace, the veths and the internet namespace are in it) and the ksoftirqd threads." \
		"Machine CPU is /proc/stat's busy time (steal left out) of the whole machine over the same interval: it also counts whatever else runs on the machine, so on a shared VM it is higher and noisier." \
		"\"none, again\" is \"none\" run a second time later in each round: its distance from 1.00 is what this bed cannot tell apart from noise." \
		"\"mlb-bpf, weights 1000:1\" runs the same program and rules with all but 0.1% of the sockets on up0: against \"none\" (everything on up0 too) it is the balancer's own cost; against the default row, the cost of spreading connections over two paths, which ECMP pays as well."
	echo
	echo "BPF program cost per socket (run_time_ns / run_cnt, kernel.bpf_stats_enabled=1, 20,000 sockets, median):"
	echo
	echo "| uplinks | ns per socket |"
	echo "|---|---|"
	awk -F, '$1 == "bpf_ns_per_socket" { n = $2; sub(/r$/, " (--record-sockets)", n)
		printf "| %s | %.1f |\n", n, $3 }' "$OUT/bpf_cost.csv"
	echo
	echo "The same with 1, 10 and 100 sibling policies (cgroups) sharing two uplinks, sockets made in one of them:"
	echo
	echo "| policies | ns per socket |"
	echo "|---|---|"
	awk -F, '$1 == "bpf_ns_per_socket_policies" { printf "| %s | %.1f |\n", $2, $3 }' "$OUT/bpf_cost.csv"
	echo
	echo "Balance accuracy over 10,000 sockets (largest deviation of an uplink from its weight's share):"
	echo
	echo "| weights | 1 thread | $THREADS threads |"
	echo "|---|---|---|"
	echo "| 1:1 | $(echo "$ACC_RR1" | awk '{ printf "%d sockets (%.3f%%)", $1, $2 }') | $(echo "$ACC_RR4" | awk '{ printf "%d sockets (%.3f%%)", $1, $2 }') |"
	echo "| 5:3:1 | $(echo "$ACC_W1" | awk '{ printf "%.1f sockets (%.3f%%)", $1, $2 }') | $(echo "$ACC_W4" | awk '{ printf "%.1f sockets (%.3f%%)", $1, $2 }') |"
	echo
	echo "mlb-bpf attach: $(median "$RAW/attach_ms") ms, detach: $(median "$RAW/detach_ms") ms (median, the default: no masquerade)."
	echo
	echo "Failover with \`mlb-bpf watch\` defaults (probe the gateway every 1 s, 1 s timeout, down after 3): from the fault to the last new socket that still got the dead uplink's mark (a socket every 5 ms), median of $FAILOVER_ROUNDS:"
	echo
	echo "| fault | failover | target |"
	echo "|---|---|---|"
	echo "| carrier loss (gateway's link down) | $(median "$RAW/failover.carrier") s | < 1 s |"
	echo "| silent loss (gateway drops everything) | $(median "$RAW/failover.silent") s | < 3 x interval + timeout = 4 s |"
	echo
	echo "Client namespace conntrack timeouts are 1 s (UDP, TCP close) so that no method with conntrack fills nf_conntrack_max; TCP clients close with RST (no TIME_WAIT)."
} > "$OUT/results.md"

if command -v gnuplot >/dev/null; then
	tail -n +2 "$OUT/results.csv" | awk -F, '{ print $1, $3, $5, $10 }' > "$RAW/plot.dat"
	gnuplot <<GP 2>/dev/null || true
set terminal pngcairo size 900,480
set output "$OUT/ratios.png"
set title "mlb-bpf benchmark: ratio to no balancing (median of $ROUNDS rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set key top left
set xtics rotate by -20
plot "$RAW/plot.dat" using 2:xtic(1) title "connection rate", \
     "" using 3 title "CPU per connection", \
     "" using 4 title "bulk throughput"
GP
fi

cat "$OUT/results.md"
