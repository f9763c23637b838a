# bed.sh - a two-uplink test bed in network namespaces, sourced by the
# end-to-end tests, the demo and the benchmark.
#
#   client ns  up0 192.0.2.2/24      ---veth---  gw0 192.0.2.1/24     internet ns
#                  2001:db8:0:1::2/64                2001:db8:0:1::1/64
#              up1 198.51.100.2/24   ---veth---  gw1 198.51.100.1/24  (gateways,
#                  2001:db8:0:2::2/64                2001:db8:0:2::1/64
#                                                     198.51.100.50/24 LAN host,
#                                                203.0.113.10/32 and
#                                                2001:db8:ff::10/128 server on lo)
#
# The client's main table has a default route of each family via each
# uplink (metric 100 via up0, 200 via up1), so up0 carries everything until
# mlb-bpf balances.  Uplinks past the second (bed_create 3) have IPv4 only.
# IPv6 addresses skip duplicate address detection (nodad, accept_dad=0 in
# the bed's namespaces), so they are usable at once, and survive a link
# going down (keep_addr_on_down), as IPv4 ones do.  The bed also makes a
# child cgroup for the balanced processes.  Every name carries the bed's
# id; bed_destroy removes all of it.  The pieces are netns.sh's.

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

SERVER=203.0.113.10
LAN_HOST=198.51.100.50
UP0_ADDR=192.0.2.2
UP1_ADDR=198.51.100.2
GW0=192.0.2.1
GW1=198.51.100.1
SERVER6=2001:db8:ff::10
UP0_ADDR6=2001:db8:0:1::2
UP1_ADDR6=2001:db8:0:2::2
GW0_6=2001:db8:0:1::1
GW1_6=2001:db8:0:2::1

bed_cgroup_mount() { cgroup2_mount; }

# bed_create [NUPLINKS]: namespaces $CLI and $INET, cgroup $CG.
bed_create() {
	local n=${1:-2} i
	BED_ID=${BED_ID:-mlbt$$}
	CLI=$BED_ID-cli
	INET=$BED_ID-inet
	netns_create "$CLI" "$INET"
	for ((i = 0; i < n; i++)); do
		veth_pair "$CLI" "up$i" "" "$INET" "gw$i" ""
	done
	ip -n "$CLI" addr add "$UP0_ADDR/24" dev up0
	ip -n "$INET" addr add "$GW0/24" dev gw0
	ip -n "$CLI" addr add "$UP1_ADDR/24" dev up1
	ip -n "$INET" addr add "$GW1/24" dev gw1
	ip -n "$INET" addr add "$LAN_HOST/24" dev gw1
	for ((i = 2; i < n; i++)); do
		ip -n "$CLI" addr add "10.$((100 + i)).0.2/24" dev "up$i"
		ip -n "$INET" addr add "10.$((100 + i)).0.1/24" dev "gw$i"
	done
	ip -n "$CLI" addr add "$UP0_ADDR6/64" dev up0 nodad
	ip -n "$INET" addr add "$GW0_6/64" dev gw0 nodad
	ip -n "$CLI" addr add "$UP1_ADDR6/64" dev up1 nodad
	ip -n "$INET" addr add "$GW1_6/64" dev gw1 nodad
	ip -n "$INET" addr add "$SERVER/32" dev lo
	ip -n "$INET" addr add "$SERVER6/128" dev lo
	ip -n "$CLI" route add default via "$GW0" dev up0 metric 100
	ip -n "$CLI" route add default via "$GW1" dev up1 metric 200
	ip -n "$CLI" -6 route add default via "$GW0_6" dev up0 metric 100
	ip -n "$CLI" -6 route add default via "$GW1_6" dev up1 metric 200
	for ((i = 2; i < n; i++)); do
		ip -n "$CLI" route add default via "10.$((100 + i)).0.1" \
			dev "up$i" metric $((100 * (i + 1)))
	done
	BED_HOST_BEFORE=$(bed_host_ours)
	BED_CGROOT=$(bed_cgroup_mount)
	CG=$BED_CGROOT/$BED_ID
	mkdir "$CG"
}

