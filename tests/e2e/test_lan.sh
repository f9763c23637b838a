#!/bin/bash
# test_lan.sh - the bed's client namespace as a router (--lan): a LAN
# client namespace behind it (10.77.0.0/24, fd77::/64) opens connections
# that the router forwards.  Counted at the gateways (which drop what
# does not carry their own uplink's source, as ISPs do): new TCP and UDP
# flows split by weight, IPv4 and IPv6, replies come back on every
# uplink; long-lived UDP flows keep their uplink while many other flows
# come and go, after an idle pause and when the program's LRU map has
# lost them (conntrack has their mark); ICMP and a datagram's later
# fragments are no flow; bypass and pin by destination;
# sticky; failover with watch; the router's own sockets in the cgroup
# are still balanced; detach leaves no tc program, nft table or pin; the
# split again with clsact filters (kernels before 6.6).
. "$(dirname "$0")/../lib/e2e.sh"
PIDS=
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	e2e_cleanup
	[ -z "${LANNS:-}" ] || netns_destroy "$LANNS"
}
trap cleanup EXIT

SERVER2=203.0.113.20		# a second server address, for destination rules
CLIENT=10.77.0.2
CLIENT6=fd77::2

bed_create 3
LANNS=$BED_ID-lan
in_lan() { in_ns "$LANNS" "$@"; }
# The router's LAN interface lan0 and the client behind it ($CLIENT,
# $CLIENT6); lan0 is made again later, to check that watch follows it.
lan_client_create "$CLI" "$LANNS" v6
ip -n "$INET" addr add "$SERVER2/32" dev lo
bed_strict_gateways 3

# New connections (SYN), UDP requests and their replies per gateway, and
# SYNs per gateway to each server address.
in_inet nft -f - <<NFT
table inet mlblan {
	counter syn0 {}
	counter syn1 {}
	counter syn2 {}
	counter syn6_0 {}
	counter syn6_1 {}
	counter udp0 {}
	counter udp1 {}
	counter udp2 {}
	counter synack0 {}
	counter synack1 {}
	counter synack2 {}
	counter two0 {}
	counter two1 {}
	counter two2 {}
	chain in {
		type filter hook input priority filter; policy accept;
		iifname "gw0" ip daddr $SERVER tcp flags & (syn | ack) == syn counter name syn0
		iifname "gw1" ip daddr $SERVER tcp flags & (syn | ack) == syn counter name syn1
		iifname "gw2" ip daddr $SERVER tcp flags & (syn | ack) == syn counter name syn2
		iifname "gw0" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn counter name syn6_0
		iifname "gw1" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn counter name syn6_1
		iifname "gw0" udp dport 5001 counter name udp0
		iifname "gw1" udp dport 5001 counter name udp1
		iifname "gw2" udp dport 5001 counter name udp2
		iifname "gw0" ip daddr $SERVER2 tcp flags & (syn | ack) == syn counter name two0
		iifname "gw1" ip daddr $SERVER2 tcp flags & (syn | ack) == syn counter name two1
		iifname "gw2" ip daddr $SERVER2 tcp flags & (syn | ack) == syn counter name two2
	}
	chain out {
		type filter hook output priority filter; policy accept;
		oifname "gw0" tcp flags & (syn | ack) == syn | ack counter name synack0
		oifname "gw1" tcp flags & (syn | ack) == syn | ack counter name synack1
		oifname "gw2" tcp flags & (syn | ack) == syn | ack counter name synack2
	}
}
NFT
counters() { nft_counters "$INET" mlblan "$@"; }
reset() { in_inet nft reset counters table inet mlblan >/dev/null; bed_spoofed_reset; }

# A UDP server that answers each datagram with the address it came from.
cat > "$WORK/echo_peer.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(peer[0].encode(), peer)
PY
# One datagram (of SIZE bytes, default 1) from each of the given source
# ports to ADDR:PORT; prints the address the server saw for each (the
# uplink it left by).
cat > "$WORK/flows.py" <<'PY'
import os, socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
data = b"x" * int(os.environ.get("SIZE", "1"))
seen = []
for sport in sys.argv[3:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sport)))
    s.settimeout(2)
    s.sendto(data, (addr, port))
    try:
        seen.append(s.recv(100).decode())
    except OSError:
        seen.append("none")
    s.close()
print(" ".join(seen))
PY

