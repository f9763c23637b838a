#!/bin/bash
# test_no_nat.sh - without masquerade (the default), no host socket
# leaves with another uplink's source address.
#
# The gateways accept only their own uplink's sources (bed_strict_gateways:
# rp_filter=1, nft drops for IPv6, a counter per gateway), so a packet
# with a wrong source is counted there and its transaction fails.  Each
# case sends N transactions from the attached cgroup, each on a new
# socket, and checks that all were answered, which gateway each left by
# (requests counted in the internet namespace) and that no gateway saw a
# wrong source: IPv4 and IPv6; TCP, connected UDP, unconnected UDP
# (sendto, a route lookup per datagram), ICMP echo on ping and raw
# sockets; a socket bound to an uplink's address; sockets outside the
# cgroup; --pin, --bypass and --sticky changing the mark at
# connect()/sendmsg(); connections made before attach; failover by
# carrier loss and by an uplink taken down; an uplink's address
# changing (DHCP).  A control shows the gateways do catch a wrong source,
# and that --masquerade hides it.
. "$(dirname "$0")/../lib/e2e.sh"
e2e_cleanup_on_exit

N=20

bed_create 2
bed_strict_gateways 2
# ping sockets for root (the cgroup's processes run as root here)
in_cli sysctl -qw net.ipv4.ping_group_range="0 0"
in_inet nft -f - <<NFT
table inet mlbnonat {
	counter req_gw0 {}
	counter req_gw1 {}
	chain in {
		type filter hook input priority filter; policy accept;
		iifname "gw0" ip daddr $SERVER tcp flags & (syn | ack) == syn counter name req_gw0
		iifname "gw1" ip daddr $SERVER tcp flags & (syn | ack) == syn counter name req_gw1
		iifname "gw0" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn counter name req_gw0
		iifname "gw1" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn counter name req_gw1
		iifname "gw0" udp dport 5001 counter name req_gw0
		iifname "gw1" udp dport 5001 counter name req_gw1
		iifname "gw0" icmp type echo-request counter name req_gw0
		iifname "gw1" icmp type echo-request counter name req_gw1
		iifname "gw0" icmpv6 type echo-request counter name req_gw0
		iifname "gw1" icmpv6 type echo-request counter name req_gw1
	}
}
NFT
requests() { nft_counters "$INET" mlbnonat req_gw0 req_gw1; }
reset() {
	in_inet nft reset counters table inet mlbnonat >/dev/null
	bed_spoofed_reset
}

for srv in "--udp 5001 $SERVER" "--udp 5001 [$SERVER6]" "'' 5000 [$SERVER6]" \
	"--echo 5004 $SERVER"; do
	eval "set -- $srv"
	PIDS="$PIDS $(bed_server_start "$WORK/srv.$2.$3" "$1" "$2" "$3")"
done
PIDS="$PIDS $(bed_server_start "$WORK/srv.5000")"

# Connections made before attach: they keep their (main table) source
# and route and carry traffic while attach happens.
in_cgroup "$CRR" hold --connect "$SERVER:5004" --count 4 --duration 3 \
	> "$WORK/hold.before" &
HOLD=$!
for _ in $(seq 50); do grep -q ready "$WORK/hold.before" && break; sleep 0.1; done
reset

check "attach without masquerade options (the default)" "$MLB" attach \
	--netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1
check "no nftables table: no conntrack for the host's sockets" sh -c \
	"! ip netns exec '$CLI' nft list ruleset | grep -q mlb_bpf_"
check "status says masquerade off" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -qx '  masquerade  off'"
wait $HOLD
check_eq "connections made before attach still work after it" "4" \
	"$(grep -c ' ok$' "$WORK/hold.before")"
check_eq "connections made before attach: no wrong source at the gateways" \
	"0 0 " "$(bed_spoofed 2)"

