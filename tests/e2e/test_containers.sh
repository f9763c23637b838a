#!/bin/bash
# test_containers.sh - containers on the balanced host get their uplink as
# its own processes do.
#
# The bed's client namespace is the host, with three uplinks and gateways
# that drop other sources (rp_filter=1, nft for IPv6).  On it: a
# Docker-like bridge docker0 (172.17.0.0/16, fd00:17::/64) with
# containers c1 and c2 behind veths, a veth-per-pod container (10.88.0.2,
# a host route to its /32, as Kubernetes' ptp plugin makes), and the
# masquerade Docker and Kubernetes add in the host's nftables.  Each
# container's processes run in a cgroup of its own: c1 and the pod under
# a 1:1:1 policy, c2 under a policy with up1 only (sharing the first's
# routing), c3 under no policy.  Counted at the gateways: the splits of
# TCP (IPv4, IPv6) and connected UDP, connections complete on every
# uplink and nothing with a wrong source; a container started after
# attach is balanced by watch; failover; status; the same splits with
# clsact filters (kernels before 6.6); a SIGKILL in attach's tc step; and
# detach leaving no filter, qdisc, tcx program or pin on any veth.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	for c in ${CONTAINERS:-}; do netns_destroy "$BED_ID-$c"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

N=60			# connections per check: 20 per uplink at 1:1:1

bed_create 3
bed_strict_gateways 3
bed_flow_counters mlbcont 3
count() { nft_counter "$INET" mlbcont "$1"; }
SRV="$(bed_server_start "$WORK/srv") $(bed_server_start "$WORK/srv6" "" 5000 "$SERVER6")"
SRV="$SRV $(bed_server_start "$WORK/udp" --udp 5001)"
# The kernel's default conntrack timeouts stay: the containers make
# hundreds of connections to one server, through a failover and a detach,
# as a real Docker host's do.

# The host: forwarding, the bridge, the pod's veth, the masquerade.
in_cli sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# docker0 gets a MAC of its own, as Docker's bridge driver gives it:
# a bridge without one takes its lowest port's, so a container that comes
# or goes would change the gateway's MAC under the others' ARP caches, and
# their frames would be flooded to the other ports, not to the host, until
# the cache entry is probed again (up to a minute).
ip -n "$CLI" link add docker0 address 02:42:ac:11:00:01 type bridge
ip -n "$CLI" addr add 172.17.0.1/16 dev docker0
ip -n "$CLI" addr add fd00:17::1/64 dev docker0 nodad
ip -n "$CLI" link set docker0 up
in_cli nft -f - <<NFT
table inet mlbdocker {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
		ip6 saddr fd00:17::/64 oifname != "docker0" masquerade
		ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade
	}
}
NFT