# How many tcx programs an interface's ingress has (BPF_PROG_QUERY;
# bpftool before 7.3 does not show tcx), "none" without tcx.
cat > "$WORK/tcx_count.py" <<'PY'
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint8 * 128)()
ids = (ctypes.c_uint32 * 64)()
ctypes.c_uint32.from_buffer(attr, 0).value = socket.if_nametoindex(sys.argv[1])
ctypes.c_uint32.from_buffer(attr, 4).value = 46          # BPF_TCX_INGRESS
ctypes.c_uint64.from_buffer(attr, 16).value = ctypes.addressof(ids)
ctypes.c_uint32.from_buffer(attr, 24).value = 64
if libc.syscall(321, 16, attr, 128) != 0:                # bpf(BPF_PROG_QUERY)
    print("none")
elif sys.argv[2:] == ["ids"]:
    print(" ".join(str(ids[i]) for i in
                   range(ctypes.c_uint32.from_buffer(attr, 24).value)))
else:
    print(ctypes.c_uint32.from_buffer(attr, 24).value)
PY
tcx_on_lan0() { in_cli python3 "$WORK/tcx_count.py" lan0; }
# Without --lan, lan0 (a veth whose peer is in another namespace) is a
# container veth like any other: only mlb_tc_lan must be gone.
lan_programs_on_lan0() {
	local id
	if [ "$(kernel_tc_mode)" = clsact ]; then
		in_cli tc filter show dev lan0 ingress | grep -c mlb_tc_lan
		return
	fi
	for id in $(in_cli python3 "$WORK/tcx_count.py" lan0 ids); do
		bpftool prog show id "$id" --json | jq -r .name
	done | grep -c '^mlb_tc_lan$'
}

# N TCP connections to ADDR:PORT one after another from the same source
# port, each closed by a reset (so the client keeps no TIME_WAIT and the
# next one reuses the ports of a closed conntrack entry).
cat > "$WORK/reuse.py" <<'PY'
import socket, struct, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.bind(("0.0.0.0", 45000))
    s.settimeout(3)
    try:
        s.connect((addr, port))
        ok += 1
    except OSError:
        pass
    s.close()
print("connected", ok)
PY

SRV=$(bed_server_start "$WORK/tcp")
SRV6=$(bed_server_start "$WORK/tcp6" "" 5000 "[$SERVER6]")
SRV_UDP=$(bed_server_start "$WORK/udp" --udp 5001)
SRV2=$(bed_server_start "$WORK/two" "" 5000 "$SERVER2")
PIDS="$SRV $SRV6 $SRV_UDP $SRV2"
nsenter --net="/run/netns/$INET" python3 -u "$WORK/echo_peer.py" "$SERVER" 5003 \
	> "$WORK/echo.ready" &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q ready "$WORK/echo.ready" && break; sleep 0.1; done

in_cli sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
snapshot() {
	bed_snapshot
	echo "tc on lan0:"
	in_cli tc qdisc show dev lan0
	in_cli tc filter show dev lan0 ingress
	echo "tcx programs: $(tcx_on_lan0)"
}
snapshot > "$WORK/before"

attach() {
	"$MLB" attach --netns "$CLI" --cgroup "$CG" "$@"
}
# tcp N [ADDR]: N connections from the LAN client; "failures 0" expected.
tcp() {
	in_lan "$CRR" client --connect "${2:-$SERVER}:5000" --count "$1" \
		--timeout 3 | grep -x 'failures [0-9]*'
}
lan_flows() {
	"$MLB" status --cgroup "$CG" --json |
		jq -r '[.attachments[0].uplinks[].lan_flows] | join(" ")'
}

# udp_round BASE: 60 UDP exchanges from source ports BASE..BASE+59, below
# the kernel's ephemeral range: a random port may be that of an earlier
# flow whose conntrack entry still lives, and so rightly keep that flow's
# uplink.  Prints how many went unanswered.
udp_round() {
	in_lan python3 "$WORK/flows.py" "$SERVER" 5001 $(seq "$1" $(($1 + 59))) |
		tr ' ' '\n' | grep -c none
}

# -- 1:1:1, IPv4 TCP and UDP
check "attach with --lan lan0 and three uplinks" attach --uplink up0 \
	--uplink up1 --uplink up2 --lan lan0
