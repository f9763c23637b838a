#!/bin/bash
# test_docker.sh - real Docker containers on the balanced host are
# balanced with no step of their own.
#
# The bed's client namespace is the host, with three uplinks and gateways
# that drop other sources.  dockerd (and the containerd it starts) runs
# in that namespace (nsenter --net, keeping the machine's mounts, so the
# cgroup hierarchies stay visible), its data, exec root, socket and key
# under $WORK, the cgroupfs driver and --cgroup-parent the bed's cgroup:
# its bridges, veths and iptables rules (the masquerade) live in the bed,
# its containers in $CG/<id>.  The image is built here (busybox and the
# crr client), nothing is pulled.  mlb-bpf attaches to $CG, the parent
# of the containers, with watch running.  Counted at the gateways: a
# container on the default bridge and one on a user-defined network split
# TCP and connected UDP 1:1:1, one under a policy of its own (its
# cgroup $CG/<id>, up2 only) uses up2 alone, one started after attach is
# balanced once watch has its veth, nothing leaves with a wrong source,
# and detach leaves no tc filter, qdisc or program on Docker's veths.
# The machine's own namespace keeps its links and iptables rules.
. "$(dirname "$0")/../lib/e2e.sh"
DOCKERD=$(command -v dockerd)
DOCKER=/usr/bin/docker		# the client of dockerd's version
if [ -z "$DOCKERD" ] || [ ! -x "$DOCKER" ]; then
	echo "ok - docker # SKIP dockerd or /usr/bin/docker not installed (scripts/install-deps.sh)"
	rm -rf "$WORK"
	exit 0
fi

# pids_of_work: processes whose command line names a path under $WORK
# (the containerd dockerd starts and the shims: their --config,
# -address), found by their paths, not by their names.
pids_of_work() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qF -- "$WORK/" &&
			echo "${p#/proc/}"
	done
	return 0
}

# What dockerd and containerd make outside $WORK whatever they are told:
# /run/docker/plugins and /run/containerd/s (the shims' sockets).  Removed
# after if this test made them (and they are empty then).
RUN_DIRS=
for d in /run/docker /run/containerd; do [ -e "$d" ] || RUN_DIRS="$RUN_DIRS $d"; done

