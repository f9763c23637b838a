#!/bin/bash
# test_published.sh - a published port answers on every uplink.
#
# The bed's client namespace is the host, with three uplinks (up2 IPv4
# only) and gateways that drop what does not carry their own uplink's
# source address (rp_filter=1 for IPv4, nft drops for IPv6), as ISPs do.
# The remote client is 203.0.113.10 / 2001:db8:ff::10 on the internet
# namespace's lo, on none of the uplinks' subnets.  On the host, with IP
# forwarding on:
#  - a container (a namespace behind the bridge br-pub, 172.18.0.2 and
#    fd00:18::2) whose server, in the attached cgroup, is published on
#    port 8080 with the DNAT rules Docker writes (iptables and
#    ip6tables, nat PREROUTING -> DOCKER);
#  - a LAN host (10.77.0.2, fd00:77::2) behind --lan lan0, with a port
#    forward of 8081 to it;
#  - a server of the host's own, in the attached cgroup, on 6000.
# The client connects to each uplink's address on each port; every
# connection must be answered, each answer counted at the gateway of the
# address it was sent to, with that address as its source, and nothing
# with another source.  Then: watch makes the table again when it is
# deleted, and detach leaves no nftables table or rule of its own.
. "$(dirname "$0")/../lib/e2e.sh"
PIDS=
NSES=
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for p in $PIDS; do bed_server_stop "$p"; done
	for ns in $NSES; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 || true
		ip netns del "$ns" 2>/dev/null || true
	done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

N=4			# connections per (address, port)
UP2_ADDR=10.102.0.2
ADDRS4="$UP0_ADDR $UP1_ADDR $UP2_ADDR"
ADDRS6="$UP0_ADDR6 $UP1_ADDR6"

bed_create 3
bed_strict_gateways 3
CONT=$BED_ID-web
LANNS=$BED_ID-lanhost
NSES="$CONT $LANNS"

# The host forwards; loose reverse-path filtering, as README says for
# forwarded flows (the DNAT'd request's reverse lookup sees the
# container's address, not the uplink's).
in_cli sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.rp_filter=2

# The container: a namespace behind a bridge, as Docker makes it.
ip -n "$CLI" link add br-pub address 02:42:ac:12:00:01 type bridge
ip -n "$CLI" addr add 172.18.0.1/16 dev br-pub
ip -n "$CLI" addr add fd00:18::1/64 dev br-pub nodad
ip -n "$CLI" link set br-pub up
ip netns add "$CONT"
ip -n "$CONT" link set lo up
ip link add veth-web netns "$CLI" type veth peer name eth0 netns "$CONT"
ip -n "$CLI" link set veth-web master br-pub up
ip -n "$CONT" addr add 172.18.0.2/16 dev eth0
ip -n "$CONT" addr add fd00:18::2/64 dev eth0 nodad
ip -n "$CONT" link set eth0 up
ip -n "$CONT" route add default via 172.18.0.1
ip -n "$CONT" -6 route add default via fd00:18::1

# The LAN host behind lan0.
ip netns add "$LANNS"
ip -n "$LANNS" link set lo up
ip link add lan0 netns "$CLI" type veth peer name eth0 netns "$LANNS"
ip -n "$CLI" addr add 10.77.0.1/24 dev lan0
ip -n "$CLI" addr add fd00:77::1/64 dev lan0 nodad
ip -n "$CLI" link set lan0 up
ip -n "$LANNS" addr add 10.77.0.2/24 dev eth0
ip -n "$LANNS" addr add fd00:77::2/64 dev eth0 nodad
ip -n "$LANNS" link set eth0 up
ip -n "$LANNS" route add default via 10.77.0.1
ip -n "$LANNS" -6 route add default via fd00:77::1

# `docker run -p 8080:80` (and the router's port forward of 8081): the
# rules Docker writes, in the host's namespace.
for ipt in iptables ip6tables; do
	if [ $ipt = iptables ]; then
		web=172.18.0.2:80 lanhost=10.77.0.2:80 net=172.18.0.0/16
	else
		web=[fd00:18::2]:80 lanhost=[fd00:77::2]:80 net=fd00:18::/64
	fi
	in_cli $ipt -t nat -N DOCKER
	in_cli $ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
	in_cli $ipt -t nat -A POSTROUTING -s $net ! -o br-pub -j MASQUERADE
	in_cli $ipt -t nat -A DOCKER -i br-pub -j RETURN
	in_cli $ipt -t nat -A DOCKER ! -i br-pub -p tcp --dport 8080 \
		-j DNAT --to-destination $web
	in_cli $ipt -t nat -A DOCKER -p tcp --dport 8081 \
		-j DNAT --to-destination $lanhost
done

# Answers at the gateways: SYN-ACKs towards the client, per gateway and
# port, with the source address of that gateway's uplink.
rules= counters=
for i in 0 1 2; do
	eval "a4=\$UP${i}_ADDR"
	for port in 8080 8081 6000; do
		counters+="counter ok4_gw${i}_$port {}"$'\n'
		rules+="iifname \"gw$i\" ip saddr $a4 ip daddr $SERVER tcp sport $port tcp flags & (syn | ack) == syn | ack counter name ok4_gw${i}_$port"$'\n'
		[ $i = 2 ] && continue
		eval "a6=\$UP${i}_ADDR6"
		counters+="counter ok6_gw${i}_$port {}"$'\n'
		rules+="iifname \"gw$i\" ip6 saddr $a6 ip6 daddr $SERVER6 tcp sport $port tcp flags & (syn | ack) == syn | ack counter name ok6_gw${i}_$port"$'\n'
	done