if [ "$(kernel_tc_mode)" = tcx ]; then
	check_eq "lan0 has one tcx program" 1 "$(tcx_on_lan0)"
else
	check "lan0 has a cls_bpf filter (clsact: this kernel predates tcx)" \
		sh -c "nsenter --net=/run/netns/$CLI tc filter show dev lan0 ingress | grep -q bpf"
fi
check "status names the LAN interface" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -q '^  lan  *lan0 '"
reset
check_eq "60 TCP connections from the LAN client succeed" "failures 0" "$(tcp 60)"
check_eq "they split 20/20/20 at the gateways" "20 20 20 " \
	"$(counters syn0 syn1 syn2)"
check "replies came back by every uplink (SYN-ACKs sent by each gateway)" \
	test "$(counters synack0 synack1 synack2 | tr ' ' '\n' | grep -c '^[1-9]')" = 3
check_eq "no gateway saw another uplink's (or the LAN's) source address" \
	"0 0 0 " "$(bed_spoofed 3)"
check_eq "status --json counts the new flows per uplink" "20 20 20" "$(lan_flows)"
reset
check_eq "60 UDP exchanges from the LAN client succeed" 0 "$(udp_round 21000)"
check_eq "UDP flows split 20/20/20 at the gateways" "20 20 20 " \
	"$(counters udp0 udp1 udp2)"
check_eq "UDP: no wrong source at the gateways" "0 0 0 " "$(bed_spoofed 3)"

# -- what carries no flow is left alone: ICMP, and a datagram's later
# fragments (no ports; the first fragment is the flow's)
all_lan_flows() { lan_flows | awk '{ print $1 + $2 + $3 }'; }
pings() { in_lan busybox ping -q -c 3 -W 3 "$SERVER" > /dev/null; }
before=$(all_lan_flows)
check "pings from the LAN client are answered" pings
check_eq "the pings are no new flow" "$before" "$(all_lan_flows)"
big=$(in_lan env SIZE=4000 python3 "$WORK/flows.py" "$SERVER" 5003 \
	40021 40022 40023)
check "three datagrams of 4000 bytes (IPv4 fragments) are answered (got $big)" \
	test "$(echo "$big" | tr ' ' '\n' | grep -vc none)" = 3
check_eq "they are three new flows, not one per fragment" \
	"$((before + 3))" "$(all_lan_flows)"

# -- long-lived UDP flows keep their uplink
FLOWS="40001 40002 40003"
first=$(in_lan python3 "$WORK/flows.py" "$SERVER" 5003 $FLOWS)
check_eq "three long-lived UDP flows got three different uplinks" 3 \
	"$(echo "$first" | tr ' ' '\n' | grep -v none | sort -u | wc -l)"
in_lan "$CRR" client --udp --connect "$SERVER:5001" --count 300 --timeout 3 > /dev/null
in_lan "$CRR" client --connect "$SERVER:5000" --count 300 --timeout 3 > "$WORK/many"
check_eq "after 600 other flows each long-lived flow keeps its uplink" \
	"$first" "$(in_lan python3 "$WORK/flows.py" "$SERVER" 5003 $FLOWS)"
sleep 8
check_eq "after 8 s idle each long-lived flow keeps its uplink" \
	"$first" "$(in_lan python3 "$WORK/flows.py" "$SERVER" 5003 $FLOWS)"
# The program's LRU map of flow marks (lan_marks) is only a shortcut: a
# flow it no longer holds gets its uplink back from conntrack.  Every
# entry is deleted, then each long-lived flow sends again, each after a
# new flow (so a program that balanced them afresh would give them the
# uplinks in another order).
lan_marks_id() {
	local pin id
	pin=/sys/fs/bpf/mlb/$(stat -c %i "$CG")/prog_tc_lan
	for id in $(bpftool prog show pinned "$pin" -j | jq -r '.map_ids[]'); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = lan_marks ] ||
			continue
		echo "$id"
		return
	done
}
LAN_MARKS=$(lan_marks_id)
bpftool map dump id "${LAN_MARKS:-0}" -j 2>/dev/null |
	jq -r --arg id "$LAN_MARKS" '.[] | "map delete id \($id) key hex " +
		(.key | map(ltrimstr("0x")) | join(" "))' > "$WORK/forget"
check "the LRU map of flow marks held the long-lived flows" \
	test "$(wc -l < "$WORK/forget")" -ge 3
