#!/bin/bash
# test_linkflap.sh - an uplink that goes away and comes back comes back
# into the balance by itself.  The kernel deletes an uplink's table when
# its link goes admin down (or away, or loses its address) and never puts
# it back; with watch running, each fault below is followed by 60 new
# connections from the cgroup, counted at the gateways: 20/20/20 over the
# three uplinks (IPv4), and 40/20 for IPv6 (up2 has no IPv6, so its share
# follows main's default, via up0).  Faults: carrier loss, admin down/up,
# the interface deleted and created again (a new index), its addresses
# flushed and added again, DHCP moving it to another address and gateway,
# and a storm of 30 quick flaps.  Without watch, status names the damage
# and exits 4, and repair puts it back.  Detach removes every object of
# protocol 77 in its tables and priorities, whatever its shape.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	[ -n "${SRV:-}" ] && bed_server_stop "$SRV"
	[ -n "${SRV6:-}" ] && bed_server_stop "$SRV6"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create 3
SRV=$(bed_server_start "$WORK/srv")
SRV6=$(bed_server_start "$WORK/srv6" "" 5000 "[$SERVER6]")
# New connections per gateway and family.
in_inet nft -f - <<'NFT'
table inet flaptest {
	counter gw0 {}
	counter gw1 {}
	counter gw2 {}
	counter gw0_6 {}
	counter gw1_6 {}
	counter gw2_6 {}
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto != tcp accept
		tcp flags & (syn | ack) != syn accept
		iifname "gw0" meta nfproto ipv4 counter name gw0
		iifname "gw1" meta nfproto ipv4 counter name gw1
		iifname "gw2" meta nfproto ipv4 counter name gw2
		iifname "gw0" meta nfproto ipv6 counter name gw0_6
		iifname "gw1" meta nfproto ipv6 counter name gw1_6
		iifname "gw2" meta nfproto ipv6 counter name gw2_6
	}
}
NFT
count() {
	in_inet nft -j list counter inet flaptest "$1" |
		jq '.nftables[] | select(.counter) | .counter.packets'
}
reset() { in_inet nft reset counters table inet flaptest > /dev/null; }

# split N [6]: N new connections from the cgroup (to the IPv6 server with
# 6); prints how many left by each gateway.
split() {
	local to=$SERVER:5000 s=${2:-}
	[ -n "$s" ] && to="[$SERVER6]:5000"
	reset
	in_cgroup "$CRR" client --connect "$to" --count "$1" > /dev/null
	if [ -n "$s" ]; then
		echo "$(count gw0_6) $(count gw1_6)"
	else
		echo "$(count gw0) $(count gw1) $(count gw2)"
	fi
}
# settles EXPECTED N [6]: split N until it is EXPECTED (at most ~10 s:
# another bed's watch may be moving this attachment's slots meanwhile);
# prints the last split.
settles() {
	local want=$1 got
	shift
	for _ in $(seq 30); do
		got=$(split "$@")
		[ "$got" = "$want" ] && break
		sleep 0.3
	done
	echo "$got"
}
# carries GW: until a few new connections include one by gateway GW (at
# most ~10 s), so the uplink is back in the balance.
carries() {
	for _ in $(seq 30); do
		reset
		in_cgroup "$CRR" client --connect "$SERVER:5000" --count 6 > /dev/null
		[ "$(count "$1")" -gt 0 ] && return 0
		sleep 0.3
	done
	return 1
}
# back NAME GW: the uplink of gateway GW carries its share again, both
# families measured at the gateways.
back() {
	carries "$2"
	check_eq "$1: 60 connections split 20/20/20" "20 20 20" \
		"$(settles "20 20 20" 60)"
	check_eq "$1: 60 IPv6 connections split 40/20 (up2 has none)" \
		"40 20" "$(settles "40 20" 60 6)"
}
# Our objects: rules and routes of protocol 77, both families.
ours() {
	{
		ip -n "$CLI" -4 rule show; ip -n "$CLI" -6 rule show
		ip -n "$CLI" -4 route show table all
		ip -n "$CLI" -6 route show table all
	} | grep 'proto 77' | sort
}

