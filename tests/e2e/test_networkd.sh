#!/bin/bash
# test_networkd.sh - three uplinks owned by systemd-networkd, with their
# addresses and default routes from DHCP (dnsmasq on the gateways' side,
# 2-minute leases renewed every few seconds), balanced by mlb-bpf under
# watch.  After each of networkd's events each uplink carries its share
# again, counted at gateways that drop other sources:
#   - lease renewals (networkd refreshes the address; nothing moves),
#   - a new address on re-lease,
#   - `networkctl reconfigure` (networkd removes every routing rule and
#     route it did not make, mlb-bpf's included: its default
#     ManageForeignRoutingPolicyRules=yes and ManageForeignRoutes=yes),
#   - `networkctl reload`,
#   - a restart of networkd (stopped by SIGTERM: it takes its addresses
#     away, and with them the kernel drops the uplinks' routes).
# How long each uplink was usable before mlb-bpf's routing was whole
# again is printed (from the kernel's own event times), not judged.
. "$(dirname "$0")/../lib/e2e.sh"
. tests/lib/networkd.sh
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	[ -z "${MON:-}" ] || nd_kill "$MON"
	nd_stop
	bed_server_stop "${SRV:-}"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

for need in /lib/systemd/systemd-networkd dnsmasq dbus-daemon; do
	if ! command -v "$need" > /dev/null; then
		echo "not ok - $need is missing (scripts/install-deps.sh installs it)"
		exit 1
	fi
done

bed_create 3
bed_strict_gateways 3
bed_flow_counters mlbnd 3
SRV=$(bed_server_start "$WORK/srv")

