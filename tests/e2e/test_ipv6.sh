#!/bin/bash
# test_ipv6.sh - IPv6 beside IPv4: connections over IPv6 from the cgroup
# leave by both uplinks in the configured shares with each uplink's own
# IPv6 source address, IPv4 keeps balancing at the same time, the
# connected IPv6 neighbour is reached directly, destination rules and
# bound sockets work for IPv6, the rules and tables are the documented
# ones, an IPv6-only uplink (link-local gateway) balances IPv6 and is
# judged by its link under watch, watch follows an IPv6 gateway and
# address change, and detach restores everything of both families.
. "$(dirname "$0")/../lib/e2e.sh"
SRVS=
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for s in $SRVS; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

BYPASSED6=2001:db8:ff::20
PINNED6=2001:db8:ff::30
LAN_HOST6=2001:db8:0:2::50	# on up1's link
UP2_ADDR6=2001:db8:0:3::2	# the IPv6-only uplink

bed_create
ip -n "$INET" addr add "$BYPASSED6/128" dev lo
ip -n "$INET" addr add "$PINNED6/128" dev lo
ip -n "$INET" addr add "$LAN_HOST6/64" dev gw1 nodad
# up2: IPv6 only, no default route in main; its gateway is link-local.
ip link add up2 netns "$CLI" type veth peer name gw2 netns "$INET"
ip -n "$CLI" link set up2 up
ip -n "$INET" link set gw2 up
ip -n "$CLI" addr add "$UP2_ADDR6/64" dev up2 nodad
ip -n "$INET" addr add 2001:db8:0:3::1/64 dev gw2 nodad
ip -n "$INET" addr add fe80::1/64 dev gw2 nodad
ip -n "$INET" addr add fe80::1/64 dev gw0 nodad	# for a gateway change
ip -n "$INET" addr add 2001:db8:99::1/128 dev gw1 nodad	# outside up1's prefix
bed_counters_start
in_inet nft add counter inet mlbtest gw2_syn
in_inet nft add rule inet mlbtest input iifname gw2 \
	'tcp flags & (syn | ack) == syn' counter name gw2_syn
SRVS="$SRVS $(bed_server_start "$WORK/tcp4")"
for a in "$SERVER6" "$BYPASSED6" "$PINNED6" "$LAN_HOST6"; do
	SRVS="$SRVS $(bed_server_start "$WORK/tcp6-$a" "" 5000 "[$a]")"
done
SRVS="$SRVS $(bed_server_start "$WORK/udp6" --udp 5001 "[$SERVER6]")"
bed_snapshot > "$WORK/before"

# connections DEST [udp|CLIENT OPTIONS...]: 40 new connections (or UDP
# exchanges) from the cgroup to [DEST]; prints "UP0 UP1", how many left
# by each uplink (the counts at gw0 and gw1).
connections() {
	local dest=$1
	shift
	bed_counters_reset
	if [ "${1:-}" = udp ]; then
		in_cgroup "$CRR" client --udp --connect "[$dest]:5001" --count 40 > /dev/null
		echo "$(bed_counter gw0_udp) $(bed_counter gw1_udp)"
	else
		in_cgroup "$CRR" client --connect "[$dest]:5000" --count 40 "$@" > /dev/null
		echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
	fi
}

# seen N: N connections from the cgroup to a server of their own on
# SERVER6; prints what it saw, "ADDR COUNT" lines joined by ", ".
SEEN=0
seen() {
	local srv
	SEEN=$((SEEN + 1))
	srv=$(bed_server_start "$WORK/seen$SEEN" "" 5010 "[$SERVER6]")
	in_cgroup "$CRR" client --connect "[$SERVER6]:5010" --count "$1" > /dev/null
	bed_server_stop "$srv"
	paste -sd, "$WORK/seen$SEEN" | sed 's/,/, /g'
}

