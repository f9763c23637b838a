#!/bin/bash
# bench/forward.sh - forwarded traffic: mlb-bpf on a router that balances
# its LAN's clients, against what a router would use instead, side by side
# on a namespace bed of its own.
#
#   bench/forward.sh [--rounds N] [--duration S] [--threads T] [--quick]
#
#   lan ns  eth0 10.77.0.2  ---  lan0 10.77.0.1   router ns
#                                r1 192.0.2.2     ---  d1 192.0.2.1     gw1 ns --- inet ns
#                                r2 198.51.100.2  ---  d2 198.51.100.1  gw2 ns --- (server
#                                                                      203.0.113.10 on lo)
#
# The LAN's addresses are private, so every method masquerades on the
# router (conntrack is on for all of them).  Methods, set up from scratch
# in the router namespace and run interleaved round after round, the
# order reversed every other round:
#   none      forwarding by the main table (default via r1), one
#             masquerade rule
#   nftables  the usual recipe for forwarded traffic: in prerouting, a
#             flow with a ct mark gets it back, a new one gets mark 1 or
#             2 by numgen inc mod 2 and saves it in ct mark; fwmark rules
#             and a table per uplink; masquerade per uplink
#   ecmp      multipath default route, fib_multipath_hash_policy=1 (L4),
#             masquerade per uplink
#   mlb       mlb-bpf attach --lan lan0 (its program on lan0's ingress
#             marks new forwarded flows; masquerade is its own); "n/a"
#             when this mlb-bpf has no --lan
#
# Measures per method: forwarded connect/request/response rate (crr from
# the LAN namespace), CPU time per forwarded connection (the bed's own:
# the LAN client's and the servers' cgroups and ksoftirqd, as run.sh;
# and the whole machine's busy time), the share of connections on r1,
# iperf3 bulk throughput; for mlb-bpf also its LAN program's ns per
# packet (kernel.bpf_stats_enabled=1).  Medians over rounds; ratios to
# "none" round by round, median over rounds.  Results: bench/results/forward.csv, and a
# "Forwarded traffic" section of bench/results/results.md (replaced if
# there, so run.sh and this script can run in either order).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
bench_options forward "$@"

MLB=${MLB:-$ROOT/build/mlb-bpf}
CRR=${CRR:-$ROOT/build/crr}
METHODS=(none nftables ecmp mlb)
OUT=$ROOT/bench/results
mkdir -p "$OUT"

ID=mlbfwd$$
LAN=$ID-lan
RT=$ID-rt
GWA=$ID-gw1
GWB=$ID-gw2
INET=$ID-inet
NSS=("$LAN" "$RT" "$GWA" "$GWB" "$INET")
SERVER=203.0.113.10
GW1=192.0.2.1
GW2=198.51.100.1
# $CG is what mlb-bpf attaches to (its sockets are not the bench's
# concern here); the LAN client and the servers have cgroups of their own
# so that their CPU time can be read.
CGROOT=$(cgroup2_mount)
CG=$CGROOT/$ID
CLI_CG=$CGROOT/$ID-lan
SRV_CG=$CGROOT/$ID-srv
RAW=$(mktemp -d)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
PIDS=()

in_rt() { in_ns "$RT" "$@"; }

cleanup() {
	local p
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -d "$CG" ]; then
		"$MLB" detach --cgroup "$CG" >/dev/null 2>&1 || true
	fi
	netns_destroy "${NSS[@]}"
	cgroup_remove "$CG" "$CLI_CG" "$SRV_CG"
	rm -rf "$RAW"
}
trap cleanup EXIT

# ---- the bed --------------------------------------------------------

