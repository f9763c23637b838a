#!/bin/bash
# measure_containers.sh - what the container program (mlb_tc_container)
# costs per packet, and what becomes of a flow's last packets, with its
# flow map (the product) and with a socket lookup on every packet (the
# comparison build MLB_TC_LOOKUP_EVERY_PACKET), in interleaved rounds.
#
#   make && make BUILD=build/every BPF_DEFS=-DMLB_TC_LOOKUP_EVERY_PACKET \
#        build/every/mlb-bpf && make build/crr
#   MLB=build/mlb-bpf EVERY=build/every/mlb-bpf CRR=build/crr \
#        bash scripts/measure_containers.sh [ROUNDS]
#
# The bed of tests/e2e/test_containers.sh, reduced: three uplinks,
# gateways that drop other sources, a container c1 on a bridge with
# Docker's masquerade, attached 1:1:1.  Per round and build: CONNS
# connect/request/response transactions from the container (crr) to a
# server that closes first, CONNS to one that waits for the client to
# close (crr server --echo: the client's last ACK is sent from
# TIME_WAIT), then BULK_SECONDS of iperf3 upload.  The program's ns per packet comes from the kernel
# (kernel.bpf_stats_enabled, run_time_ns / run_cnt, restored after);
# "spoofed" counts the container's packets that reached a gateway with
# another uplink's source (dropped there).  Needs root; prints a table.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/bed.sh
ROUNDS=${1:-3}
CONNS=${CONNS:-2000}
BULK_SECONDS=${BULK_SECONDS:-5}
WORK=$(mktemp -d)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	netns_destroy "$BED_ID-c1"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create 3
bed_strict_gateways 3
SRV="$(bed_server_start "$WORK/srv") $(bed_server_start "$WORK/echo" --echo 5003)"
nsenter --net="/run/netns/$INET" iperf3 -s -B "$SERVER" -p 5201 > /dev/null 2>&1 &
SRV="$SRV $!"
in_cli sysctl -qw net.ipv4.ip_forward=1
ip -n "$CLI" link add docker0 type bridge
ip -n "$CLI" addr add 172.17.0.1/16 dev docker0
ip -n "$CLI" link set docker0 up
in_cli nft add table ip mlbdocker
in_cli nft add chain ip mlbdocker post '{ type nat hook postrouting priority srcnat; }'
in_cli nft add rule ip mlbdocker post ip saddr 172.17.0.0/16 oifname != docker0 masquerade
netns_create "$BED_ID-c1"
veth_pair "$CLI" veth-c1 "" "$BED_ID-c1" eth0 172.17.0.2/16
ip -n "$CLI" link set veth-c1 master docker0
ip -n "$BED_ID-c1" route add default via 172.17.0.1
C1=$CG/c1
mkdir "$C1"
run() { in_cgroup_ns "$C1" "$BED_ID-c1" "$@"; }
sysctl -qw kernel.bpf_stats_enabled=1

# prog_stats: "RUN_TIME_NS RUN_CNT" of the attachment's container program
prog_stats() {
	bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$CG")/prog_tc_container" -j |
		jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}
spoofed() { bed_spoofed 3 | awk '{ print $1 + $2 + $3 }'; }

# crr_round PORT: "NS_PER_PACKET PACKETS_PER_CONNECTION SPOOFED FAILED"
crr_round() {
	local t0 n0 t1 n1
	bed_spoofed_reset
	read -r t0 n0 <<< "$(prog_stats)"
	run "$CRR" client --connect "$SERVER:$1" --count "$CONNS" --timeout 5 > "$WORK/crr"
	sleep 2		# the last ACKs and any retransmitted FIN
	read -r t1 n1 <<< "$(prog_stats)"
	printf '%.1f %.2f %s %s' "$(echo "($t1 - $t0) / ($n1 - $n0)" | bc -l)" \
		"$(echo "($n1 - $n0) / $CONNS" | bc -l)" "$(spoofed)" \
		"$(awk '$1 == "failures" { print $2 }' "$WORK/crr")"
}

# measure NAME BINARY: one round of one build, a line of figures
measure() {
	local name=$1 bin=$2 t1 n1 t2 n2 srv cli gbps
	"$bin" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
		--uplink up2 > /dev/null || exit 1
	srv=$(crr_round 5000)
	cli=$(crr_round 5003)
	read -r t1 n1 <<< "$(prog_stats)"
	run iperf3 -c "$SERVER" -p 5201 -t "$BULK_SECONDS" -J > "$WORK/iperf" 2>/dev/null
	read -r t2 n2 <<< "$(prog_stats)"
	gbps=$(jq '.end.sum_received.bits_per_second / 1e9' "$WORK/iperf")
	printf '%-6s %s | %s | %.1f %.2f\n' "$name" "$srv" "$cli" \
		"$(echo "($t2 - $t1) / ($n2 - $n1)" | bc -l)" "$gbps"
	"$bin" detach --cgroup "$CG" > /dev/null
}

echo "build  server closes: ns/pkt pkt/conn spoofed failed |" \
	"client closes: ns/pkt pkt/conn spoofed failed | bulk: ns/pkt Gbit/s"
for ((r = 0; r < ROUNDS; r++)); do
	measure flows "$MLB"
	measure every "$EVERY"
done