# container NAME N: a namespace behind veth-NAME on docker0, with
# 172.17.0.N and fd00:17::N.
CONTAINERS=
container() {
	local ns=$BED_ID-$1
	netns_create "$ns"
	CONTAINERS="$CONTAINERS $1"
	veth_pair "$CLI" "veth-$1" "" "$ns" eth0 "172.17.0.$2/16"
	ip -n "$CLI" link set "veth-$1" master docker0
	ip -n "$ns" addr add "fd00:17::$2/64" dev eth0 nodad
	ip -n "$ns" route add default via 172.17.0.1
	ip -n "$ns" -6 route add default via fd00:17::1
}
# pod NAME: a namespace behind its own veth (vpod), 10.88.0.2/32.
pod() {
	local ns=$BED_ID-$1
	netns_create "$ns"
	CONTAINERS="$CONTAINERS $1"
	veth_pair "$CLI" vpod 10.88.0.1/32 "$ns" eth0 10.88.0.2/32
	ip -n "$CLI" route add 10.88.0.2/32 dev vpod
	ip -n "$ns" route add 10.88.0.1/32 dev eth0
	ip -n "$ns" route add default via 10.88.0.1 dev eth0
}
# run CONTAINER CGROUP CMD...: CMD in the container's namespace, as a
# process of CGROUP.
run() { in_cgroup_ns "$2" "$BED_ID-$1" "${@:3}"; }
# split KIND CONTAINER CGROUP [CLIENT OPTIONS]: N connections (KIND tcp)
# or UDP exchanges (udp) to the server; prints "GW0 GW1 GW2 failures F".
split() {
	# TCP closes with a reset, so neither side keeps TIME_WAIT: a later
	# connection that draws the same ports is answered at once, with one
	# SYN (a TIME_WAIT socket would answer its SYN with an ACK, and the
	# SYN sent again would count twice at the gateway).
	local kind=$1 c=$2 cg=$3 to=$SERVER:5000 counter=syn extra=--rst
	shift 3
	case $kind in
	udp) to=$SERVER:5001 counter=udp extra=--udp ;;
	tcp6) to=[$SERVER6]:5000 ;;
	esac
	in_inet nft reset counters table inet mlbcont > /dev/null
	run "$c" "$cg" "$CRR" client --connect "$to" --count "$N" --timeout 5 $extra \
		"$@" > "$WORK/out" 2>&1
	grep -q "^failures 0$" "$WORK/out" || sed 's/^/#   crr: /' "$WORK/out" >&2
	echo "$(count ${counter}_gw0) $(count ${counter}_gw1)" \
	     "$(count ${counter}_gw2) failures" \
	     "$(awk '$1 == "failures" { print $2 }' "$WORK/out")"
}
BAL=$CG/bal		# 1:1:1
PIN=$CG/pin		# up1 only
OUT=$CG/out		# no policy
mkdir "$BAL" "$PIN" "$OUT" "$BAL/c1" "$BAL/pod" "$BAL/late" "$PIN/c2" "$OUT/c3"
container c1 2
container c2 3
container c3 4
pod pod

bed_snapshot > "$WORK/before"
ip -n "$CLI" -d link show > "$WORK/links-before"

A=("$MLB" attach --netns "$CLI")
# the tc mode this kernel gets: tcx from 6.6, clsact filters before
MODE=$(kernel_tc_mode)
check "attach a 1:1:1 policy" "${A[@]}" --cgroup "$BAL" \
	--uplink up0 --uplink up1 --uplink up2
check "attach a policy with up1 only" "${A[@]}" --cgroup "$PIN" --uplink up1
bed_spoofed_reset
check_eq "c1 (bridge, 1:1:1): TCP split at the gateways" \
	"20 20 20 failures 0" "$(split tcp c1 "$BAL/c1")"
check_eq "c2 (bridge, up1 only): TCP split" \
	"0 60 0 failures 0" "$(split tcp c2 "$PIN/c2")"
check_eq "the pod (its own veth, 1:1:1): TCP split" \
	"20 20 20 failures 0" "$(split tcp pod "$BAL/pod")"
# UDP: a new socket that draws the port of an earlier one within the
# same run is the earlier flow (one conntrack entry, one masquerade
# source), so it keeps that flow's uplink: each share is 20 give or take
# such a reuse.
# UDP has no retransmission: on a loaded machine one datagram of the 60
# may go unanswered, so one failure is let pass (a wrong route fails many,
# and shows at the gateways' source check).
udp_split() {
	split udp "$@" | awk '$1 + $2 + $3 >= 59 && $5 <= 1 &&
		$1 >= 17 && $2 >= 17 && $3 >= 17 { print "about 20 each"; next } { print }'
}
check_eq "c1: connected UDP split" "about 20 each" "$(udp_split c1 "$BAL/c1")"
# up2 has no IPv6: its share follows main (up0), as a host socket's does
check_eq "c1: IPv6 TCP split (up2 carries no IPv6)" \
	"40 20 0 failures 0" "$(split tcp6 c1 "$BAL/c1")"