bed_up() {
	local ns
	netns_create "${NSS[@]}"
	for ns in "$RT" "$GWA" "$GWB"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
	done
	lan_link_create "$RT" "$LAN"
	veth_pair "$RT" r1 192.0.2.2/24 "$GWA" d1 192.0.2.1/24
	veth_pair "$RT" r2 198.51.100.2/24 "$GWB" d2 198.51.100.1/24
	veth_pair "$GWA" u1 10.201.0.1/30 "$INET" i1 10.201.0.2/30
	veth_pair "$GWB" u2 10.202.0.1/30 "$INET" i2 10.202.0.2/30
	# the router's main table: r1 carries everything until balanced
	ip -n "$RT" route add default via "$GW1" dev r1 metric 100
	ip -n "$RT" route add default via "$GW2" dev r2 metric 200
	ip -n "$GWA" route add default via 10.201.0.2
	ip -n "$GWB" route add default via 10.202.0.2
	ip -n "$INET" addr add "$SERVER/32" dev lo
	ip -n "$INET" route add 192.0.2.0/24 via 10.201.0.1
	ip -n "$INET" route add 198.51.100.0/24 via 10.202.0.1
	in_ns "$LAN" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	# Short conntrack timeouts on the router, as run.sh has in its client
	# namespace: tens of thousands of flows a second would otherwise fill
	# nf_conntrack_max for every method (all of them masquerade here).
	in_rt sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 \
		net.netfilter.nf_conntrack_udp_timeout_stream=1 \
		net.netfilter.nf_conntrack_tcp_timeout_close=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 2>/dev/null || true
	# new connections per uplink, counted where the gateways hand them on
	in_ns "$INET" nft -f - <<'NFT'
table inet fwdbench {
	counter r1_syn {}
	counter r2_syn {}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "i1" tcp flags & (syn | ack) == syn counter name r1_syn
		iifname "i2" tcp flags & (syn | ack) == syn counter name r2_syn
	}
}
NFT
	mkdir "$CG" "$CLI_CG" "$SRV_CG"
}

# in_lan CMD...: run in the LAN namespace as a member of $CLI_CG.
in_lan() { in_cgroup_ns "$CLI_CG" "$LAN" "$@"; }

syn_count() { nft_counter "$INET" fwdbench "$1"; }

# ---- methods --------------------------------------------------------

setup_none() {
	in_rt nft -f - <<'NFT'
table ip fwdnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r1" masquerade
	}
}
NFT
}
teardown_none() { in_rt nft delete table ip fwdnat; }

setup_nftables() {
	in_rt ip rule add fwmark 1 table 201 prio 31000
	in_rt ip rule add fwmark 2 table 202 prio 31000
	in_rt ip route add 192.0.2.0/24 dev r1 table 201
	in_rt ip route add default via "$GW1" dev r1 table 201
	in_rt ip route add 198.51.100.0/24 dev r2 table 202
	in_rt ip route add default via "$GW2" dev r2 table 202
	in_rt nft -f - <<'NFT'
table ip fwdlb {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname != "lan0" accept
		ct mark != 0 meta mark set ct mark accept
		meta mark set numgen inc mod 2 map { 0 : 1, 1 : 2 }
		ct mark set meta mark
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r1" masquerade
		oifname "r2" masquerade
	}
}
NFT
}
teardown_nftables() {
	in_rt nft delete table ip fwdlb
	in_rt ip rule del fwmark 1 table 201 prio 31000
	in_rt ip rule del fwmark 2 table 202 prio 31000
	in_rt ip route flush table 201
	in_rt ip route flush table 202
}

setup_ecmp() {
	in_rt sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	in_rt ip route add default metric 50 \
		nexthop via "$GW1" dev r1 nexthop via "$GW2" dev r2
	in_rt nft -f - <<'NFT'
table ip fwdnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r1" masquerade
		oifname "r2" masquerade
	}
}
NFT
}
teardown_ecmp() {
	in_rt nft delete table ip fwdnat
	in_rt ip route del default metric 50
	in_rt sysctl -qw net.ipv4.fib_multipath_hash_policy=0
}

setup_mlb() {
	"$MLB" attach --netns "$RT" --cgroup "$CG" --uplink r1 --uplink r2 \
		--lan lan0
}
teardown_mlb() { "$MLB" detach --cgroup "$CG"; }

