#!/bin/bash
# test_balance.sh - real TCP and UDP traffic from a test cgroup in a client
# namespace with two uplinks: connections leave by both uplinks in the
# configured shares, the server sees each uplink's own address, the LAN
# host is reached directly, traffic outside the cgroup is untouched,
# status --json counts it all, and detach restores everything.
#
# Run for: 1:1 with --masquerade, 3:1 with the default (no NAT), and 1:1
# under strict reverse-path filtering.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	[ -n "${SRV_TCP:-}" ] && bed_server_stop "$SRV_TCP"
	[ -n "${SRV_UDP:-}" ] && bed_server_stop "$SRV_UDP"
	[ -n "${SRV_LAN:-}" ] && bed_server_stop "$SRV_LAN"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

# peer_count REPORT ADDR: requests the server saw from ADDR.
peer_count() {
	awk -v a="$2" '$1 == a { print $2; found = 1 } END { if (!found) print 0 }' "$1"
}

# scenario NAME RP_FILTER W0 W1 [ATTACH OPTIONS...]
scenario() {
	local name=$1 rp=$2 w0=$3 w1=$4
	shift 4
	local tcp=400 udp=200 lan=40 outside=50 total
	local exp0_tcp=$((tcp * w0 / (w0 + w1))) exp1_tcp=$((tcp * w1 / (w0 + w1)))
	local exp0_udp=$((udp * w0 / (w0 + w1))) exp1_udp=$((udp * w1 / (w0 + w1)))

	BED_ID=mlbt$$${name:0:3}
	bed_create
	in_cli sysctl -qw net.ipv4.conf.all.rp_filter="$rp" \
		net.ipv4.conf.up0.rp_filter="$rp" net.ipv4.conf.up1.rp_filter="$rp"
	bed_counters_start
	SRV_TCP=$(bed_server_start "$WORK/tcp")
	SRV_UDP=$(bed_server_start "$WORK/udp" --udp 5001)
	SRV_LAN=$(bed_server_start "$WORK/lan" "" 5002 "$LAN_HOST")
	bed_snapshot > "$WORK/before"

	check "$name: attach succeeds" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--uplink "up0,weight=$w0" --uplink "up1,weight=$w1" "$@"

	in_cgroup "$CRR" client --connect "$SERVER:5000" --count $tcp \
		--report > "$WORK/cli_tcp"
	check "$name: $tcp TCP connections from the cgroup succeed" \
		grep -qx "failures 0" "$WORK/cli_tcp"
	check_eq "$name: TCP connections that left by up0" "$exp0_tcp" "$(bed_counter gw0_syn)"
	check_eq "$name: TCP connections that left by up1" "$exp1_tcp" "$(bed_counter gw1_syn)"

	in_cgroup "$CRR" client --udp --connect "$SERVER:5001" --count $udp \
		> "$WORK/cli_udp"
	check "$name: $udp UDP exchanges from the cgroup succeed" \
		grep -qx "failures 0" "$WORK/cli_udp"
	check_eq "$name: UDP datagrams that left by up0" "$exp0_udp" "$(bed_counter gw0_udp)"
	check_eq "$name: UDP datagrams that left by up1" "$exp1_udp" "$(bed_counter gw1_udp)"

	bed_counters_reset
	in_cgroup "$CRR" client --connect "$LAN_HOST:5002" --count $lan > "$WORK/cli_lan"
	check "$name: LAN host reached from the cgroup" grep -qx "failures 0" "$WORK/cli_lan"
	check_eq "$name: LAN connections all went out on its own subnet (up1)" \
		"$lan 0" "$(bed_counter gw1_syn) $(bed_counter gw0_syn)"

	bed_counters_reset
	in_cli "$CRR" client --connect "$SERVER:5000" --count $outside > "$WORK/cli_out"
	check "$name: connections from outside the cgroup succeed" \
		grep -qx "failures 0" "$WORK/cli_out"
	check_eq "$name: outside the cgroup everything uses the main default (up0)" \
		"$outside 0" "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"

	total=$((tcp + udp + lan))
	"$MLB" status --cgroup "$CG" --json > "$WORK/status.json"
	check_eq "$name: status --json counts every socket of the cgroup" \
		"$total" "$(jq '.attachments[0].sockets' "$WORK/status.json")"
	check_eq "$name: status --json per-uplink sockets" \
		"$((exp0_tcp + exp0_udp + lan * w0 / (w0 + w1))) $((exp1_tcp + exp1_udp + lan * w1 / (w0 + w1)))" \
		"$(jq -r '[.attachments[0].uplinks[].sockets] | join(" ")' "$WORK/status.json")"
	check "$name: status text shows both uplinks" \
		sh -c "'$MLB' status --cgroup '$CG' | grep -q '^  up1 '"

	check "$name: detach succeeds" "$MLB" detach --cgroup "$CG"
	bed_snapshot > "$WORK/after"
	check_same "$name: detach restored rules, routes, nftables, cgroup and pins" \
		"$WORK/before" "$WORK/after"

	bed_server_stop "$SRV_TCP"; bed_server_stop "$SRV_UDP"; bed_server_stop "$SRV_LAN"
	SRV_TCP= SRV_UDP= SRV_LAN=
	check_eq "$name: server saw up0's address" "$((exp0_tcp + outside))" \
		"$(peer_count "$WORK/tcp" "$UP0_ADDR")"
	check_eq "$name: server saw up1's address" "$exp1_tcp" \
		"$(peer_count "$WORK/tcp" "$UP1_ADDR")"
	check_eq "$name: UDP server saw both addresses" "$exp0_udp $exp1_udp" \
		"$(peer_count "$WORK/udp" "$UP0_ADDR") $(peer_count "$WORK/udp" "$UP1_ADDR")"
	check_eq "$name: LAN host saw up1's address" "$lan" \
		"$(peer_count "$WORK/lan" "$UP1_ADDR")"
	bed_destroy
	CG= CLI= INET=
}

scenario masq 2 1 1 --masquerade
scenario nomasq 2 3 1
scenario rpf 1 1 1
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