check_eq "c3 (in no attached cgroup) is left alone: all by main" \
	"60 0 0 failures 0" "$(split tcp c3 "$OUT/c3")"
check_eq "nothing left a gateway with another uplink's source" "0 0 0 " \
	"$(bed_spoofed 3)"

# status: the tc mode, each veth and its peer's namespace id, and the
# connections per uplink, counted by the program that runs first on the
# veth: the first attached with tcx links (the 1:1:1 policy), the last
# attached with clsact filters (the up1 one)
sel() { "$MLB" status --cgroup "$1" --json | jq -c ".attachments[0] | $2"; }
FIRST=$BAL
[ "$MODE" = tcx ] || FIRST=$PIN
check_eq "status --json: the tc mode" "\"$MODE\"" "$(sel "$BAL" .tc_mode)"
check_eq "status --json: the pod's veth, its connections per uplink" \
	'{"up0":20,"up1":20,"up2":20}' \
	"$(sel "$FIRST" '.containers[] | select(.veth == "vpod") | .connections')"
check_eq "status --json: c2's connections, on up1 only" \
	'{"up0":0,"up1":60,"up2":0}' \
	"$(sel "$FIRST" '.containers[] | select(.veth == "veth-c2") | .connections')"
check_eq "status --json: the peer's netns id as the host sees it" \
	"$(ip -n "$CLI" -j link show veth-c1 | jq '.[0].link_netnsid')" \
	"$(sel "$BAL" '.containers[] | select(.veth == "veth-c1") | .peer_netnsid')"
check_eq "status --json: the uplinks are no containers" "[]" \
	"$(sel "$BAL" '[.containers[] | select(.veth | startswith("up"))]')"
"$MLB" status --cgroup "$FIRST" > "$WORK/status"
check "status: the tc line" grep -q "^  tc          $MODE, 4 container veths$" "$WORK/status"
check "status: a line per veth" grep -q \
	"^  container   vpod (peer netns id [0-9]*): up0 20, up1 20, up2 20$" "$WORK/status"

# watch: a container started after attach is balanced within a moment
"$MLB" watch --cgroup "$CG" 2> "$WORK/watch.log" &
WATCH=$!
has_veth() {
	"$MLB" status --cgroup "$BAL" --json |
		jq -e ".attachments[0].containers[] | select(.veth == \"$1\")" > /dev/null
}
# give watch time to adopt both attachments (its first look refreshes)
for _ in $(seq 100); do grep -q "watching cgroup $PIN" "$WORK/watch.log" && break; sleep 0.1; done
T0=$(date +%s%N)
container c4 5
for _ in $(seq 100); do has_veth veth-c4 && break; sleep 0.05; done
echo "# the new veth had the program $((($(date +%s%N) - T0) / 1000000)) ms after the container was made (polled)"
check "watch put the program on a new container's veth" has_veth veth-c4
check_eq "c4, started after attach: TCP split" \
	"20 20 20 failures 0" "$(split tcp c4 "$BAL/late")"

# failover: up2's gateway goes away; the containers' new connections go
# to the others, c2 stays on up1
health() {
	"$MLB" status --cgroup "$BAL" --json | jq -r ".attachments[0].uplinks[2].health.state"
}
ip -n "$INET" link set gw2 down
for _ in $(seq 100); do [ "$(health)" = down ] && break; sleep 0.1; done
check_eq "watch took up2 out" down "$(health)"
C1_DOWN=$(split tcp c1 "$BAL/c1")
check_eq "c1 with up2 down: TCP split" "30 30 0 failures 0" "$C1_DOWN"
[ "$C1_DOWN" = "30 30 0 failures 0" ] ||
	sed 's/^/#   watch: /' "$WORK/watch.log" >&2