FAST=interval=0.2,timeout=0.2,down=3,up=3
check "attach three uplinks" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink "up0,$FAST" --uplink "up1,$FAST" --uplink "up2,$FAST"
# A second policy on the same routing (a child cgroup on up1 only): watch
# repairs the shared tables once, and both policies keep working.
mkdir "$CG/backup"
check "attach a second policy sharing the routing" "$MLB" attach \
	--netns "$CLI" --cgroup "$CG/backup" --uplink "up1,$FAST"
backup_split() {
	reset
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/backup" \
		nsenter --net="/run/netns/$CLI" "$CRR" client \
		--connect "$SERVER:5000" --count 20 > /dev/null
	echo "$(count gw0) $(count gw1) $(count gw2)"
}
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
back "start" gw1

# -- carrier loss: the gateway's end goes down, then up
ip -n "$INET" link set gw1 down
sleep 1
ip -n "$INET" link set gw1 up
back "carrier loss" gw1

# -- admin down and up on the client side: the kernel drops table 7101
ip -n "$CLI" link set up1 down
sleep 1
ip -n "$CLI" link set up1 up
back "admin down/up" gw1
check "admin down/up: watch logged the repair" \
	grep -q "uplink up1: table 7101 restored" "$WORK/watch.log"
check_eq "admin down/up: the second policy's 20 connections all leave by up1" \
	"0 20 0" "$(backup_split)"
check_eq "admin down/up: one of the two policies repairs the shared table" 1 \
	"$(grep 'table 7101 restored' "$WORK/watch.log" | awk '{ print $4 }' | sort -u | wc -l)"

# -- the interface deleted and created again under its name (a USB modem
# plugged in again): a new index, its addresses and main's default again
old_index=$(ip -n "$CLI" -j link show up1 | jq '.[0].ifindex')
ip -n "$CLI" link del up1
sleep 1
ip link add up1 netns "$CLI" type veth peer name gw1 netns "$INET"
ip -n "$CLI" addr add "$UP1_ADDR/24" dev up1
ip -n "$CLI" addr add "$UP1_ADDR6/64" dev up1 nodad
ip -n "$INET" addr add "$GW1/24" dev gw1
ip -n "$INET" addr add "$LAN_HOST/24" dev gw1
ip -n "$INET" addr add "$GW1_6/64" dev gw1 nodad
ip -n "$CLI" link set up1 up
ip -n "$INET" link set gw1 up
ip -n "$CLI" route add default via "$GW1" dev up1 metric 200
ip -n "$CLI" -6 route add default via "$GW1_6" dev up1 metric 200
back "re-created interface" gw1
new_index=$(ip -n "$CLI" -j link show up1 | jq '.[0].ifindex')
check "re-created interface: it has a new index" test "$new_index" != "$old_index"
check_eq "re-created interface: the record follows it" "$new_index" \
	"$("$MLB" status --cgroup "$CG" --json | jq '.attachments[0].uplinks[1].ifindex')"

# -- its addresses flushed and added again (both families)
ip -n "$CLI" addr flush dev up1
sleep 1
ip -n "$CLI" addr add "$UP1_ADDR/24" dev up1
ip -n "$CLI" addr add "$UP1_ADDR6/64" dev up1 nodad
ip -n "$CLI" route add default via "$GW1" dev up1 metric 200
ip -n "$CLI" -6 route add default via "$GW1_6" dev up1 metric 200
back "address flushed and added again" gw1

# -- DHCP moves up2 to another address and gateway
ip -n "$INET" addr add 10.112.0.1/24 dev gw2
ip -n "$INET" addr del 10.102.0.1/24 dev gw2
ip -n "$CLI" addr add 10.112.0.2/24 dev up2
ip -n "$CLI" addr del 10.102.0.2/24 dev up2
ip -n "$CLI" route replace default via 10.112.0.1 dev up2 metric 300
back "DHCP move" gw2
check "DHCP move: table 7102 goes via the new gateway only" sh -c \
	"ip -n '$CLI' route show table 7102 | grep -q 'default via 10.112.0.1' &&
	 ! ip -n '$CLI' route show table 7102 | grep -q 10.102"
check "DHCP move: the from-rule follows the new address" sh -c \
	"ip -n '$CLI' rule show | grep -q 'from 10.112.0.2 lookup 7102' &&
	 ! ip -n '$CLI' rule show | grep -q 'from 10.102.0.2'"