# one WHAT EXPECTED-SPLIT WHERE CLIENT-ARGS...: N transactions, run in
# the cgroup (WHERE=cg) or outside it in the client namespace (cli).
one() {
	local what=$1 split=$2 where=$3
	shift 3
	reset
	if [ "$where" = cg ]; then
		in_cgroup "$CRR" client "$@" --count $N --timeout 2 > "$WORK/out" 2>&1
	else
		in_cli "$CRR" client "$@" --count $N --timeout 2 > "$WORK/out" 2>&1
	fi
	check_eq "$what: all answered" "failures 0" "$(grep '^failures' "$WORK/out")"
	if [ "$split" = any ]; then
		check_eq "$what: $N requests at the gateways" "$N" \
			"$(requests | awk '{ print $1 + $2 }')"
	elif [ "$split" = one ]; then
		check "$what: all left by one gateway" sh -c \
			"echo '$(requests)' | grep -Eqx '($N 0|0 $N) '"
	else
		check_eq "$what: requests per gateway (gw0 gw1)" "$split" "$(requests)"
	fi
	check_eq "$what: no gateway saw another uplink's source" "0 0 " \
		"$(bed_spoofed 2)"
}
H=$((N / 2))
kinds() {
	local label=$1 split=$2 t4=$3 t6=$4
	one "$label IPv4 TCP" "$split" cg --connect "$t4:5000"
	one "$label IPv6 TCP" "$split" cg --connect "$t6:5000"
	one "$label IPv4 connected UDP" "$split" cg --connect "$t4:5001" --udp
	one "$label IPv6 connected UDP" "$split" cg --connect "$t6:5001" --udp
	one "$label IPv4 unconnected UDP" "${5:-$split}" cg --connect "$t4:5001" --sendto
	one "$label IPv6 unconnected UDP" "${5:-$split}" cg --connect "$t6:5001" --sendto
}
kinds "balanced" "$H $H " "$SERVER" "[$SERVER6]"
one "IPv4 ping socket" "$H $H " cg --connect "$SERVER:1" --ping
one "IPv6 ping socket" "$H $H " cg --connect "[$SERVER6]:1" --ping
one "IPv4 raw ICMP socket" "$H $H " cg --connect "$SERVER:1" --raw
one "IPv6 raw ICMP socket" "$H $H " cg --connect "[$SERVER6]:1" --raw
one "IPv4 TCP bound to up1's address" "0 $N " cg --connect "$SERVER:5000" --bind "$UP1_ADDR"
one "IPv6 TCP bound to up1's address" "0 $N " cg --connect "[$SERVER6]:5000" --bind "$UP1_ADDR6"
one "IPv4 unconnected UDP bound to up1's address" "0 $N " cg --connect "$SERVER:5001" --sendto --bind "$UP1_ADDR"
one "IPv4 TCP outside the cgroup (main table)" "$N 0 " cli --connect "$SERVER:5000"
one "IPv6 TCP outside the cgroup (main table)" "$N 0 " cli --connect "[$SERVER6]:5000"

# Destination rules change the mark at connect()/sendmsg(), after
# sock_create gave one: IPv4 pinned to up1, IPv6 bypassed (main: up0).
check "attach with a pin and a bypass" "$MLB" attach --netns "$CLI" \
	--cgroup "$CG" --uplink up0 --uplink up1 --pin "$SERVER/32:up1" \
	--bypass "$SERVER6/128"
one "pinned IPv4 TCP" "0 $N " cg --connect "$SERVER:5000"
one "pinned IPv4 connected UDP" "0 $N " cg --connect "$SERVER:5001" --udp
# The kernel takes an unconnected UDP datagram's mark before the sendmsg
# hook runs, so a rule's new mark applies from a socket's second
# datagram on; each of these sockets sends one, so the split is
# round-robin's, but the source always matches the uplink taken.
one "pinned IPv4 unconnected UDP" any cg --connect "$SERVER:5001" --sendto
one "bypassed IPv6 TCP" "$N 0 " cg --connect "[$SERVER6]:5000"
one "bypassed IPv6 connected UDP" "$N 0 " cg --connect "[$SERVER6]:5001" --udp
one "bypassed IPv6 unconnected UDP" any cg --connect "[$SERVER6]:5001" --sendto
check "attach with --sticky 60" "$MLB" attach --netns "$CLI" \
	--cgroup "$CG" --uplink up0 --uplink up1 --sticky 60
kinds "sticky" one "$SERVER" "[$SERVER6]" any

# hold_connections SECONDS: 4 connections from the cgroup held open for
# SECONDS in the background ($HOLD, their lines in $WORK/hold), once
# ready; the counters reset, and a second for traffic to flow on them.
hold_connections() {
	in_cgroup "$CRR" hold --connect "$SERVER:5004" --count 4 \
		--duration "$1" > "$WORK/hold" &
	HOLD=$!
	for _ in $(seq 50); do grep -q ready "$WORK/hold" && break; sleep 0.1; done
	reset
	sleep 1
}