check_eq "the pod with up2 down: TCP split" "30 30 0 failures 0" "$(split tcp pod "$BAL/pod")"
check_eq "c2 with up2 down: still up1" "0 60 0 failures 0" "$(split tcp c2 "$PIN/c2")"
ip -n "$INET" link set gw2 up
for _ in $(seq 200); do [ "$(health)" = up ] && break; sleep 0.1; done
check_eq "up2 came back" up "$(health)"
check_eq "c1 with up2 back: TCP split" "20 20 20 failures 0" "$(split tcp c1 "$BAL/c1")"

# a veth that goes: watch forgets it
not() { ! "$@"; }
C4=$(ip -n "$CLI" -j link show veth-c4 | jq '.[0].ifindex')
ip netns del "$BED_ID-c4"
for _ in $(seq 100); do has_veth veth-c4 || break; sleep 0.1; done
check "watch forgot the veth of a container that went" not has_veth veth-c4
if [ "$MODE" = tcx ]; then
	check "and removed its tcx link's pin" \
		not test -e "/sys/fs/bpf/mlb/$(stat -c %i "$BAL")/tcx-$C4"
fi
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=
CONTAINERS=${CONTAINERS/ c4/}

# ours_on_veths: tc filters and clsact qdiscs on the host's interfaces,
# one line each
ours_on_veths() {
	local d
	for d in $(ip -n "$CLI" -j link show | jq -r '.[].ifname'); do
		tc -n "$CLI" filter show dev "$d" ingress | sed "s/^/$d filter /"
		tc -n "$CLI" qdisc show dev "$d" | grep clsact | sed "s/^/$d /"
	done
}
# on_veths: the container programs on the host's interfaces, in this
# kernel's mode: tcx links (bpf link type 11) of the policies' programs,
# or cls_bpf filters of mlb_tc_container
PROGS=$(for c in "$BAL" "$PIN"; do
	bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$c")/prog_tc_container" -j | jq .id
done | paste -sd,)
on_veths() {
	if [ "$MODE" = clsact ]; then
		ours_on_veths | grep -c ' filter .*mlb_tc_containe'
		return 0
	fi
	bpftool link show -j | jq "[.[] | select(.type == 11 and (.prog_id | IN($PROGS)))] | length"
}
check_eq "a program per policy per container veth (4 veths, $MODE)" 8 "$(on_veths)"
check "detach the up1 policy" "$MLB" detach --cgroup "$PIN"
check "detach the 1:1:1 policy" "$MLB" detach --cgroup "$BAL"
check_eq "no program left on a veth" 0 "$(on_veths)"
check_eq "no filter or clsact qdisc on any interface" "" "$(ours_on_veths)"
bed_snapshot > "$WORK/after"
check_same "detach restored everything (rules, routes, nftables, pins)" \
	"$WORK/before" "$WORK/after"
check_eq "c1 after detach: all by main" "60 0 0 failures 0" "$(split tcp c1 "$BAL/c1")"

# SIGKILL in attach right after the tc step (every veth has its link, the
# journal is not closed yet); detach then removes everything.  strace
# kills at the n-th call of one syscall, the point found in a clean
# run's sequence (as test_crash.sh does): the call after the last tcx
# pin, or after the last filter made on clsact.  (A point inside the tc step is not stable: how many bpf calls come
# before it depends on the other attachments on the machine.)
SET=bpf,sendmsg,sendto,mkdir,rename,unlink,rmdir,flock
ATTACH=("${A[@]}" --cgroup "$BAL" --uplink up0 --uplink up1 --uplink up2)
strace -qq -o "$WORK/attach.trace" -e trace="$SET" "${ATTACH[@]}"
"$MLB" detach --cgroup "$BAL"
LAST_TC='BPF_OBJ_PIN.*/tcx-'
# (RTM_NEWTFILTER is 0x2c: strace names it only in its own namespace)
[ "$MODE" = tcx ] || LAST_TC='RTM_NEWTFILTER|nlmsg_type=0x2c '