# -- 1:1 with masquerade
check "attach up0 and up1, --masquerade" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --masquerade
CGID=$(stat -c %i "$CG")
check_eq "ip -6 rule: main without its default, from and fwmark rules" \
"0:	from all lookup local
7100:	from all lookup main suppress_prefixlength 0 proto 77
7101:	from $UP0_ADDR6 lookup 7100 proto 77
7101:	from $UP1_ADDR6 lookup 7101 proto 77
7102:	from $UP0_ADDR6 unreachable proto 77
7102:	from $UP1_ADDR6 unreachable proto 77
7103:	from all fwmark 0x10/0xff lookup 7100 proto 77
7103:	from all fwmark 0x11/0xff lookup 7101 proto 77
32766:	from all lookup main" "$(ip -n "$CLI" -6 rule show)"
check_eq "table 7100 has up0's IPv6 prefix and default" \
"2001:db8:0:1::/64 dev up0 proto 77 src $UP0_ADDR6 metric 1024 pref medium
default via $GW0_6 dev up0 proto 77 src $UP0_ADDR6 metric 1024 pref medium" \
	"$(ip -n "$CLI" -6 route show table 7100)"
check_eq "table 7101 has up1's IPv6 prefix and default" \
"2001:db8:0:2::/64 dev up1 proto 77 src $UP1_ADDR6 metric 1024 pref medium
default via $GW1_6 dev up1 proto 77 src $UP1_ADDR6 metric 1024 pref medium" \
	"$(ip -n "$CLI" -6 route show table 7101)"
check_eq "an IPv6 socket marked for up1 routes by up1" "up1 $UP1_ADDR6" \
	"$(ip -n "$CLI" -j -6 route get "$SERVER6" mark 0x11 | jq -r '.[0] | "\(.dev) \(.prefsrc)"')"
check_eq "one nftables table inet masquerades on both uplinks" 2 \
	"$(ip netns exec "$CLI" nft list table inet "mlb_bpf_$CGID" | grep -c 'oifname "up[01]" masquerade')"
check "status shows the table inet" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -q 'nftables table inet mlb_bpf_$CGID'"
check_eq "status --json shows each uplink's IPv6 address and gateway" \
	"up0 $UP0_ADDR6/64 via $GW0_6,up1 $UP1_ADDR6/64 via $GW1_6" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '[.attachments[0].uplinks[] | "\(.name) \(.address6)/\(.prefixlen6) via \(.gateway6)"] | join(",")')"
check_eq "status --json keeps the IPv4 keys" "192.0.2.2/24 via 192.0.2.1" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0] | "\(.address)/\(.prefixlen) via \(.gateway)"')"
check "status text shows up1's IPv6 address under its IPv4 one" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -A1 '^  up1 ' | grep -qE '^ +$GW1_6 +$UP1_ADDR6/64\$'"

check_eq "IPv6 TCP: 40 connections split 20/20" "20 20" "$(connections "$SERVER6")"
check_eq "IPv6 UDP: 40 exchanges split 20/20" "20 20" "$(connections "$SERVER6" udp)"
check_eq "the server sees each uplink's own IPv6 address" \
	"$UP0_ADDR6 20, $UP1_ADDR6 20" "$(seen 40)"
check_eq "the connected IPv6 neighbour is reached directly (all by up1)" "0 40" \
	"$(connections "$LAN_HOST6")"
bed_counters_reset
in_cli "$CRR" client --connect "[$SERVER6]:5000" --count 10 > /dev/null
check_eq "outside the cgroup IPv6 uses the main default (up0)" "10 0" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"

# IPv4 and IPv6 at once: one socket counter for both, so 80 connections
# split exactly 40/40 whichever family each got.
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 > "$WORK/both4" &
BOTH4=$!
in_cgroup "$CRR" client --connect "[$SERVER6]:5000" --count 40 > "$WORK/both6"
wait "$BOTH4"
check "IPv4 and IPv6 at once: every IPv4 connection succeeds" grep -qx "failures 0" "$WORK/both4"
check "IPv4 and IPv6 at once: every IPv6 connection succeeds" grep -qx "failures 0" "$WORK/both6"
check_eq "IPv4 and IPv6 at once: 80 connections split 40/40" "40 40" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 > /dev/null
check_eq "IPv4 still splits 20/20" "20 20" "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"