# Failover.  Carrier loss (the gateway's side goes down) keeps the
# uplink's routes, so its held connections wait on the link; taking the
# host's interface down removes them.
fail_over() {
	local what=$1 down=$2 up=$3
	check "$what: attach" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--uplink up0 --uplink up1
	hold_connections 3
	eval "$down"
	wait $HOLD
	check_eq "$what: the connections on up1 still work" "2" \
		"$(grep -c 'local 198.51.100.2 .* ok$' "$WORK/hold")"
	check_eq "$what: no gateway saw another uplink's source" "0 0 " \
		"$(bed_spoofed 2)"
	eval "$up"
}
fail_over "carrier loss on up0" "in_inet ip link set gw0 down" \
	"in_inet ip link set gw0 up"
fail_over "an uplink's address changes (DHCP)" \
	"in_cli ip addr del $UP0_ADDR/24 dev up0; in_cli ip addr add 192.0.2.3/24 dev up0" \
	"in_cli ip addr del 192.0.2.3/24 dev up0; in_cli ip addr add $UP0_ADDR/24 dev up0; in_cli ip route add default via $GW0 dev up0 metric 100 2>/dev/null || true"

# Taking the host's interface down removes its routes from T_0 and main.
# up0's held connections (source 192.0.2.2) would fall through to main's
# remaining default and leave by up1 with up0's source; the rule "from
# 192.0.2.2 unreachable" fails them on the host instead, so no gateway
# sees a wrong source.  They are broken either way: --masquerade only
# rewrites their source to up1's, which the server answers with a reset.
admin_down() {
	local what=$1
	shift
	check "$what: attach" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--uplink up0 --uplink up1 "$@"
	# held for 8 s: up0 must still be carrying them when it goes down,
	# after the wait for all four and a second more (seconds on an
	# emulated guest)
	hold_connections 8
	in_cli ip link set up0 down
	wait $HOLD
	check_eq "$what: up0's connections broke, up1's work" "2 2" \
		"$(grep -c 'local 192.0.2.2 .* broken$' "$WORK/hold") $(grep -c 'local 198.51.100.2 .* ok$' "$WORK/hold")"
	SPOOFED=$(bed_spoofed 2)
	in_cli ip link set up0 up
	in_cli ip route add default via "$GW0" dev up0 metric 100
	in_cli ip -6 route add default via "$GW0_6" dev up0 metric 100
}
admin_down "up0 taken down"
check_eq "up0 taken down: without NAT no gateway saw up0's source" \
	"0 0 " "$SPOOFED"
admin_down "up0 taken down, --masquerade" --masquerade
check_eq "up0 taken down, --masquerade: the source was rewritten" "0 0 " "$SPOOFED"

# Control: the gateways do catch a wrong source.  A socket bound to an
# address that is no uplink's (100.64.0.9, on lo) and to the device up0
# leaves up0 with that source (as it would on a host without mlb-bpf):
# gw0 counts and drops it.  (The gateway's address is resolved first: its
# rp_filter also ignores an ARP request from a foreign address.)
in_cli ip addr add 100.64.0.9/32 dev lo
check "attach again, without NAT" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1
in_cli "$CRR" client --connect "$GW0:1" --raw --count 1 > /dev/null
reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --bind 100.64.0.9 \
	--device up0 --count 4 --timeout 2 > "$WORK/out" 2>&1
check_eq "control: bound to a foreign address, forced out of up0: none answered" \
	"failures 4" "$(grep '^failures' "$WORK/out")"
check "control: gw0 saw the foreign source" sh -c \
	"echo '$(bed_spoofed 2)' | grep -Eqx '[1-9][0-9]* 0 '"
check "control with --masquerade: attach" "$MLB" attach --netns "$CLI" \
	--cgroup "$CG" --uplink up0 --uplink up1 --masquerade
check "control with --masquerade: the nftables table is there" sh -c \
	"ip netns exec '$CLI' nft list table inet mlb_bpf_$(stat -c %i "$CG") >/dev/null"
one "control with --masquerade: bound to a foreign address, forced out of up0" \
	"$N 0 " cg --connect "$SERVER:5000" --bind 100.64.0.9 --device up0
in_cli ip addr del 100.64.0.9/32 dev lo

check "detach succeeds" "$MLB" detach --cgroup "$CG"
check "detach left no nftables table" sh -c \
	"! ip netns exec '$CLI' nft list ruleset | grep -q mlb_bpf_"