# Kill what runs in the cgroup and its children, detach each, remove
# them (deepest first) and the namespaces.  Safe under `set -e`: every step
# may find its object already gone.
bed_destroy() {
	local pid cg
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		for cg in $(find "$CG" -type d | sort -r); do
			"${MLB:-mlb-bpf}" detach --cgroup "$cg" >/dev/null 2>&1 || true
			for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
				kill -9 "$pid" 2>/dev/null || true
			done
			cgroup_remove "$cg"
		done
	fi
	[ -z "${CLI:-}" ] || netns_destroy "$CLI"
	[ -z "${INET:-}" ] || netns_destroy "$INET"
	return 0
}

# in_cli CMD..., in_inet CMD...: run in the client or internet namespace.
in_cli() { in_ns "$CLI" "$@"; }
in_inet() { in_ns "$INET" "$@"; }

# in_cgroup CMD...: run in the client namespace as a member of $CG.
in_cgroup() { in_cgroup_ns "$CG" "$CLI" "$@"; }

# Count packets per gateway interface in the internet namespace: new TCP
# connections (SYN) and UDP datagrams to the test ports.
bed_counters_start() {
	in_inet nft -f - <<NFT
table inet mlbtest {
	counter gw0_syn {}
	counter gw1_syn {}
	counter gw0_udp {}
	counter gw1_udp {}
	counter gw0_icmp {}
	counter gw1_icmp {}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "gw0" tcp flags & (syn | ack) == syn counter name gw0_syn
		iifname "gw1" tcp flags & (syn | ack) == syn counter name gw1_syn
		iifname "gw0" udp dport 5001 counter name gw0_udp
		iifname "gw1" udp dport 5001 counter name gw1_udp
		iifname "gw0" ip daddr $SERVER icmp type echo-request counter name gw0_icmp
		iifname "gw1" ip daddr $SERVER icmp type echo-request counter name gw1_icmp
	}
}
NFT
}

# bed_strict_gateways [NUPLINKS]: the gateways accept only their own
# uplink's source addresses, as ISPs do.  IPv4 drops by rp_filter=1 (nft
# only counts); IPv6 has none, so nft drops (link-local and the
# unspecified address stay allowed, for neighbour discovery).  What a
# gateway saw with another source is counted in spoof_gwI.
bed_strict_gateways() {
	local n=${1:-2} i net4 net6 rules= counters=
	in_inet sysctl -qw net.ipv4.conf.all.rp_filter=1
	for ((i = 0; i < n; i++)); do
		in_inet sysctl -qw "net.ipv4.conf.gw$i.rp_filter=1"
		case $i in
		0) net4=192.0.2.0/24 net6="2001:db8:0:1::/64, " ;;
		1) net4=198.51.100.0/24 net6="2001:db8:0:2::/64, " ;;
		*) net4=10.$((100 + i)).0.0/24 net6= ;;
		esac
		counters+="counter spoof_gw$i {}"$'\n'
		rules+="iifname \"gw$i\" ip saddr != $net4 counter name spoof_gw$i"$'\n'
		rules+="iifname \"gw$i\" ip6 saddr != { $net6 fe80::/10, ::/128 } counter name spoof_gw$i drop"$'\n'
	done
	in_inet nft -f - <<NFT
table inet mlbstrict {
	$counters
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		$rules
	}
}
NFT
}

# bed_spoofed [NUPLINKS]: "N0 N1 ... " packets each gateway saw with
# another uplink's source address since the last bed_spoofed_reset.
bed_spoofed() {
	local n=${1:-2} i names=()
	for ((i = 0; i < n; i++)); do names+=("spoof_gw$i"); done
	nft_counters "$INET" mlbstrict "${names[@]}"
}

