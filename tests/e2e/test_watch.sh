#!/bin/bash
# test_watch.sh - mlb-bpf watch with faults injected in the bed: carrier
# loss, silent upstream loss, a DHCP-style gateway change, every uplink
# down (main and unreachable last resorts), watch killed and restarted.
# After each fault no new connection uses the dead uplink, a connection
# on the healthy uplink is not reset, and after recovery both are used.
# Probes go to the server address (reachable through either uplink), so
# counting them per gateway shows they leave by the uplink they test.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for s in ${SRV:-} ${ECHO:-}; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
ECHO=$(bed_server_start "$WORK/echo" --echo 5003)
bed_snapshot > "$WORK/before"

FAST="probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2"
attach() {
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink "up0,$FAST" \
		--uplink "up1,$FAST" "$@"
}
# connections N: N new connections from the cgroup; prints "UP0 UP1", the
# number that left by each uplink.
connections() {
	bed_counters_reset
	in_cgroup "$CRR" client --connect "$SERVER:5000" --count "$1" > /dev/null
	echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
}
# socket_marks N: the marks N new sockets of the cgroup get.
socket_marks() {
	in_cgroup "$CRR" sockets --count "$1" | awk '$1 == "mark" { print $2, $3 }' | sort
}

check "attach with fast probes" attach
start_watch
check "watch marks both uplinks up" wait_health 0 up
check "both up (up1)" wait_health 1 up
bed_counters_reset
sleep 1
check "up0's probes leave by up0" test "$(bed_counter gw0_icmp)" -gt 0
check "up1's probes leave by up1" test "$(bed_counter gw1_icmp)" -gt 0
check_eq "both uplinks carry new connections" "20 20" "$(connections 40)"

# -- carrier loss, with a long-lived connection on each uplink
in_cgroup "$CRR" hold --connect "$SERVER:5003" --count 2 --duration 3 > "$WORK/hold" &
HOLD=$!
sleep 0.5
ip -n "$INET" link set gw0 down
check "carrier loss: up0 goes down" wait_health 0 down
check "carrier loss: the reason is the carrier" sh -c \
	"'$MLB' status --cgroup '$CG' --json | jq -r '.attachments[0].uplinks[0].health.reason' | grep -q carrier"
check_eq "carrier loss: no new connection uses up0" "0 40" "$(connections 40)"
wait "$HOLD"
check "carrier loss: the connection on up1 was not reset" \
	grep -q "local $UP1_ADDR mark 0x11 ok" "$WORK/hold"
ip -n "$INET" link set gw0 up
check "carrier back: up0 comes back up" wait_health 0 up
check_eq "carrier back: both uplinks carry new connections" "20 20" "$(connections 40)"

# -- silent loss: the carrier stays up, the gateway drops everything
in_cgroup "$CRR" hold --connect "$SERVER:5003" --count 2 --duration 3 > "$WORK/hold" &
HOLD=$!
sleep 0.5
ip netns exec "$INET" nft add table inet mlbfault
ip netns exec "$INET" nft add chain inet mlbfault in '{ type filter hook input priority -10; }'
ip netns exec "$INET" nft add rule inet mlbfault in iifname gw0 drop
check "silent loss: up0 goes down" wait_health 0 down
check "silent loss: the reason is failed probes" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -E '^  up0 +down' | grep -q 'probes failed'"
check_eq "silent loss: no new connection uses up0" "0 40" "$(connections 40)"
wait "$HOLD"
check "silent loss: the connection on up1 was not reset" \
	grep -q "local $UP1_ADDR mark 0x11 ok" "$WORK/hold"

# -- watch killed and restarted while up0 is down
stop_watch
check_eq "watch stopped: the last state stays (only up1's mark)" "0x11 20" "$(socket_marks 20)"
start_watch
sleep 1
check_eq "watch restarted: up0 still out while the loss lasts" "0x11 20" "$(socket_marks 20)"
ip netns exec "$INET" nft delete table inet mlbfault
check "silent loss over: up0 comes back up" wait_health 0 up
check_eq "silent loss over: both uplinks carry new connections" "20 20" "$(connections 40)"

# -- DHCP moves up0's gateway (the new address survives the old one's
# removal only with promote_secondaries)
in_inet sysctl -qw net.ipv4.conf.gw0.promote_secondaries=1
ip -n "$INET" addr add 192.0.2.254/24 dev gw0
ip -n "$INET" addr del "$GW0/24" dev gw0
ip -n "$CLI" route replace default via 192.0.2.254 dev up0 metric 100
# table_default_via ADDR: until up0's table has its default via ADDR
# (at most 5 s).
table_default_via() {
	for _ in $(seq 50); do
		ip -n "$CLI" route show table 7100 | grep -q "default via $1 " && return 0
		sleep 0.1
	done
	return 1
}
check "gateway change: up0's table follows it" table_default_via 192.0.2.254
check_eq "gateway change: status shows the new gateway" "192.0.2.254" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0].gateway')"
# Probes may have failed while the old gateway was gone: give them three
# rounds through the new one, then up0 must be up.
sleep 0.7
check "gateway change: up0 is up through the new gateway" wait_health 0 up
check_eq "gateway change: both uplinks carry new connections" "20 20" "$(connections 40)"
# and back
ip -n "$INET" addr add "$GW0/24" dev gw0
ip -n "$CLI" route replace default via "$GW0" dev up0 metric 100
ip -n "$INET" addr del 192.0.2.254/24 dev gw0
check "gateway change back: up0's table follows" table_default_via "$GW0"