bpftool batch file "$WORK/forget" > /dev/null
check_eq "every entry of the LRU map is deleted" 0 \
	"$(bpftool map dump id "${LAN_MARKS:-0}" -j 2>/dev/null | jq length)"
again=$(in_lan python3 "$WORK/flows.py" "$SERVER" 5003 40001 40011 40002 \
	40012 40003 | awk '{ print $1, $3, $5 }')
check_eq "without their LRU entries the long-lived flows keep their uplinks" \
	"$first" "$again"

# -- a new connection on the ports of a closed one is a new flow
reset
check_eq "30 connections from one source port, each reset" "connected 30" \
	"$(in_lan python3 "$WORK/reuse.py" "$SERVER" 5000 30)"
check_eq "they split 10/10/10 (a closed entry's uplink is not reused)" \
	"10 10 10 " "$(counters syn0 syn1 syn2)"
check_eq "reused ports: no wrong source at the gateways" "0 0 0 " "$(bed_spoofed 3)"

# -- the router's own sockets in the cgroup are balanced as before
reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 60 > "$WORK/own"
check "the router's own connections succeed" grep -qx "failures 0" "$WORK/own"
check_eq "the router's own connections split 20/20/20" "20 20 20 " \
	"$(counters syn0 syn1 syn2)"
check "detach succeeds" "$MLB" detach --cgroup "$CG"
snapshot > "$WORK/after"
check_same "detach left no tc program, nft table, rule, route or pin" \
	"$WORK/before" "$WORK/after"

# -- weighted 1:2, IPv4 and IPv6 (the two uplinks that carry it)
check "attach weighted 1:2" attach --uplink up0 --uplink up1,weight=2 --lan lan0
reset
check_eq "weighted: 60 TCP connections succeed" "failures 0" "$(tcp 60)"
check_eq "weighted: they split 20/40" "20 40 0 " "$(counters syn0 syn1 syn2)"
check_eq "weighted: 60 IPv6 TCP connections succeed" "failures 0" \
	"$(tcp 60 "[$SERVER6]")"
check_eq "weighted: IPv6 splits 20/40" "20 40 " "$(counters syn6_0 syn6_1)"
check_eq "weighted: no wrong source at the gateways" "0 0 0 " "$(bed_spoofed 3)"
check "detach succeeds (weighted)" "$MLB" detach --cgroup "$CG"

# -- bypass and pin by destination
check "attach with a bypass and a pin" attach --uplink up0 --uplink up1 \
	--uplink up2 --lan lan0 --bypass "$SERVER/32" --pin "$SERVER2/32:up2"
reset
tcp 30 > /dev/null
tcp 30 "$SERVER2" > /dev/null
check_eq "bypassed destination: all by the main table's uplink (up0)" \
	"30 0 0 " "$(counters syn0 syn1 syn2)"
check_eq "pinned destination: all by up2" "0 0 30 " "$(counters two0 two1 two2)"
check_eq "bypass and pin: no wrong source at the gateways" "0 0 0 " "$(bed_spoofed 3)"

# -- sticky: each destination keeps the uplink its first flow got
check "attach with --sticky" attach --uplink up0 --uplink up1 --uplink up2 \
	--lan lan0 --sticky 60
reset
for _ in $(seq 10); do tcp 2 > /dev/null; tcp 2 "$SERVER2" > /dev/null; done
one=$(counters syn0 syn1 syn2)
two=$(counters two0 two1 two2)
check "sticky: the 20 flows to $SERVER all used one uplink" \
	sh -c "echo '$one' | tr ' ' '\n' | grep -qx 20"
check "sticky: the 20 flows to $SERVER2 all used one uplink" \
	sh -c "echo '$two' | tr ' ' '\n' | grep -qx 20"
check "sticky: the two destinations got different uplinks" test "$one" != "$two"

# -- failover: watch takes a dead uplink out, new LAN flows move
FAST="probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2"
check "attach with fast probes" attach --uplink "up0,$FAST" \
	--uplink "up1,$FAST" --uplink "up2,$FAST" --lan lan0
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
check "watch sees up1 up" wait_health 1 up
ip -n "$INET" link set gw1 down
check "up1 goes down" wait_health 1 down
reset
check_eq "failover: 40 new LAN connections succeed" "failures 0" "$(tcp 40)"
check_eq "failover: they use up0 and up2 only" "20 0 20 " \
	"$(counters syn0 syn1 syn2)"