bed_spoofed_reset() {
	in_inet nft reset counters table inet mlbstrict >/dev/null
}

bed_counter() { nft_counter "$INET" mlbtest "$1"; }

# bed_flow_counters TABLE [NUPLINKS]: an inet table TABLE in the internet
# namespace counting, per gateway, new TCP connections (syn_gwI) and UDP
# datagrams to port 5001 (udp_gwI), for beds of more than two uplinks;
# read with nft_counter(s) "$INET" TABLE NAME...
bed_flow_counters() {
	local table=$1 n=${2:-3} i counters= rules=
	for ((i = 0; i < n; i++)); do
		counters+="counter syn_gw$i {}"$'\n'"counter udp_gw$i {}"$'\n'
		rules+="iifname \"gw$i\" tcp flags & (syn | ack) == syn counter name syn_gw$i"$'\n'
		rules+="iifname \"gw$i\" udp dport 5001 counter name udp_gw$i"$'\n'
	done
	in_inet nft -f - <<NFT
table inet $table {
	$counters
	chain in {
		type filter hook input priority filter; policy accept;
		$rules
	}
}
NFT
}

bed_counters_reset() {
	in_inet nft reset counters table inet mlbtest >/dev/null
}

# Start a crr server on $SERVER (and the LAN host) in the internet
# namespace; its per-source counts go to $1 on exit.
bed_server_start() {
	local report=$1 proto=${2:-} port=${3:-5000} addr=${4:-$SERVER}
	# nsenter itself (not a shell function) in the background, so $! is
	# the server: nsenter execs it.
	nsenter --net="/run/netns/$INET" "$CRR" server --listen "$addr:$port" \
		$proto --report "$report" > "$report.ready" &
	local pid=$!
	for _ in $(seq 50); do
		grep -q ready "$report.ready" 2>/dev/null && break
		sleep 0.1
	done
	echo "$pid"
}

# The server is not this shell's child (it was started inside $(...)), so
# wait by polling until it has written its report and gone.
bed_server_stop() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null || true
	return 0
}

# Everything a detach must restore, in one text.  IPv6 routes the kernel
# keeps by itself are left out (link-local fe80::/64 and the local table's
# local, multicast and anycast routes come and go as links flap); mlb-bpf
# never adds any of those, so every route of its own is still compared.
bed_snapshot() {
	ip -n "$CLI" rule show
	ip -n "$CLI" -6 rule show
	ip -n "$CLI" -4 route show table all
	ip -n "$CLI" -6 route show table all |
		grep -vE '^(local|multicast|anycast) |^fe80::/64 .*proto kernel'
	ip netns exec "$CLI" nft list ruleset
	# programs and pins of the bed's cgroups only: other beds may run
	local cg
	for cg in $(find "$CG" -type d | sort); do
		echo "cgroup $cg"
		bpftool cgroup show "$cg"
		ls -a "/sys/fs/bpf/mlb/$(stat -c %i "$cg")" 2>/dev/null
	done
}

# What of mlb-bpf's kind the namespace the tests run in (the machine's
# own) holds: rules and routes of protocol 77 and mlb_bpf_* nftables
# tables.  The bed's routing lives in $CLI only, so this must not change
# while a test runs; if it does, some command changed routing in the
# wrong namespace.  bed_create records it; bed_host_untouched compares.
bed_host_ours() {
	{ ip rule show; ip -6 rule show; ip route show table all
	  ip -6 route show table all; } | grep -w 'proto 77'
	nft list tables 2>/dev/null | grep -w 'mlb_bpf_[0-9]*'
	return 0
}

bed_host_untouched() {
	local now
	now=$(bed_host_ours)
	[ "$now" = "$BED_HOST_BEFORE" ] && return 0
	diff <(echo "$BED_HOST_BEFORE") <(echo "$now") | sed 's/^/#   /'
	return 1
}