# The id of the program on lan0's ingress in the router namespace: the
# one of this bed's attachment, not another of the same name elsewhere on
# the machine.  mlb-bpf pins it beside the attachment's other pins (by
# cgroup id, the cgroup directory's inode); failing that, bpftool net
# lists it (bpftool 7.3 and later also list tcx links).
lan_prog_id() {
	local pin
	pin=/sys/fs/bpf/mlb/$(stat -c %i "$CG")/prog_tc_lan
	if [ -e "$pin" ]; then
		bpftool prog show pinned "$pin" -j 2>/dev/null | jq -r '.id // empty'
		return
	fi
	in_rt bpftool net show dev lan0 -j 2>/dev/null |
		jq -r '[.[].tc[]? | select(.kind | test("ingress"))][0].prog_id // empty'
}

# prog_stats ID: "run_time_ns run_cnt"
prog_stats() {
	bpftool prog show id "$1" -j 2>/dev/null |
		jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# ---- measurements ---------------------------------------------------

record() { echo "$3" >> "$RAW/$1.$2"; }

measure_crr() {
	local m=$1 b0 b1 c0 c1 n s1 s2
	in_ns "$INET" nft reset counters table inet fwdbench >/dev/null
	b0=$(busy_jiffies)
	c0=$(cgroups_cpu_us "$CLI_CG" "$SRV_CG")
	in_lan "$CRR" client --connect "$SERVER:5000" \
		--duration "$DURATION" --threads "$THREADS" --rst \
		> "$RAW/out" || true
	c1=$(cgroups_cpu_us "$CLI_CG" "$SRV_CG")
	b1=$(busy_jiffies)
	n=$(awk '$1 == "transactions" { print $2 }' "$RAW/out")
	record "$m" crr_rate "$(awk '$1 == "rate" { print $2 }' "$RAW/out")"
	record "$m" cpu_us "$(awk -v c="$((c1 - c0))" -v n="$n" \
		'BEGIN { printf "%.2f", n ? c / n : 0 }')"
	record "$m" cpu_machine_us "$(awk -v b="$((b1 - b0))" -v n="$n" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", n ? b * 1e6 / hz / n : 0 }')"
	s1=$(syn_count r1_syn)
	s2=$(syn_count r2_syn)
	record "$m" share_r1 "$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.3f", a + b ? a / (a + b) : 0 }')"
}

BULK_SECONDS=$(awk -v d="$DURATION" 'BEGIN { s = int(d); if (s < d) s++; if (s < 1) s = 1; print s }')
measure_bulk() {
	in_lan timeout $((BULK_SECONDS + 10)) iperf3 -c "$SERVER" \
		-p 5201 -P 4 -t "$BULK_SECONDS" -J \
		> "$RAW/iperf.json" 2>/dev/null || true
	record "$1" bulk_gbps "$(jq '.end.sum_received.bits_per_second / 1e9' \
		"$RAW/iperf.json" 2>/dev/null || echo 0)"
}

# ---- run ------------------------------------------------------------

HAVE_LAN=1
if ! "$MLB" attach --help 2>&1 | grep -q -- '--lan'; then
	HAVE_LAN=0
	METHODS=(none nftables ecmp)
fi
echo "forward: $ROUNDS rounds x ${DURATION}s, $THREADS client threads, methods: ${METHODS[*]}"
bed_up
in_ns "$INET" "$CRR" server --listen "$SERVER:5000" --threads "$THREADS" \
	> "$RAW/srv.ready" &
PIDS+=($!)
in_ns "$INET" iperf3 -s -B "$SERVER" -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
for p in "${PIDS[@]}"; do echo "$p" > "$SRV_CG/cgroup.procs"; done
for _ in $(seq 50); do
	grep -q ready "$RAW/srv.ready" 2>/dev/null && break
	sleep 0.1
done
sysctl -qw kernel.bpf_stats_enabled=1