# -- 3:1 without masquerade, destination rules, last resort unreachable,
# and up1's IPv6 gateway given, a global one outside its prefix
check "re-attach 3:1, no masquerade, an IPv6 bypass and pin, last resort unreachable" \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0,weight=3 \
	--uplink up1,gateway6=2001:db8:99::1 \
	--no-masquerade --bypass "$BYPASSED6/128" --pin "$PINNED6/128:up1" \
	--last-resort unreachable
check_eq "a gateway outside the prefix gets a host route on the link" \
"2001:db8:0:2::/64 dev up1 proto 77 src $UP1_ADDR6 metric 1024 pref medium
2001:db8:99::1 dev up1 proto 77 src $UP1_ADDR6 metric 1024 pref medium
default via 2001:db8:99::1 dev up1 proto 77 src $UP1_ADDR6 metric 1024 pref medium" \
	"$(ip -n "$CLI" -6 route show table 7101)"
check "the nftables table is gone" sh -c \
	"! ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID >/dev/null 2>&1"
check_eq "IPv6 unreachable default in the last-resort table" \
	"unreachable default dev lo proto 77 metric 1024 pref medium" \
	"$(ip -n "$CLI" -6 route show table 7102)"
check "IPv6 rule for the last-resort mark" sh -c \
	"ip -n '$CLI' -6 rule show | grep -qx '7103:	from all fwmark 0x12/0xff lookup 7102 proto 77'"
check_eq "IPv6 TCP 3:1" "30 10" "$(connections "$SERVER6")"
check_eq "without masquerade the server still sees each uplink's own IPv6 address" \
	"$UP0_ADDR6 30, $UP1_ADDR6 10" "$(seen 40)"
check_eq "an IPv6 bypass follows the main table (up0)" "40 0" "$(connections "$BYPASSED6")"
check_eq "an IPv6 pin always uses up1" "0 40" "$(connections "$PINNED6")"
check_eq "a socket bound to up0's IPv6 address keeps up0" "40 0" \
	"$(connections "$PINNED6" --bind "$UP0_ADDR6")"
check_eq "a socket bound to up1's IPv6 address leaves by up1" "0 40" \
	"$(connections "$BYPASSED6" --bind "$UP1_ADDR6")"

# -- --sticky for IPv6 destinations: one destination, one uplink
check "re-attach 1:1 with --sticky 30" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --sticky 30
one_uplink() { [ "$1" = "40 0" ] || [ "$1" = "0 40" ]; }
sticky=$(connections "$SERVER6")
check "sticky: 40 IPv6 connections to one destination use one uplink ($sticky)" \
	one_uplink "$sticky"
check_eq "sticky: and keep using it" "$sticky" "$(connections "$SERVER6")"

# -- an IPv6-only uplink with a link-local gateway
check "attach up0 and the IPv6-only up2 (gateway6=fe80::1)" \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --masquerade \
	--uplink "up0,probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2" \
	--uplink up2,gateway6=fe80::1,interval=0.2,timeout=0.2,down=3,up=2
check_eq "up2's table: its prefix and the link-local default, no host route" \
"2001:db8:0:3::/64 dev up2 proto 77 src $UP2_ADDR6 metric 1024 pref medium
default via fe80::1 dev up2 proto 77 src $UP2_ADDR6 metric 1024 pref medium" \
	"$(ip -n "$CLI" -6 route show table 7101)"
check_eq "up2 has no IPv4 table or rules" "0 0" \
	"$(ip -n "$CLI" -4 route show table 7101 | wc -l) $(ip -n "$CLI" -4 rule show | grep -c 'lookup 7101')"
check_eq "status --json: up2 has IPv6 only" "|$UP2_ADDR6|fe80::1" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[1] | "\(.address)|\(.address6)|\(.gateway6)"')"
check "up2 masquerades IPv6 only" sh -c \
	"ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID | grep -q 'oifname \"up2\" meta nfproto ipv6 masquerade'"