cleanup() {
	local p d
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for p in ${SRV:-}; do bed_server_stop "$p"; done
	if [ -n "${DPID:-}" ] && kill -0 "$DPID" 2>/dev/null; then
		# shellcheck disable=SC2046
		timeout 30 "${D[@]}" rm -f $(timeout 10 "${D[@]}" ps -aq) > /dev/null 2>&1
		kill -TERM "$DPID"
		for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	# what dockerd left running: its containerd, shims
	for p in $(pids_of_work); do kill -9 "$p" 2>/dev/null; done
	for _ in $(seq 50); do [ -z "$(pids_of_work)" ] && break; sleep 0.1; done
	bed_destroy
	# the containers' cgroups in the v1 hierarchies (a hybrid layout)
	for d in $(awk '$3 == "cgroup" { print $2 }' /proc/self/mounts); do
		[ -n "${CGREL:-}" ] && [ -d "$d$CGREL" ] || continue
		find "$d$CGREL" -depth -type d |
			while read -r p; do cgroup_remove "$p"; done
	done
	# mounts dockerd left under $WORK (its data root, netns files)
	findmnt -rn -o TARGET | grep -F -- "$WORK/" | sort -r |
		while read -r p; do umount -l "$p"; done
	for d in $RUN_DIRS; do
		rmdir "$d"/* "$d" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

N=30			# connections per check: 10 per uplink at 1:1:1

ROOT_IPT=$(iptables -S; iptables -t nat -S)
ROOT_LINKS=$(ip -o link show | awk '{ print $2 }')

bed_create 3
bed_strict_gateways 3
CGREL=${CG#"$BED_CGROOT"}
in_inet nft -f - <<NFT
table inet mlbdock {
	counter syn_gw0 {}
	counter syn_gw1 {}
	counter syn_gw2 {}
	counter udp_gw0 {}
	counter udp_gw1 {}
	counter udp_gw2 {}
	chain in {
		type filter hook input priority filter; policy accept;
		iifname "gw0" tcp flags & (syn | ack) == syn counter name syn_gw0
		iifname "gw1" tcp flags & (syn | ack) == syn counter name syn_gw1
		iifname "gw2" tcp flags & (syn | ack) == syn counter name syn_gw2
		iifname "gw0" udp dport 5001 counter name udp_gw0
		iifname "gw1" udp dport 5001 counter name udp_gw1
		iifname "gw2" udp dport 5001 counter name udp_gw2
	}
}
NFT
count() { nft_counter "$INET" mlbdock "$1"; }
SRV="$(bed_server_start "$WORK/srv") $(bed_server_start "$WORK/udp" --udp 5001)"

# The image: busybox, and crr with the two libraries it links.
R=$WORK/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp /bin/busybox "$R/bin/"
for a in sh sleep cat ls ip nc wget; do ln -s busybox "$R/bin/$a"; done
cp "$CRR" "$R/bin/crr"
for l in $(ldd "$CRR" | awk '$1 ~ /^\// { print $1 } $3 ~ /^\// { print $3 }'); do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done

# dockerd in the bed's client namespace, everything of its own in $WORK.
echo "{\"deprecated-key-path\": \"$WORK/key.json\"}" > "$WORK/daemon.json"
D=("$DOCKER" -H "unix://$WORK/docker.sock")
nsenter --net="/run/netns/$CLI" "$DOCKERD" \
	--data-root "$WORK/data" --exec-root "$WORK/exec" \
	--pidfile "$WORK/docker.pid" -H "unix://$WORK/docker.sock" \
	--config-file "$WORK/daemon.json" \
	--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent="$CGREL" \
	--storage-driver vfs --bip 172.31.0.1/24 > "$WORK/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 300); do
	"${D[@]}" info > /dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
if ! check "dockerd $("${D[@]}" version -f '{{.Server.Version}}' 2> /dev/null) runs in the bed's client namespace" \
	"${D[@]}" info > /dev/null; then
	tail -20 "$WORK/dockerd.log" | sed 's/^/#   dockerd: /'
	exit 1
fi
check "its bridge docker0 is in the bed" ip -n "$CLI" link show docker0 > /dev/null
check "the image, built here" sh -c "tar -C '$R' -c . | '$DOCKER' -H 'unix://$WORK/docker.sock' import - mlbtest:1 > /dev/null"
check "a user-defined network" "${D[@]}" network create --subnet 172.30.0.0/24 mlbnet > /dev/null

# start NAME [OPTIONS]: a container that sleeps; prints nothing
start() {
	"${D[@]}" run -d --name "$1" "${@:2}" mlbtest:1 sleep 100000 > /dev/null
}
id() { "${D[@]}" inspect -f '{{.Id}}' "$1"; }
# veth NAME: the host end of the container's eth0
veth() {
	local i
	i=$("${D[@]}" exec "$1" cat /sys/class/net/eth0/iflink)
	ip -n "$CLI" -j link show | jq -r ".[] | select(.ifindex == $i) | .ifname"
}
check "c1 on the default bridge" start c1
check "c2 on the user-defined network" start c2 --network mlbnet
check "c3 on the default bridge (a policy of its own)" start c3
P1=$("${D[@]}" inspect -f '{{.State.Pid}}' c1)
check_eq "c1's processes are in the bed's cgroup, in a child of its own" \
	"0::$CGREL/$(id c1)" "$(grep '^0::' "/proc/$P1/cgroup")"
C3=$CG/$(id c3)

# split KIND CONTAINER: N connections (tcp) or UDP exchanges (udp) from
# the container to the server; prints "GW0 GW1 GW2 failures F".
split() {
	local to=$SERVER:5000 counter=syn extra=--rst
	[ "$1" = udp ] && to=$SERVER:5001 counter=udp extra=--udp
	in_inet nft reset counters table inet mlbdock > /dev/null
	"${D[@]}" exec "$2" crr client --connect "$to" --count "$N" \
		--timeout 5 $extra > "$WORK/out" 2>&1
	grep -q "^failures 0$" "$WORK/out" || sed 's/^/#   crr: /' "$WORK/out" >&2
	echo "$(count "${counter}_gw0") $(count "${counter}_gw1")" \
	     "$(count "${counter}_gw2") failures" \
	     "$(awk '$1 == "failures" { print $2 }' "$WORK/out")"
}
# UDP: a socket that draws the port of an earlier one is that earlier
# flow (its conntrack entry, its masquerade source) and keeps its uplink,
# and a datagram may go unanswered on a loaded machine: each share is 10
# give or take such a reuse, one failure let pass.
udp_split() {
	split udp "$1" | awk '$1 + $2 + $3 >= 29 && $5 <= 1 &&
		$1 >= 8 && $2 >= 8 && $3 >= 8 { print "about 10 each"; next } { print }'
}

check_eq "c1 before attach: all by main" "30 0 0 failures 0" "$(split tcp c1)"

A=("$MLB" attach --netns "$CLI")
check "attach a 1:1:1 policy to the containers' parent cgroup" "${A[@]}" \
	--cgroup "$CG" --uplink up0 --uplink up1 --uplink up2
check "attach a policy with up2 only to c3's cgroup" "${A[@]}" --cgroup "$C3" --uplink up2 2> /dev/null
"$MLB" watch --cgroup "$CG" 2> "$WORK/watch.log" &
WATCH=$!
for _ in $(seq 100); do grep -q "watching cgroup $C3" "$WORK/watch.log" && break; sleep 0.1; done

bed_spoofed_reset
check_eq "c1 (default bridge): TCP split at the gateways" "10 10 10 failures 0" "$(split tcp c1)"
check_eq "c1: connected UDP split" "about 10 each" "$(udp_split c1)"
check_eq "c2 (user-defined network): TCP split" "10 10 10 failures 0" "$(split tcp c2)"
check_eq "c2: connected UDP split" "about 10 each" "$(udp_split c2)"
check_eq "c3 (a policy with up2 only): TCP" "0 0 30 failures 0" "$(split tcp c3)"
check_eq "c3: connected UDP" "0 0 30 failures 0" "$(split udp c3)"

# a container started after attach: watch puts the program on its veth
has_veth() {
	"$MLB" status --cgroup "$CG" --json |
		jq -e ".attachments[0].containers[] | select(.veth == \"$1\")" > /dev/null
}
check "c4 on the default bridge, started after attach" start c4
V4=$(veth c4)
T0=$(date +%s%N)
for _ in $(seq 100); do has_veth "$V4" && break; sleep 0.05; done
echo "# c4's veth had the program $((($(date +%s%N) - T0) / 1000000)) ms after docker run returned (polled)"
check "watch put the program on c4's veth $V4" has_veth "$V4"
check_eq "c4: TCP split" "10 10 10 failures 0" "$(split tcp c4)"
check_eq "c4: connected UDP split" "about 10 each" "$(udp_split c4)"
check_eq "nothing left a gateway with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"

# detach: nothing of ours on Docker's veths
VETHS=$(for c in c1 c2 c3 c4; do veth "$c"; done)
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=
# ours_on_veths: tc filters, clsact qdiscs and what bpftool net lists
# (clsact filters, XDP) on Docker's veths, one line each
ours_on_veths() {
	local v
	for v in $VETHS; do
		tc -n "$CLI" filter show dev "$v" ingress | sed "s/^/$v filter /"
		tc -n "$CLI" filter show dev "$v" egress | sed "s/^/$v filter /"
		tc -n "$CLI" qdisc show dev "$v" | grep -E 'clsact|ingress' | sed "s/^/$v /"
		in_cli bpftool net show dev "$v" -j |
			jq -r ".[] | (.tc + .xdp)[] | \"$v bpftool \\(.)\""
	done
}
# on_veths: the policies' container programs on interfaces, in this
# kernel's mode: tcx links (bpf link type 11; bpftool net of bpftool 7.1
# does not list them), or cls_bpf filters of mlb_tc_container
MODE=$(kernel_tc_mode)
PROGS=$(for c in "$CG" "$C3"; do
	bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$c")/prog_tc_container" -j | jq .id
done | paste -sd,)
on_veths() {
	if [ "$MODE" = clsact ]; then
		ours_on_veths | grep -c ' filter .*mlb_tc_containe'
		return 0
	fi
	bpftool link show -j | jq "[.[] | select(.type == 11 and (.prog_id | IN($PROGS)))] | length"
}
check_eq "a program of each policy on each of Docker's 4 veths ($MODE)" 8 "$(on_veths)"
check "detach c3's policy" "$MLB" detach --cgroup "$C3"
check "detach the 1:1:1 policy" "$MLB" detach --cgroup "$CG"
check_eq "no program of the policies left on an interface" 0 "$(on_veths)"
check_eq "no tc filter, qdisc or program left on Docker's 4 veths" "" "$(ours_on_veths)"
check_eq "c1 after detach: all by main" "30 0 0 failures 0" "$(split tcp c1)"

check_eq "the machine's namespace has the iptables rules it had" "$ROOT_IPT" \
	"$(iptables -S; iptables -t nat -S)"
check_eq "the machine's namespace got no link of Docker's (docker0, br-*, veth*)" \
	"$(grep -E '^(docker0|br-|veth)' <<< "$ROOT_LINKS")" \
	"$(ip -o link show | awk '{ print $2 }' | grep -E '^(docker0|br-|veth)')"
check "no rule, route or nft table of mlb-bpf's in the machine's namespace" bed_host_untouched
