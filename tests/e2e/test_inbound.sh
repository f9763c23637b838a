#!/bin/bash
# test_inbound.sh - servers in the balanced cgroup answer on every uplink.
#
# Three uplinks (up2 IPv4 only), listeners started inside the attached
# cgroup so that round-robin gives them different marks (TCP on 0.0.0.0
# and [::], UDP servers that reply from the arrival address with
# IP_PKTINFO / IPV6_PKTINFO), a remote client behind the gateways
# (203.0.113.10 and 2001:db8:ff::10 on the internet namespace's lo), and
# gateways that drop what does not carry their own uplink's source
# address (rp_filter=1 for IPv4, nft drops for IPv6), as ISPs do.  Every
# (uplink address, listener) pair must answer, each reply through the
# gateway of the address it was sent to; also with tcp_fwmark_accept=1
# and with strict reverse-path filtering on the balanced host; outbound
# still splits exactly, and a socket bound to an uplink's address leaves
# by it; an unconnected UDP server without IP_PKTINFO answers on its own
# uplink's address only (the documented limit); and detach restores
# everything.
. "$(dirname "$0")/../lib/e2e.sh"
e2e_cleanup_on_exit

N=4			# exchanges per (address, listener) pair
UP2_ADDR=10.102.0.2
ADDRS4="$UP0_ADDR $UP1_ADDR $UP2_ADDR"
ADDRS6="$UP0_ADDR6 $UP1_ADDR6"

bed_create 3

bed_strict_gateways 3
in_inet nft -f - <<NFT
table inet mlbinbound {
	counter synack4_gw0 {}
	counter synack4_gw1 {}
	counter synack4_gw2 {}
	counter udp4_gw0 {}
	counter udp4_gw1 {}
	counter udp4_gw2 {}
	counter synack6_gw0 {}
	counter synack6_gw1 {}
	counter udp6_gw0 {}
	counter udp6_gw1 {}
	counter syn_gw0 {}
	counter syn_gw1 {}
	counter syn_gw2 {}
	chain in {
		type filter hook input priority filter; policy accept;
		iifname "gw0" ip daddr $SERVER tcp flags & (syn | ack) == syn | ack counter name synack4_gw0
		iifname "gw1" ip daddr $SERVER tcp flags & (syn | ack) == syn | ack counter name synack4_gw1
		iifname "gw2" ip daddr $SERVER tcp flags & (syn | ack) == syn | ack counter name synack4_gw2
		iifname "gw0" ip daddr $SERVER udp sport 6001 counter name udp4_gw0
		iifname "gw1" ip daddr $SERVER udp sport 6001 counter name udp4_gw1
		iifname "gw2" ip daddr $SERVER udp sport 6001 counter name udp4_gw2
		iifname "gw0" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn | ack counter name synack6_gw0
		iifname "gw1" ip6 daddr $SERVER6 tcp flags & (syn | ack) == syn | ack counter name synack6_gw1
		iifname "gw0" ip6 daddr $SERVER6 udp sport 6001 counter name udp6_gw0
		iifname "gw1" ip6 daddr $SERVER6 udp sport 6001 counter name udp6_gw1
		iifname "gw0" ip daddr $SERVER tcp dport 5000 tcp flags & (syn | ack) == syn counter name syn_gw0
		iifname "gw1" ip daddr $SERVER tcp dport 5000 tcp flags & (syn | ack) == syn counter name syn_gw1
		iifname "gw2" ip daddr $SERVER tcp dport 5000 tcp flags & (syn | ack) == syn counter name syn_gw2
	}
}
NFT
counter() { nft_counter "$INET" mlbinbound "$1"; }
counters() { nft_counters "$INET" mlbinbound "$@"; }
SRV=$(bed_server_start "$WORK/outbound")
PIDS="$SRV"
bed_snapshot > "$WORK/before"

check "attach to the bed's cgroup, three uplinks" "$MLB" attach \
	--netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --uplink up2

# listen NAME ARGS...: a crr server inside the attached cgroup (sh moves
# itself in, then nsenter and crr exec in its place, so $! is the server).
declare -A MARK
listen() {
	local name=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" \
		nsenter --net="/run/netns/$CLI" "$CRR" server "$@" \
		--report "$WORK/$name" > "$WORK/$name.ready" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 50); do
		grep -q ready "$WORK/$name.ready" 2>/dev/null && break
		sleep 0.1
	done
	MARK[$name]=$(awk '$1 == "ready" { print $3 }' "$WORK/$name.ready")
}
# One after another: consecutive sockets of the cgroup, so round-robin
# gives each family's three listeners the three uplinks' marks.
listen tcp4a --listen 0.0.0.0:6000
listen tcp6a --listen "[::]:6000"
listen udp4 --listen 0.0.0.0:6001 --udp --pktinfo
listen udp6 --listen "[::]:6001" --udp --pktinfo
listen tcp4b --listen 0.0.0.0:6002
listen tcp6b --listen "[::]:6002"
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
check_eq "the IPv4 listeners got the three uplinks' marks" "0x10 0x11 0x12 " \
	"$(sorted "${MARK[tcp4a]}" "${MARK[udp4]}" "${MARK[tcp4b]}")"