# -- a storm of 30 quick flaps of up1
ours > "$WORK/ours.before"
for _ in $(seq 30); do
	ip -n "$CLI" link set up1 down
	ip -n "$CLI" link set up1 up
done
back "30 flaps" gw1
check "30 flaps: watch is still running" kill -0 "$WATCH"
ours > "$WORK/ours.after"
check_same "30 flaps: exactly our rules and routes, nothing extra" \
	"$WORK/ours.before" "$WORK/ours.after"
check "30 flaps: status finds the routing complete" "$MLB" status --cgroup "$CG"

# -- watch restarted while up1's link is down: its record says the link
# took it down, so the new watch too brings it back on the first answered
# probe, not after `up` of them.
up1_health() {
	# (status also says, on stderr, that up1's table is damaged)
	"$MLB" status --cgroup "$CG" --json 2>/dev/null |
		jq -r ".attachments[0].uplinks[1].health.$1"
}
up1_is() { [ "$(up1_health state)" = "$1" ]; }
wait_up1() {
	for _ in $(seq 100); do up1_is "$1" && return 0; sleep 0.1; done
	return 1
}
ip -n "$CLI" link set up1 down
check "restart: up1 goes down by its link" wait_up1 down
check_eq "restart: the reason is its link" "admin down" "$(up1_health reason)"
kill "$WATCH"; wait "$WATCH" 2>/dev/null
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
sleep 0.5
ip -n "$CLI" link set up1 up
check "restart: up1 comes back" wait_up1 up
check_eq "restart: on the first answered probe" "link back, probe answered" \
	"$(up1_health reason)"
back "restart" gw1

# -- without watch, nothing repairs: status says so, repair does it
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=
ip -n "$CLI" link set up1 down
ip -n "$CLI" link set up1 up
"$MLB" status --cgroup "$CG" > "$WORK/status.txt"
check_eq "no watch: status exits 4 after admin down/up" 4 "$?"
check "no watch: status names up1's missing default route" \
	grep -qE "uplink up1, table 7101: .*default route via $GW1 to table 7101" \
	"$WORK/status.txt"
check "no watch: status says what to run" grep -q "mlb-bpf repair" "$WORK/status.txt"
"$MLB" status --cgroup "$CG" --json > "$WORK/status.json"
check_eq "no watch: status --json exits 4 too" 4 "$?"
check_eq "no watch: status --json marks up1's routing incomplete" "true false true" \
	"$(jq -r '[.attachments[0].uplinks[].routing.complete] | join(" ")' "$WORK/status.json")"
check_eq "no watch: up1's traffic leaves by up0" "40 0 20" "$(settles "40 0 20" 60)"
"$MLB" repair --cgroup "$CG" > "$WORK/repair.txt"
check_eq "repair exits 0" 0 "$?"
check "repair prints what it restored" grep -q "uplink up1: table 7101 restored" "$WORK/repair.txt"
check_eq "repair: 60 connections split 20/20/20" "20 20 20" "$(settles "20 20 20" 60)"
check_eq "repair: 60 IPv6 connections split 40/20" "40 20" "$(settles "40 20" 60 6)"
check "repair again: nothing to do" sh -c \
	"'$MLB' repair --cgroup '$CG' | grep -q 'nothing to repair'"
check "repair: status exits 0" "$MLB" status --cgroup "$CG"
check_same "repair: exactly our rules and routes" "$WORK/ours.before" <(ours)

# -- detach removes what an older rule order or a crash left (protocol 77
# in our priorities), and nothing of anyone else's
ip -n "$CLI" rule add priority 7102 fwmark 0x11/0xff lookup 7101 proto 77
ip -n "$CLI" rule add priority 7101 fwmark 0x99 lookup 7101
check "detach both policies (the routing goes with the last)" sh -c \
	"'$MLB' detach --cgroup '$CG' && '$MLB' detach --cgroup '$CG/backup'"
check_eq "detach: no rule or route of protocol 77 is left" "" "$(ours)"
check "detach: another's rule at our priority stays" sh -c \
	"ip -n '$CLI' rule show | grep -q 'fwmark 0x99 lookup 7101'"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