bed_counters_reset
in_cgroup "$CRR" client --connect "[$SERVER6]:5000" --count 40 > /dev/null
check_eq "IPv6 over up0 and up2 splits 20/20" "20 20" \
	"$(bed_counter gw0_syn) $(bed_counter gw2_syn)"
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 > "$WORK/v4up2"
check_eq "IPv4 sockets given up2 follow the main table (up0)" "40 0 0" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn) $(bed_counter gw2_syn)"

# wait_for CMD...: until CMD succeeds (at most 10 s).
wait_for() {
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
is_health() { [ "$(health "$1")" = "$2" ]; }
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
check "watch: up0 up" wait_for is_health 0 up
check "watch: the IPv6-only up2 up" wait_for is_health 1 up
# Probes are IPv4: with nothing to probe up2 is judged by its link, so
# it stays up over many probe rounds (down after 3 failed ones).
sleep 1.5
check_eq "watch: up2 stays up with nothing to probe" up "$(health 1)"
check "status says up2 is judged by its link" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -E '^  up2 +up ' | grep -q 'judged by its link'"
ip -n "$INET" link set gw2 down
check "watch: up2 goes down when its carrier is lost" wait_for is_health 1 down
check_eq "watch: up2 down, all IPv6 by up0" "40 0" \
	"$(connections "$SERVER6" | cut -d' ' -f1) $(bed_counter gw2_syn)"
ip -n "$INET" link set gw2 up
# keep_addr_on_down keeps global addresses only: give fe80::1 back.
ip -n "$INET" addr add fe80::1/64 dev gw2 nodad
check "watch: up2 back up with its carrier" wait_for is_health 1 up

# DHCPv6 / router advertisements move up0's gateway, then its address.
table_has() { ip -n "$CLI" -6 route show table 7100 | grep -q "$1"; }
ip -n "$CLI" -6 route replace default via fe80::1 dev up0 metric 100
check "watch: up0's IPv6 default follows the new link-local gateway" \
	wait_for table_has "default via fe80::1 dev up0"
check "watch logs the IPv6 change, and only that" sh -c \
	"grep -q 'uplink up0: now $UP0_ADDR6/64 via fe80::1\$' '$WORK/watch.log' &&
	 ! grep -q 'uplink up0: now $UP0_ADDR/' '$WORK/watch.log'"
check_eq "status shows the new IPv6 gateway" fe80::1 \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0].gateway6')"
check_eq "the IPv4 default of up0 was not touched" "default via $GW0 dev up0 proto 77 src $UP0_ADDR" \
	"$(ip -n "$CLI" -4 route show table 7100 | grep default | sed 's/ *$//')"
bed_counters_reset
in_cgroup "$CRR" client --connect "[$SERVER6]:5000" --count 40 > /dev/null
check_eq "IPv6 via the new gateway still splits 20/20" "20 20" \
	"$(bed_counter gw0_syn) $(bed_counter gw2_syn)"
ip -n "$CLI" -6 route replace default via "$GW0_6" dev up0 metric 100
check "watch: and back" wait_for table_has "default via $GW0_6 dev up0"
ip -n "$CLI" addr add 2001:db8:0:1::3/64 dev up0 nodad
ip -n "$CLI" addr del "$UP0_ADDR6/64" dev up0
rule_has() { ip -n "$CLI" -6 rule show | grep -q "$1"; }
check "watch: up0's IPv6 from-rule follows its new address" \
	wait_for rule_has "from 2001:db8:0:1::3 lookup 7100"
check "watch: up0's IPv6 routes use the new address" \
	wait_for table_has "default via $GW0_6 dev up0 proto 77 src 2001:db8:0:1::3 "
check "watch: the old address's rule is gone" sh -c \
	"! ip -n '$CLI' -6 rule show | grep -q 'from $UP0_ADDR6 '"
ip -n "$CLI" addr add "$UP0_ADDR6/64" dev up0 nodad
ip -n "$CLI" addr del 2001:db8:0:1::3/64 dev up0
check "watch: and back to the first address" wait_for rule_has "from $UP0_ADDR6 lookup 7100"
check_eq "watch: up0 stayed up through it all" up "$(health 0)"
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=

check "detach" "$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "detach restored IPv4 and IPv6 rules and routes, nftables, cgroup and pins" \
	"$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