check_eq "the IPv6 listeners got the three uplinks' marks" "0x10 0x11 0x12 " \
	"$(sorted "${MARK[tcp6a]}" "${MARK[udp6]}" "${MARK[tcp6b]}")"
check_eq "ss shows the TCP listeners' marks" \
	"$(sorted "${MARK[tcp4a]}" "${MARK[tcp4b]}" "${MARK[tcp6a]}" "${MARK[tcp6b]}")" \
	"$(sorted $(in_cli ss -Hltne 'sport = :6000 or sport = :6002' |
		grep -o 'fwmark:0x[0-9a-f]*' | cut -d: -f2))"

# answered ADDR PORT [--udp]: how many of N exchanges from the remote
# client to ADDR:PORT got their answer.
answered() {
	local addr=$1 port=$2 target bind
	shift 2
	if [[ $addr == *:* ]]; then
		target="[$addr]:$port" bind=$SERVER6
	else
		target="$addr:$port" bind=$SERVER
	fi
	in_inet "$CRR" client --connect "$target" --bind "$bind" "$@" \
		--count $N --threads $N --timeout 2 2>/dev/null |
		awk '$1 == "transactions" { t = $2 } $1 == "failures" { f = $2 }
		     END { print t - f }'
}

# every_pair WHAT [tcp-only]: each (uplink address, listener) answers.
every_pair() {
	local what=$1 only=${2:-} a
	for a in $ADDRS4; do
		check_eq "$what: TCP $a:6000 (mark ${MARK[tcp4a]}) answers" $N "$(answered $a 6000)"
		check_eq "$what: TCP $a:6002 (mark ${MARK[tcp4b]}) answers" $N "$(answered $a 6002)"
		[ -n "$only" ] ||
		check_eq "$what: UDP $a:6001 (mark ${MARK[udp4]}) answers" $N "$(answered $a 6001 --udp)"
	done
	for a in $ADDRS6; do
		check_eq "$what: TCP [$a]:6000 (mark ${MARK[tcp6a]}) answers" $N "$(answered $a 6000)"
		check_eq "$what: TCP [$a]:6002 (mark ${MARK[tcp6b]}) answers" $N "$(answered $a 6002)"
		[ -n "$only" ] ||
		check_eq "$what: UDP [$a]:6001 (mark ${MARK[udp6]}) answers" $N "$(answered $a 6001 --udp)"
	done
}

# Each reply came back through the gateway of the address it was sent to
# (each TCP listener answers N SYNs per address, the UDP server N
# datagrams), and no gateway saw another uplink's source address.
replies_at_gateways() {
	local what=$1 udp4=$N udp6=$N
	[ -n "${2:-}" ] && udp4=0 udp6=0
	check_eq "$what: IPv4 SYN-ACKs per gateway (gw0 gw1 gw2)" \
		"$((2 * N)) $((2 * N)) $((2 * N)) " "$(counters synack4_gw0 synack4_gw1 synack4_gw2)"
	check_eq "$what: IPv6 SYN-ACKs per gateway (gw0 gw1)" \
		"$((2 * N)) $((2 * N)) " "$(counters synack6_gw0 synack6_gw1)"
	check_eq "$what: IPv4 UDP replies per gateway (gw0 gw1 gw2)" \
		"$udp4 $udp4 $udp4 " "$(counters udp4_gw0 udp4_gw1 udp4_gw2)"
	check_eq "$what: IPv6 UDP replies per gateway (gw0 gw1)" \
		"$udp6 $udp6 " "$(counters udp6_gw0 udp6_gw1)"
	check_eq "$what: no gateway saw another uplink's source address" \
		"0 0 0 " "$(bed_spoofed 3)"
	in_inet nft reset counters table inet mlbinbound >/dev/null
	bed_spoofed_reset
}

in_inet nft reset counters table inet mlbinbound >/dev/null
bed_spoofed_reset
every_pair "inbound"
replies_at_gateways "inbound"

# Accepted connections keep the listener's mark (it is not the uplink
# they came in on for most of them) and still carry traffic both ways:
# two held connections to every uplink address, pinged for 15 s (ss
# looks while they are held: an emulated guest takes seconds to start
# the ten, and the first must still be up when the last is).
listen echo4 --listen 0.0.0.0:6004 --echo
listen echo6 --listen "[::]:6004" --echo
expected= held=
for a in $ADDRS4 $ADDRS6; do
	if [[ $a == *:* ]]; then
		t="[$a]" bind=$SERVER6 m=${MARK[echo6]}
	else
		t=$a bind=$SERVER m=${MARK[echo4]}
	fi
	expected+="$t:6004 $m"$'\n'"$t:6004 $m"$'\n'
	nsenter --net="/run/netns/$INET" "$CRR" hold --connect "$t:6004" \
		--bind "$bind" --count 2 --duration 15 > "$WORK/hold.$a" &
	held="$held $!"