done
in_inet nft -f - <<NFT
table inet mlbpub {
	$counters
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		$rules
	}
}
NFT
counter() {
	in_inet nft -j list counter inet mlbpub "$1" |
		jq '.nftables[] | select(.counter) | .counter.packets'
}
# answers FAMILY PORT: "N0 N1 N2 " (IPv6: "N0 N1 ") answers per gateway.
answers() {
	local i c out=
	for i in 0 1 2; do
		[ "$1" = 6 ] && [ $i = 2 ] && continue
		c=$(counter "ok$1_gw${i}_$2")
		out+="$c "
	done
	echo "$out"
}
reset_counts() {
	in_inet nft reset counters table inet mlbpub >/dev/null
	bed_spoofed_reset
}

# serve NS PORT...: a crr server in the attached cgroup, in namespace NS,
# on 0.0.0.0 and [::] for each port.
serve() {
	local ns=$1 port
	shift
	for port in "$@"; do
		for listen in "0.0.0.0:$port" "[::]:$port"; do
			sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" \
				nsenter --net="/run/netns/$ns" "$CRR" server \
				--listen "$listen" --report /dev/null \
				> "$WORK/ready.$ns.$port.${listen%%:*}" 2>&1 &
			PIDS="$PIDS $!"
		done
	done
}
serve "$CONT" 80
serve "$LANNS" 80
serve "$CLI" 6000
for f in "$WORK"/ready.*; do
	for _ in $(seq 50); do
		grep -q ready "$f" 2>/dev/null && break
		sleep 0.1
	done
done

# answered ADDR PORT: how many of N connections from the remote client
# to ADDR:PORT got their answer.
answered() {
	local addr=$1 port=$2 target bind
	if [[ $addr == *:* ]]; then
		target="[$addr]:$port" bind=$SERVER6
	else
		target="$addr:$port" bind=$SERVER
	fi
	in_inet "$CRR" client --connect "$target" --bind "$bind" \
		--count $N --threads $N --timeout 2 2>/dev/null |
		awk '$1 == "transactions" { t = $2 } $1 == "failures" { f = $2 }
		     END { print t - f }'
}

# every_uplink WHAT PORT [v4]: the client connects N times to each
# uplink's address on PORT; all are answered, each by its own gateway,
# nothing with a wrong source.
every_uplink() {
	local what=$1 port=$2 a got=
	reset_counts
	for a in $ADDRS4; do got+="$(answered "$a" "$port") "; done
	check_eq "$what: IPv4 connections answered on up0 up1 up2" "$N $N $N " "$got"
	check_eq "$what: IPv4 answers per gateway, with its uplink's source" \
		"$N $N $N " "$(answers 4 "$port")"
	[ -n "${3:-}" ] || {
	got=
	for a in $ADDRS6; do got+="$(answered "$a" "$port") "; done
	check_eq "$what: IPv6 connections answered on up0 up1" "$N $N " "$got"
	check_eq "$what: IPv6 answers per gateway, with its uplink's source" \
		"$N $N " "$(answers 6 "$port")"
	}
	check_eq "$what: nothing at a gateway with another source" "0 0 0 " \
		"$(bed_spoofed 3)"
}

# bed_snapshot without the DNAT rules' packet counts (and iptables-nft's
# notes on stderr)
snapshot() {
	bed_snapshot 2>/dev/null |
		sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}
snapshot > "$WORK/before"
CGID=$(stat -c %i "$CG")

# -- (a), (c), (d): the container's published port and the host's own
# server, an attachment without --lan (the table comes from forwarding).
check "attach to the bed's cgroup, three uplinks" "$MLB" attach \
	--netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --uplink up2
check "forwarding on: the table answers inbound connections" sh -c \
	"ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID | grep -q 'ct mark set iifname map'"
check "status names it" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -q '^  inbound .*mlb_bpf_$CGID'"
every_uplink "published port (container)" 8080
every_uplink "host's own server" 6000

# -- watch makes the table again after a firewall's flush of it.
"$MLB" watch --cgroup "$CG" > "$WORK/watch.log" 2>&1 &
WATCH=$!
in_cli nft delete table inet "mlb_bpf_$CGID"
for _ in $(seq 100); do
	in_cli nft list table inet "mlb_bpf_$CGID" >/dev/null 2>&1 && break
	sleep 0.1
done
check "watch made the deleted table again" sh -c \
	"ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID | grep -q 'ct mark set iifname map'"
check "and said so" grep -q "nftables table inet mlb_bpf_$CGID made" "$WORK/watch.log"
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=
every_uplink "published port after watch's repair" 8080 v4

# -- (b): the LAN host's port forward, with --lan.
check "attach again with --lan lan0" "$MLB" attach \
	--netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 --uplink up2 \
	--lan lan0
every_uplink "port forward (LAN host)" 8081
every_uplink "published port (container), with --lan" 8080
every_uplink "host's own server, with --lan" 6000

# -- (e): detach leaves nothing.
check "detach succeeds" "$MLB" detach --cgroup "$CG"
snapshot > "$WORK/after"
check_same "detach restored rules, routes, nftables, cgroup and pins" \
	"$WORK/before" "$WORK/after"
check "no table of mlb-bpf's is left" sh -c \
	"! ip netns exec '$CLI' nft list ruleset | grep -q mlb_bpf_"
check "the host's own namespace is untouched" bed_host_untouched