line=$(($(grep -En "$LAST_TC" "$WORK/attach.trace" | tail -1 | cut -d: -f1) + 1))
name=$(sed -n "${line}p" "$WORK/attach.trace" | cut -d'(' -f1)
n=$(head -n "$line" "$WORK/attach.trace" | grep -c "^$name(")
# Another bed's command may clean up a dead journal first (recovery is
# for every command on the machine), or add a call before the point: try
# again then, up to three times.
for _ in 1 2 3; do
	(strace -qq -o /dev/null -e trace="$SET" \
		-e inject="$name:signal=KILL:when=$n" "${ATTACH[@]}") 2> /dev/null
	PROGS=$(bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$BAL")/prog_tc_container" -j 2> /dev/null | jq .id)
	LEFT=$(on_veths 2> /dev/null)
	[ "$LEFT" = 4 ] && break
	"$MLB" detach --cgroup "$BAL" > /dev/null 2>&1
done
check_eq "killed at $name #$n: the veths' programs were left" 4 "$LEFT"
check "killed at $name #$n: detach succeeds" "$MLB" detach --cgroup "$BAL"
check_eq "killed at $name #$n: no program left on a veth" 0 "$(on_veths)"
bed_snapshot > "$WORK/after"
check_same "killed at $name #$n: detach restored everything" \
	"$WORK/before" "$WORK/after"

# The same with clsact filters, as on kernels before 6.6
export MLB_TC_MODE=clsact
check "clsact: attach the 1:1:1 policy" "${A[@]}" --cgroup "$BAL" \
	--uplink up0 --uplink up1 --uplink up2
check "clsact: attach the up1 policy" "${A[@]}" --cgroup "$PIN" --uplink up1
unset MLB_TC_MODE
check_eq "clsact: status shows the mode" '"clsact"' "$(sel "$PIN" .tc_mode)"
check_eq "clsact: two filters of ours on a veth (one per policy)" 2 \
	"$(tc -n "$CLI" filter show dev veth-c1 ingress | grep -c 'mlb_tc_containe.*direct-action')"
bed_spoofed_reset
check_eq "clsact: c1 TCP split" "20 20 20 failures 0" "$(split tcp c1 "$BAL/c1")"
check_eq "clsact: c2 TCP split" "0 60 0 failures 0" "$(split tcp c2 "$PIN/c2")"
check_eq "clsact: the pod's TCP split" "20 20 20 failures 0" "$(split tcp pod "$BAL/pod")"
check_eq "clsact: c1 UDP split" "about 20 each" "$(udp_split c1 "$BAL/c1")"
check_eq "clsact: c1 IPv6 TCP split" "40 20 0 failures 0" "$(split tcp6 c1 "$BAL/c1")"
check_eq "clsact: nothing with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"
check "clsact: detach both" sh -c "'$MLB' detach --cgroup '$PIN' && '$MLB' detach --cgroup '$BAL'"
check_eq "clsact: no filter or clsact qdisc left" "" "$(ours_on_veths)"
bed_snapshot > "$WORK/after"
check_same "clsact: detach restored everything" "$WORK/before" "$WORK/after"
# pin and bypass change the socket's mark at connect(): the container's
# flows follow them
check "attach 1:1:1 with the server pinned to up2 and its IPv6 bypassed" \
	"${A[@]}" --cgroup "$BAL" --uplink up0 --uplink up1 --uplink up2 \
	--pin "$SERVER/32:up2" --bypass "$SERVER6/128"
check_eq "c1: pinned to up2" "0 0 60 failures 0" "$(split tcp c1 "$BAL/c1")"
check_eq "c1: IPv6 bypassed (main)" "60 0 0 failures 0" "$(split tcp6 c1 "$BAL/c1")"
check "detach it" "$MLB" detach --cgroup "$BAL"
check_eq "no filter or clsact qdisc left" "" "$(ours_on_veths)"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