done
for a in $ADDRS4 $ADDRS6; do
	for _ in $(seq 50); do
		grep -q ready "$WORK/hold.$a" && break
		sleep 0.1
	done
done
check_eq "accepted connections on every uplink address have the listener's mark" \
	"$(printf '%s' "$expected" | sort)" \
	"$(in_cli ss -Htne state established 'sport = :6004' |
		awk '{ l = m = ""; for (i = 1; i <= NF; i++) {
			if ($i ~ /:6004$/) l = $i; if ($i ~ /^fwmark:/) m = $i }
			sub(/^fwmark:/, "", m); print l, m }' | sort)"
wait $held
check_eq "and carry traffic both ways (held connections answered)" \
	"10 ok" "$(cat "$WORK"/hold.* | grep -c ' ok$') ok"

# Outbound from the cgroup, with the listeners running, still splits
# exactly.
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 60 > "$WORK/out"
check "outbound: 60 TCP connections from the cgroup succeed" \
	grep -qx "failures 0" "$WORK/out"
check_eq "outbound: SYNs per gateway (gw0 gw1 gw2)" "20 20 20 " \
	"$(counters syn_gw0 syn_gw1 syn_gw2)"
in_inet nft reset counters table inet mlbinbound >/dev/null
# A socket bound to an uplink's address leaves by that uplink, whatever
# mark it got (no destination programs are attached to take it away).
in_cgroup "$CRR" client --connect "$SERVER:5000" --bind "$UP1_ADDR" \
	--count 30 > "$WORK/bound"
check "outbound: 30 TCP connections bound to up1's address succeed" \
	grep -qx "failures 0" "$WORK/bound"
check_eq "outbound: bound to up1's address, SYNs per gateway (gw0 gw1 gw2)" \
	"0 30 0 " "$(counters syn_gw0 syn_gw1 syn_gw2)"
in_inet nft reset counters table inet mlbinbound >/dev/null

# tcp_fwmark_accept=1 gives a request the SYN's mark (0), but only when
# the listener has none; ours have one, and must still answer everywhere.
in_cli sysctl -qw net.ipv4.tcp_fwmark_accept=1
every_pair "tcp_fwmark_accept=1" tcp-only
replies_at_gateways "tcp_fwmark_accept=1" tcp-only
in_cli sysctl -qw net.ipv4.tcp_fwmark_accept=0

# Strict reverse-path filtering on the balanced host too: rp_filter=1,
# and for IPv6 nft's fib lookup (the usual firewalld-style check).
in_cli sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.up0.rp_filter=1 \
	net.ipv4.conf.up1.rp_filter=1 net.ipv4.conf.up2.rp_filter=1
in_cli nft -f - <<'NFT'
table ip6 mlbinbound_rpf {
	counter dropped {}
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		fib saddr . iif oif missing counter name dropped drop
	}
}
NFT
every_pair "rp_filter=1 on the host"
replies_at_gateways "rp_filter=1 on the host"
check_eq "rp_filter=1 on the host: IPv6 reverse-path check dropped nothing" 0 \
	"$(in_cli nft -j list counter ip6 mlbinbound_rpf dropped |
		jq '.nftables[] | select(.counter) | .counter.packets')"
in_cli nft delete table ip6 mlbinbound_rpf
in_cli sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.up0.rp_filter=0 \
	net.ipv4.conf.up1.rp_filter=0 net.ipv4.conf.up2.rp_filter=0

# The documented limit: an unconnected UDP server without IP_PKTINFO
# replies from the source its route lookup picks, its own uplink's
# address, so only requests to that address get an answer the client
# accepts.  Not a failure: what the README and man page say.
listen udp4plain --listen 0.0.0.0:6003 --udp
own=$((${MARK[udp4plain]} - 0x10))
expected= actual=
i=0
for a in $ADDRS4; do
	expected+="$a $([ $i = $own ] && echo $N || echo 0) "
	actual+="$a $(answered $a 6003 --udp) "
	i=$((i + 1))
done
check_eq "limit: UDP without IP_PKTINFO (mark ${MARK[udp4plain]}) answers only on its uplink's address" \
	"$expected" "$actual"

for p in $PIDS; do [ "$p" = "$SRV" ] || bed_server_stop "$p"; done
PIDS=$SRV
check "detach succeeds" "$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "detach restored rules, routes, nftables, cgroup and pins" \
	"$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