for ((r = 1; r <= ROUNDS; r++)); do
	for m in $(round_order "$r" "${METHODS[@]}"); do
		printf '\rround %d/%d: %-10s' "$r" "$ROUNDS" "$m"
		"setup_$m" >/dev/null
		id='' st0=''
		if [ "$m" = mlb ]; then
			id=$(lan_prog_id)
			[ -n "$id" ] && st0=$(prog_stats "$id")
		fi
		measure_crr "$m"
		measure_bulk "$m"
		if [ -n "$id" ] && [ -n "$st0" ]; then
			read -r t1 c1 <<< "$(prog_stats "$id")"
			read -r t0 c0 <<< "$st0"
			[ "$c1" -gt "$c0" ] && awk -v t=$((t1 - t0)) -v c=$((c1 - c0)) \
				'BEGIN { printf "%.1f\n", t / c }' >> "$RAW/mlb.bpf_ns"
		fi
		"teardown_$m" >/dev/null
	done
done
echo
sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"

# ---- report ---------------------------------------------------------

{
	echo "method,crr_rate,crr_ratio,cpu_us_per_conn,cpu_ratio,share_r1,bulk_gbps,bulk_ratio,bpf_ns_per_packet,cpu_machine_us_per_conn,cpu_machine_ratio"
	for m in none nftables ecmp mlb; do
		if [ "$m" = mlb ] && [ "$HAVE_LAN" = 0 ]; then
			echo "mlb,n/a,,,,,,,,,"
			continue
		fi
		b=
		[ "$m" = mlb ] && b=$(median "$RAW/mlb.bpf_ns")
		echo "$m,$(median "$RAW/$m.crr_rate"),$(pratio "$m" crr_rate),$(median "$RAW/$m.cpu_us"),$(pratio "$m" cpu_us),$(median "$RAW/$m.share_r1"),$(median "$RAW/$m.bulk_gbps"),$(pratio "$m" bulk_gbps),$b,$(median "$RAW/$m.cpu_machine_us"),$(pratio "$m" cpu_machine_us)"
	done
} > "$OUT/forward.csv"

section() {
	echo "## Forwarded traffic"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), bench/forward.sh: a LAN client namespace (10.77.0.0/24) -> the router -> two gateway namespaces -> the servers; every method masquerades on the router." \
		"$ROUNDS interleaved rounds of ${DURATION}s, $THREADS client threads; medians; ratios to \"none\" round by round, median over rounds." \
		"CPU µs/conn is the bed's own CPU time per forwarded connection (the LAN client's and the servers' cgroups, which the router's and the gateways' forwarding runs in, and ksoftirqd); machine CPU is the whole machine's busy time, as in the table above."
	echo
	echo "| method | conn/s | vs none | CPU µs/conn | vs none | machine CPU µs/conn | vs none | share r1 | bulk Gbit/s | vs none | BPF ns/packet |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	tail -n +2 "$OUT/forward.csv" | awk -F, '{
		m = $1
		if (m == "none") m = "none (main table, one masquerade rule)"
		if (m == "nftables") m = "nftables (numgen, ct mark, fwmark rules)"
		if (m == "ecmp") m = "ecmp (multipath, L4 hash)"
		if (m == "mlb") m = "mlb-bpf --lan"
		if ($2 == "n/a") { printf "| %s | n/a (no --lan) | | | | | | | | | |\n", m; next }
		printf "| %s | %.0f | %s | %.1f | %s | %.1f | %s | %s | %.2f | %s | %s |\n",
			m, $2, $3, $4, $5, $10, $11, $6, $7, $8, ($9 == "" || $9 == "nan" ? "" : sprintf("%.1f", $9)) }'
	echo
	echo "Goals: mlb-bpf's CPU per connection (vs none) at most the nftables recipe's minus 0.05; bulk at least 0.98 of none."
}

# Replace the section in results.md (or add it): everything from its
# heading to the next heading of the same level or the end.
if [ -f "$OUT/results.md" ]; then
	awk '/^## Forwarded traffic$/ { skip = 1; next }
		skip && /^## / { skip = 0 }
		!skip' "$OUT/results.md" > "$RAW/results.md"
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$RAW/results.md"
else
	echo "# mlb-bpf benchmark" > "$RAW/results.md"
fi
{ cat "$RAW/results.md"; echo; section; } > "$OUT/results.md"
section