ip -n "$INET" link set gw1 up
check "up1 comes back" wait_health 1 up
reset
tcp 60 > /dev/null
check_eq "after recovery: 20/20/20 again" "20 20 20 " "$(counters syn0 syn1 syn2)"
# The LAN interface deleted and made again (a new ifindex): watch puts the
# program back on it.
ip -n "$CLI" link del lan0
lan_link_create "$CLI" "$LANNS" v6
lan0_has_program() {
	for _ in $(seq 100); do
		[ "$(lan_programs_on_lan0)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "lan0 made again: watch puts the program back" lan0_has_program
reset
check_eq "lan0 made again: 60 TCP connections succeed" "failures 0" "$(tcp 60)"
check_eq "lan0 made again: they split 20/20/20" "20 20 20 " \
	"$(counters syn0 syn1 syn2)"
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=

# Strict reverse-path filtering on an uplink drops forwarded replies that
# come back by it: attach says so.
in_cli sysctl -qw net.ipv4.conf.up2.rp_filter=1
"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
	--uplink up2 --lan lan0 2> "$WORK/rpf.err"
check "attach warns of up2's strict rp_filter" \
	grep -q "warning: strict reverse-path filtering (rp_filter=1) on up2 " \
	"$WORK/rpf.err"
in_cli sysctl -qw net.ipv4.conf.up2.rp_filter=0
check "detach succeeds (failover)" "$MLB" detach --cgroup "$CG"

# -- the configuration file: lan = in a policy; taking it out re-attaches
write_conf() {
	{ echo "[global]"; echo "netns = $CLI"
	  echo "[uplink up0]"; echo "[uplink up1]"; echo "[uplink up2]"
	  echo "[policy $CG]"; [ -n "$1" ] && echo "lan = $1"; } > "$WORK/lan.conf"
}
# apply reads every attachment of the machine: one of another version
# (another bed's) makes it refuse, so the checks are skipped then.
if "$MLB" status 2>&1 | grep -q "another version"; then
	echo "ok - apply with lan = # SKIP an attachment of another mlb-bpf version is pinned"
else
	write_conf lan0
	check_eq "apply attaches the policy with its LAN" "attach $CG" \
		"$("$MLB" apply -c "$WORK/lan.conf")"
	reset
	check_eq "apply: 60 TCP connections succeed" "failures 0" "$(tcp 60)"
	check_eq "apply: they split 20/20/20" "20 20 20 " "$(counters syn0 syn1 syn2)"
	write_conf ""
	check_eq "apply without lan re-attaches" "re-attach $CG: lan" \
		"$("$MLB" apply -c "$WORK/lan.conf")"
	check_eq "apply without lan: no LAN program on lan0" 0 \
		"$(lan_programs_on_lan0)"
	check "detach succeeds (apply)" "$MLB" detach --cgroup "$CG"
fi

# -- clsact filters, as on kernels before 6.6
check "attach with MLB_TC_MODE=clsact" env MLB_TC_MODE=clsact "$MLB" attach \
	--netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --uplink up2 --lan lan0
check "clsact: status shows the mode" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -q '^  lan  *lan0 (clsact)'"
check "clsact: a cls_bpf filter is on lan0's ingress" sh -c \
	"nsenter --net=/run/netns/$CLI tc filter show dev lan0 ingress | grep -q bpf"
reset
check_eq "clsact: 60 TCP connections succeed" "failures 0" "$(tcp 60)"
check_eq "clsact: they split 20/20/20" "20 20 20 " "$(counters syn0 syn1 syn2)"
reset
check_eq "clsact: 60 UDP exchanges succeed" 0 "$(udp_round 22000)"
check_eq "clsact: UDP flows split 20/20/20" "20 20 20 " \
	"$(counters udp0 udp1 udp2)"
check_eq "clsact: no wrong source at the gateways" "0 0 0 " "$(bed_spoofed 3)"
check "detach succeeds (clsact)" "$MLB" detach --cgroup "$CG"
snapshot > "$WORK/after"
check_same "clsact: detach left no qdisc, filter, nft table or pin" \
	"$WORK/before" "$WORK/after"

check "the host's own namespace is untouched" bed_host_untouched