# split: 60 new connections from the cgroup; "S0 S1 S2 failures F" as the
# gateways counted them.
split() {
	local failures
	in_inet nft reset counters table inet mlbnd > /dev/null
	bed_spoofed_reset
	failures=$(in_cgroup "$CRR" client --connect "$SERVER:5000" --count 60 \
		--timeout 3 | awk '$1 == "failures" { print $2 }')
	echo "$(nft_counters "$INET" mlbnd syn_gw0 syn_gw1 syn_gw2)failures $failures"
}
# settled_split: the split, once it is 20/20/20 or after 10 s of trying
# (a repair in progress is not judged, what it ends in is).
settled_split() {
	local got try
	for try in $(seq 20); do
		got=$(split)
		[ "$got" = "20 20 20 failures 0" ] && break
		echo "# round $try: $got" >&2
		sleep 0.5
	done
	echo "$got"
}
check_split() {
	check_eq "$1: each uplink carries its share (at the gateways)" \
		"20 20 20 failures 0" "$(settled_split)"
	check_eq "$1: no gateway saw another uplink's source" "0 0 0 " \
		"$(bed_spoofed 3)"
}
# The kernel's address, route and rule events with their times, to tell
# how long an uplink was usable before mlb-bpf's routing was whole.
MONLOG=$WORK/monitor
ip -n "$CLI" -ts -o monitor address route rule > "$MONLOG" 2>&1 &
MON=$!
mark_events() { wc -l < "$MONLOG"; }
# ms_of LINE: the time of a monitor line ("[2026-12-03T06:48:46.346910] ...")
ms_of() {
	local stamp=${1#\[}
	date -d "${stamp%%]*}" +%s%3N
}
# window FROM IFACE: ms from the uplink's address coming (the first time
# since line FROM; a renewal announces it again later) to mlb-bpf's two
# routes for it (subnet and default) being back after that.
window() {
	local table addr_line route_line
	table=$("$MLB" status --cgroup "$CG" --json | jq -r \
		--arg i "$2" '.attachments[0].uplinks[] | select(.name == $i) | .table')
	tail -n +"$(($1 + 1))" "$MONLOG" | grep -v Deleted > "$WORK/since"
	addr_line=$(grep -n -m 1 -E ": $2 +inet " "$WORK/since")
	[ -n "$addr_line" ] && route_line=$(tail -n +"${addr_line%%:*}" "$WORK/since" |
		grep -m 2 -E "table $table .*proto 77" | tail -n 1)
	if [ -z "$addr_line" ] || [ -z "${route_line:-}" ]; then
		echo "n/a"
		return
	fi
	echo "$(($(ms_of "$route_line") - $(ms_of "${addr_line#*:}"))) ms"
}
# rules_gap FROM: ms from the first of mlb-bpf's rules removed (since
# line FROM) to the last one put back.
rules_gap() {
	local lines first last
	lines=$(tail -n +"$(($1 + 1))" "$MONLOG" | grep -E '\] (Deleted )?[0-9]+:.*proto 77')
	first=$(echo "$lines" | grep -m 1 Deleted)
	last=$(echo "$lines" | grep -v Deleted | tail -n 1)
	if [ -z "$first" ] || [ -z "$last" ]; then
		echo "n/a (none removed)"
		return
	fi
	echo "$(($(ms_of "$last") - $(ms_of "$first"))) ms"
}

# -- networkd takes the leases
nd_create 3
nd_dhcp_start 3
nd_start
for i in 0 1 2; do
	check "networkd: up$i has an address from DHCP" nd_wait_addr "up$i" '\.1[0-4][0-9]$'
done
if [ -z "$(nd_addr up2)" ]; then
	tail -n 15 "$ND_DIR/networkd.log" "$ND_DIR/dnsmasq.log" | sed 's/^/#   /'
fi
nd_ctl list > "$WORK/list" 2>&1
check "networkctl talks to networkd (up0 routable)" grep -q 'up0.*routable' "$WORK/list"
for i in 0 1 2; do
	check "networkd: up$i has its default route from the lease" sh -c \
		"ip -n '$CLI' route show default dev up$i | grep -q 'proto dhcp'"
done

check "attach over the DHCP uplinks" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --uplink up2
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
check "watch sees every uplink up" wait_health 0 up
check_split "under networkd"

# -- renewals: networkd refreshes the leases every ND_T1 seconds
acks() { grep -c 'DHCPACK(gw0)' "$ND_DIR/dnsmasq.log"; }
before=$(acks)
check "two lease renewals of up0 seen by the DHCP server" \
	sh -c "for _ in \$(seq 60); do [ \$(grep -c 'DHCPACK(gw0)' '$ND_DIR/dnsmasq.log') -ge $((before + 2)) ] && exit 0; sleep 0.5; done; exit 1"
check_split "after lease renewals"
check "networkctl renew up1 up2" nd_ctl renew up1 up2
check_split "after networkctl renew"

# -- a new address on re-lease: the DHCP server moves up0's range
old=$(nd_addr up0)
nd_kill "$ND_DNSMASQ"
nd_dhcp_start 3 new
m=$(mark_events)
check "networkctl reconfigure up0 (for its new lease)" nd_ctl reconfigure up0
check "up0 got a new address ($old before)" nd_wait_addr up0 '\.1[5-9][0-9]$'
check_split "after a new address"
echo "# mlb-bpf's rules removed by networkd to back (new address): $(rules_gap "$m")"
echo "# up0 usable to mlb-bpf's routes back (new address): $(window "$m" up0)"
check_eq "status shows up0's new address" "$(nd_addr up0)" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0].address')"
check "watch logged up0's move" grep -q "uplink up0: .*$(nd_addr up0)" "$WORK/watch.log"

# -- reconfigure: networkd removes the rules and routes it does not know
m=$(mark_events)
check "networkctl reconfigure up1" nd_ctl reconfigure up1
check "up1 has its address again" nd_wait_addr up1
check_split "after networkctl reconfigure"
echo "# up1 usable to mlb-bpf's routes back (reconfigure): $(window "$m" up1)"
echo "# mlb-bpf's rules removed by networkd to back (reconfigure): $(rules_gap "$m")"
check "networkd removed mlb-bpf's rules (what watch had to repair)" \
	grep -q 'Removing foreign routing policy rule' "$ND_DIR/networkd.log"
check "watch logged the repair" grep -q 'rules: ' "$WORK/watch.log"

check "networkctl reload" nd_ctl reload
check_split "after networkctl reload"

# -- restart: networkd stopped (its addresses go, the kernel drops the
# uplinks' routes) and started again
nd_kill "$ND_PID"
ND_PID=
m=$(mark_events)
nd_start
for i in 0 1 2; do
	check "restart: up$i has an address again" nd_wait_addr "up$i"
done
check_split "after a restart of networkd"
for i in 0 1 2; do
	echo "# up$i usable to mlb-bpf's routes back (restart): $(window "$m" "up$i")"
done
echo "# mlb-bpf's rules removed to back (restart): $(rules_gap "$m")"

# -- with the drop-in mlb-bpf's package ships as an example, networkd
# leaves mlb-bpf's rules alone on reconfigure
nd_kill "$ND_PID"
nd_start examples/networkd-mlb-bpf.conf
for i in 0 1 2; do
	check "drop-in: up$i has an address again" nd_wait_addr "up$i"
done
check_split "networkd with the drop-in"
m=$(mark_events)
check "drop-in: networkctl reconfigure up2" nd_ctl reconfigure up2
check "drop-in: up2 has its address again" nd_wait_addr up2
check_split "drop-in: after networkctl reconfigure"
check_eq "drop-in: networkd removed none of mlb-bpf's rules" "" \
	"$(tail -n +"$((m + 1))" "$MONLOG" | grep -E '\] Deleted [0-9]+:.*proto 77')"

# -- without watch nothing puts the routing back: after a restart of
# networkd (its stop takes the addresses, and with them the kernel drops
# the uplinks' routes) the split is lost until `mlb-bpf repair`
kill "$WATCH"
wait "$WATCH" 2>/dev/null
WATCH=
nd_kill "$ND_PID"
nd_start
for i in 0 1 2; do nd_wait_addr "up$i"; done
got=$(split)
check "no watch: after a restart of networkd the split is lost (got $got)" \
	test "$got" != "20 20 20 failures 0"
check "mlb-bpf repair" "$MLB" repair --cgroup "$CG"
check_split "no watch: after mlb-bpf repair"

check "detach" "$MLB" detach --cgroup "$CG"
check_eq "detach left no rule or route of mlb-bpf's" "" \
	"$({ ip -n "$CLI" rule; ip -n "$CLI" route show table all; } | grep -w 'proto 77')"
check "the host's own namespace is untouched" bed_host_untouched
