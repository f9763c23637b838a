#!/bin/bash
# measure_lan.sh - what the LAN program (mlb_tc_lan) costs per packet,
# for two builds of mlb-bpf in interleaved rounds (e.g. this tree's and
# an older commit's, built into another directory).
#
#   make && make build/crr
#   MLB=build/mlb-bpf OTHER=/tmp/old/mlb-bpf CRR=build/crr \
#        bash scripts/measure_lan.sh [ROUNDS]
#
# The bed of tests/e2e/test_lan.sh, reduced: three uplinks, a LAN client
# namespace behind lan0 of the bed's client namespace (the router),
# attached 1:1:1 with --lan lan0.  Per round and build: CONNS TCP
# connect/request/response transactions from the LAN client (crr, the
# client closes; CRR_ARGS=--rst: by a reset, as bench/forward.sh does), CONNS UDP exchanges (a new flow each), then
# BULK_SECONDS of iperf3 upload.  ns per packet from the kernel
# (kernel.bpf_stats_enabled, run_time_ns / run_cnt of the pinned
# prog_tc_lan, restored after).  Needs root; prints a line per round.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/bed.sh
ROUNDS=${1:-3}
CONNS=${CONNS:-3000}
BULK_SECONDS=${BULK_SECONDS:-5}
WORK=$(mktemp -d)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	"$MLB" detach --cgroup "$CG" > /dev/null 2>&1
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	netns_destroy "$BED_ID-lan"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create 3
LANNS=$BED_ID-lan
lan_client_create "$CLI" "$LANNS"
in_ns "$LANNS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_cli sysctl -qw net.ipv4.ip_forward=1
in_cli sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
	net.netfilter.nf_conntrack_udp_timeout=1 2>/dev/null
SRV="$(bed_server_start "$WORK/srv") $(bed_server_start "$WORK/udp" --udp 5001)"
nsenter --net="/run/netns/$INET" iperf3 -s -B "$SERVER" -p 5201 > /dev/null 2>&1 &
SRV="$SRV $!"
run() { nsenter --net="/run/netns/$LANNS" "$@"; }
sysctl -qw kernel.bpf_stats_enabled=1

prog_stats() {
	bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$CG")/prog_tc_lan" -j |
		jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}
# per_packet T0 N0 T1 N1 [CONNS]: "NS_PER_PACKET [PACKETS_PER_FLOW]"
per_packet() {
	awk -v t="$(($3 - $1))" -v n="$(($4 - $2))" -v c="${5:-0}" \
		'BEGIN { printf "%.1f", n ? t / n : 0; if (c) printf " %.1f", n / c }'
}

# measure NAME BINARY: one round of one build, a line of figures
measure() {
	local name=$1 bin=$2 t0 n0 t1 n1 t2 n2 t3 n3 gbps
	"$bin" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
		--uplink up2 --lan lan0 > /dev/null || exit 1
	read -r t0 n0 <<< "$(prog_stats)"
	run "$CRR" client --connect "$SERVER:5000" --count "$CONNS" --timeout 5 \
		${CRR_ARGS:-} > /dev/null
	sleep 1
	read -r t1 n1 <<< "$(prog_stats)"
	run "$CRR" client --udp --connect "$SERVER:5001" --count "$CONNS" --timeout 5 > /dev/null
	read -r t2 n2 <<< "$(prog_stats)"
	run iperf3 -c "$SERVER" -p 5201 -t "$BULK_SECONDS" -J > "$WORK/iperf" 2>/dev/null
	read -r t3 n3 <<< "$(prog_stats)"
	gbps=$(jq '.end.sum_received.bits_per_second / 1e9' "$WORK/iperf")
	printf '%-6s %s | %s | %s %.2f\n' "$name" \
		"$(per_packet "$t0" "$n0" "$t1" "$n1" "$CONNS")" \
		"$(per_packet "$t1" "$n1" "$t2" "$n2" "$CONNS")" \
		"$(per_packet "$t2" "$n2" "$t3" "$n3")" "$gbps"
	"$bin" detach --cgroup "$CG" > /dev/null
}

echo "build  TCP connect/close: ns/pkt pkt/conn | UDP exchange: ns/pkt pkt/flow | bulk: ns/pkt Gbit/s"
for ((r = 0; r < ROUNDS; r++)); do
	if ((r % 2)); then
		measure other "$OTHER"
		measure this "$MLB"
	else
		measure this "$MLB"
		measure other "$OTHER"
	fi
done