# -- DHCP gives up0 a new address
in_cli sysctl -qw net.ipv4.conf.up0.promote_secondaries=1
ip -n "$CLI" addr add 192.0.2.3/24 dev up0
ip -n "$CLI" addr del "$UP0_ADDR/24" dev up0
ip -n "$CLI" route replace default via "$GW0" dev up0 metric 100
addr_follows() {
	for _ in $(seq 50); do
		ip -n "$CLI" rule show | grep -q "from 192.0.2.3 lookup 7100" &&
			ip -n "$CLI" route show table 7100 | grep -q "src 192.0.2.3" &&
			return 0
		sleep 0.1
	done
	return 1
}
check "address change: up0's rule and table follow" addr_follows
check "address change: the old address's rule is gone" sh -c \
	"! ip -n '$CLI' rule show | grep -q 'from $UP0_ADDR '"
sleep 0.7
check "address change: up0 is up" wait_health 0 up
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 --report > "$WORK/addr"
check "address change: new connections on up0 use its new address" \
	grep -qx "local 192.0.2.3 20" "$WORK/addr"
ip -n "$CLI" addr add "$UP0_ADDR/24" dev up0
ip -n "$CLI" addr del 192.0.2.3/24 dev up0
ip -n "$CLI" route replace default via "$GW0" dev up0 metric 100
addr_back() {
	for _ in $(seq 50); do
		ip -n "$CLI" rule show | grep -q "from $UP0_ADDR lookup 7100" && return 0
		sleep 0.1
	done
	return 1
}
check "address change back: up0's rule follows" addr_back
sleep 0.7
check "address change back: up0 is up" wait_health 0 up

# -- every uplink down, last resort main: no mark, the main table
ip -n "$INET" link set gw0 down
ip -n "$INET" link set gw1 down
check "all down: up0 down" wait_health 0 down
check "all down: up1 down" wait_health 1 down
check_eq "all down (last resort main): new sockets get no mark" "0x0 10" "$(socket_marks 10)"
ip -n "$INET" link set gw0 up
ip -n "$INET" link set gw1 up
check "all back: up0 up" wait_health 0 up
check "all back: up1 up" wait_health 1 up

# -- last resort unreachable: sockets fail at once instead
check "re-attach with --last-resort unreachable" attach --last-resort unreachable
check "re-attached: watch sees both up" wait_health 1 up
ip -n "$INET" link set gw0 down
ip -n "$INET" link set gw1 down
check "all down again: up1 down" wait_health 1 down
check "all down again: up0 down" wait_health 0 down
check_eq "all down (unreachable): new sockets get the unreachable mark" "0x12 10" "$(socket_marks 10)"
check_eq "status counts the unreachable sockets" "10" \
	"$("$MLB" status --cgroup "$CG" --json | jq '.attachments[0].unreachable_sockets')"
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 1 > /dev/null 2> "$WORK/unreach"
check "all down (unreachable): a connection fails at once" \
	grep -qE "No route to host|Network is unreachable" "$WORK/unreach"
ip -n "$INET" link set gw0 up
ip -n "$INET" link set gw1 up
check "recovered: up0 up" wait_health 0 up
check "recovered: up1 up" wait_health 1 up

# -- TCP and ARP probes
check "re-attach with TCP probes on up0 and ARP probes on up1" \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink "up0,probe=$SERVER,probe-type=tcp:5000,interval=0.2,timeout=0.2,down=3,up=2" \
	--uplink "up1,probe-type=arp,interval=0.2,timeout=0.2,down=3,up=2"
check "TCP-probed up0 is up" wait_health 0 up
check "ARP-probed up1 is up" wait_health 1 up
sleep 0.5
check "ARP-probed up1 answers its probes" sh -c \
	"'$MLB' status --cgroup '$CG' --json | jq -e '.attachments[0].uplinks[1].health.last_probe_ok' >/dev/null"
ip netns exec "$INET" nft add table arp mlbfault
ip netns exec "$INET" nft add chain arp mlbfault in '{ type filter hook input priority 0; }'
ip netns exec "$INET" nft add rule arp mlbfault in iifname gw1 drop
check "ARP lost on up1: up1 goes down" wait_health 1 down
check_eq "ARP lost on up1: up0 stays up" "up" "$(health 0)"
ip netns exec "$INET" nft delete table arp mlbfault
check "ARP back: up1 comes back" wait_health 1 up
ip netns exec "$INET" nft add table inet mlbfault
ip netns exec "$INET" nft add chain inet mlbfault in '{ type filter hook input priority -10; }'
ip netns exec "$INET" nft add rule inet mlbfault in iifname gw0 tcp dport 5000 drop
check "TCP probes unanswered on up0: up0 goes down" wait_health 0 down
ip netns exec "$INET" nft delete table inet mlbfault
check "TCP answered again: up0 comes back" wait_health 0 up

check "log has one line per change" grep -q "uplink up0: down (carrier lost)" "$WORK/watch.log"
"$MLB" detach --cgroup "$CG"
sleep 1.5
check "watch notices the detach" grep -q "no longer watching" "$WORK/watch.log"
stop_watch
bed_snapshot > "$WORK/after"
check_same "nothing left after detach" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
