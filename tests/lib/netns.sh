# shellcheck shell=bash
# netns.sh - the pieces every namespace bed is built from, sourced by the
# tests' bed (bed.sh) and the benchmarks (bench/lib.sh): namespaces, veth
# pairs, a LAN client behind a router, processes in a cgroup, nftables
# counters, and their removal.  No addresses of the two-uplink bed here:
# those are bed.sh's.

cgroup2_mount() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# in_ns NS CMD...: run in namespace NS, keeping this mount namespace
# (cgroup2 and bpffs stay where they are; `ip netns exec` would remount).
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# netns_create NS...: namespaces with lo up.  IPv6 addresses skip
# duplicate address detection (usable at once) and survive a link going
# down, as IPv4 ones do: set before any link exists, so links inherit it.
netns_create() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		in_ns "$ns" sysctl -qw \
			net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.keep_addr_on_down=1 \
			net.ipv6.conf.default.keep_addr_on_down=1
	done
}

# netns_destroy NS...: kill what runs in each and remove it; a namespace
# already gone is fine.
netns_destroy() {
	local ns
	for ns in "$@"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 || true
		ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}

# veth_pair NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth from IF1 in NS1 to IF2 in
# NS2, both up, each with its address (with prefix length; "" for none).
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
	[ -z "$3" ] || ip -n "$1" addr add "$3" dev "$2"
	[ -z "$6" ] || ip -n "$4" addr add "$6" dev "$5"
}

# lan_client_create ROUTER LAN [v6]: namespace LAN, a client behind the
# router's lan0 (10.77.0.1/24; the client's eth0 10.77.0.2/24, default
# route via the router); with v6 also fd77::1/64 and fd77::2/64.
lan_client_create() {
	netns_create "$2"
	lan_link_create "$@"
}

# lan_link_create ROUTER LAN [v6]: lan0 and the client's eth0 alone, for
# a LAN namespace that exists (a test that makes lan0 again).
lan_link_create() {
	veth_pair "$1" lan0 10.77.0.1/24 "$2" eth0 10.77.0.2/24
	if [ "${3:-}" = v6 ]; then
		ip -n "$1" addr add fd77::1/64 dev lan0 nodad
		ip -n "$2" addr add fd77::2/64 dev eth0 nodad
		ip -n "$2" -6 route add default via fd77::1
	fi
	ip -n "$2" route add default via 10.77.0.1
}

# in_cgroup_ns CGROUP NS CMD...: CMD in namespace NS as a process of
# CGROUP (sh moves itself in, then nsenter and CMD exec in its place).
# In the background $! is the shell running this function, not CMD: a
# caller that signals CMD by $! writes the sh line itself.
in_cgroup_ns() {
	local cg=$1 ns=$2
	shift 2
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" \
		nsenter --net="/run/netns/$ns" "$@"
}

# cgroup_remove DIR...: remove each cgroup once its killed processes are
# gone (the kernel frees it a moment after the last one exits).
cgroup_remove() {
	local cg
	for cg in "$@"; do
		[ -d "$cg" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	done
	return 0
}

# nft_counter NS TABLE NAME: the packets nftables counter NAME of inet
# table TABLE in namespace NS has counted.
nft_counter() {
	in_ns "$1" nft -j list counter inet "$2" "$3" |
		jq '.nftables[] | select(.counter) | .counter.packets'
}

# nft_counters NS TABLE NAME...: "N1 N2 ... ", one count a counter.
nft_counters() {
	local ns=$1 table=$2 c
	shift 2
	for c in "$@"; do printf '%s ' "$(nft_counter "$ns" "$table" "$c")"; done
}
