#!/bin/bash
# test_dest_rules.sh - destination rules at connect()/sendmsg(): --bypass
# prefixes are never balanced (main table, so up0 here), --pin prefixes
# always use their uplink, everything else is balanced as before, and
# sockets bound to an address keep it.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	for s in ${SRV1:-} ${SRV2:-} ${SRV3:-} ${SRVU:-}; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

BYPASSED=203.0.113.20
PINNED=203.0.113.30
bed_create
ip -n "$INET" addr add "$BYPASSED/32" dev lo
ip -n "$INET" addr add "$PINNED/32" dev lo
bed_counters_start
SRV1=$(bed_server_start "$WORK/s1")
SRV2=$(bed_server_start "$WORK/s2" "" 5000 "$BYPASSED")
SRV3=$(bed_server_start "$WORK/s3" "" 5000 "$PINNED")
SRVU=$(bed_server_start "$WORK/su" --udp 5001 "$PINNED")
bed_snapshot > "$WORK/before"

# connections ADDR [UDP]: 40 new connections (or UDP exchanges) from the
# cgroup; prints "UP0 UP1", how many left by each uplink.
connections() {
	bed_counters_reset
	if [ "${2:-}" = udp ]; then
		in_cgroup "$CRR" client --udp --connect "$1:5001" --count 40 > /dev/null
		echo "$(bed_counter gw0_udp) $(bed_counter gw1_udp)"
	else
		in_cgroup "$CRR" client --connect "$1:5000" --count 40 > /dev/null
		echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
	fi
}

check "attach with a bypass and a pin" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --bypass "$BYPASSED/32" --pin "203.0.113.24/29:up1"
check_eq "five programs on the cgroup (sock_create, connect4/6, sendmsg4/6)" 5 \
	"$(bpftool cgroup show "$CG" -j | jq 'length')"
check_eq "other destinations are balanced" "20 20" "$(connections "$SERVER")"
check_eq "a bypassed destination follows the main table (up0)" "40 0" "$(connections "$BYPASSED")"
check_eq "a pinned destination always uses up1" "0 40" "$(connections "$PINNED")"
check_eq "pinned over UDP (sendmsg) too" "0 40" "$(connections "$PINNED" udp)"
bed_counters_reset
in_cgroup "$CRR" client --connect "$PINNED:5000" --count 10 --bind "$UP0_ADDR" > /dev/null
check_eq "a socket bound to up0's address keeps up0" "10 0" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 10 --device up1 > /dev/null
check_eq "a socket bound to device up1 (SO_BINDTODEVICE) keeps up1" "0 10" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
check_eq "status --json lists the rules" "bypass $BYPASSED/32 -,pin 203.0.113.24/29 up1" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '[.attachments[0].destinations[] | "\(.action) \(.prefix) \(.uplink // "-")"] | join(",")')"

refused() {
	"$@" > /dev/null 2> "$WORK/err"
	[ $? -eq 2 ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] && grep -q -- "$PATTERN" "$WORK/err"
}
PATTERN='"eth9" is not one of the uplinks'
check "a pin to an interface that is not an uplink is refused" refused \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --pin "$PINNED:eth9"
PATTERN='prefix length must be 0 to 32'
check "a bad prefix length is refused" refused \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --bypass 10.0.0.0/33
PATTERN='must be PREFIX:IFACE'
check "a pin without an interface is refused" refused \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --pin 10.0.0.0/8
check_eq "the refused attaches left the attachment as it was" "0 40" "$(connections "$PINNED")"

# --sticky: every new connection to one destination takes the uplink its
# first one got, while other destinations are still spread.
one_uplink() { [ "$1" = "40 0" ] || [ "$1" = "0 40" ]; }
check "re-attach with --sticky 1" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --sticky 1
first=$(connections "$SERVER")
check "sticky: 40 connections to one destination use one uplink ($first)" one_uplink "$first"
second=$(connections "$SERVER")
check_eq "sticky: and keep using it" "$first" "$second"
check "sticky: another destination gets its own ($(connections "$BYPASSED"))" \
	one_uplink "$(connections "$BYPASSED")"
check_eq "sticky: status shows it" 1 \
	"$("$MLB" status --cgroup "$CG" --json | jq '.attachments[0].sticky_seconds')"
# After a quiet second the destination is balanced afresh.  The next
# socket's uplink is the socket count modulo 2 (1:1, one thread); make it
# the uplink the destination did not have, then connect twice.
if [ "$first" = "40 0" ]; then stuck=0; else stuck=1; fi
sleep 1.2
total=$("$MLB" status --cgroup "$CG" --json | jq '.attachments[0].sockets')
if [ $((total % 2)) -eq "$stuck" ]; then
	in_cgroup "$CRR" sockets --count 1 > /dev/null
fi
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 2 > /dev/null
if [ "$stuck" -eq 0 ]; then want="0 2"; else want="2 0"; fi
check_eq "sticky: after a quiet second the destination moves, and sticks again" \
	"$want" "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
PATTERN='--sticky "0" must be a number of seconds'
check "--sticky 0 is refused" refused \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --sticky 0

check "detach" "$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "nothing left after detach" "$WORK/before" "$WORK/after"
