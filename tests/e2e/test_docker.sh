#!/bin/bash
# test_docker.sh - real Docker and Podman containers on the balanced host
# are balanced with no step of their own.
#
# The bed's client namespace is the host, with three uplinks and
# gateways that drop other sources.  dockerd (and the containerd it
# starts) runs in that namespace (tests/lib/docker.sh; nsenter --net,
# keeping the machine's mounts, so the cgroup hierarchies stay visible),
# its data, exec root, socket and key under $WORK, the cgroupfs driver
# and --cgroup-parent the bed's cgroup: its bridges, veths and iptables
# rules (the masquerade) live in the bed, its containers in $CG/<id>.
# Podman (rootful, netavark, cgroupfs, storage and configuration under
# $WORK) runs there too, its containers in $CG/podman/libpod-<id>.  The
# image is built here (busybox and the crr client), nothing is pulled.
# mlb-bpf attaches to the containers' parent cgroup, with watch
# running.  Counted at the gateways: a container on the default bridge
# and one on a user-defined network split TCP and connected UDP 1:1:1, a
# Docker container under a policy of its own (its cgroup $CG/<id>, up2
# only) uses up2 alone, a container started after attach is balanced
# once watch has its veth, nothing leaves with a wrong source, and
# detach leaves no tc filter, qdisc or program on the runtimes' veths.
# The machine's own namespace keeps its iptables rules and gets no
# link.
. "$(dirname "$0")/../lib/e2e.sh"
. tests/lib/docker.sh
PODMAN=$(command -v podman)
if [ -z "$DOCKERD" ] && [ -z "$PODMAN" ]; then
	echo "ok - docker and podman # SKIP neither is installed (scripts/install-deps.sh)"
	rm -rf "$WORK"
	exit 0
fi
# A vmtest guest (the host's root over 9p, under emulation) leaves the
# runtimes to the host's run unless TESTS names this test, as run.sh
# does with the layers check: not tried in a guest yet.
if [ -n "${VMTEST_GUEST:-}" ] && [ -z "${TESTS:-}" ]; then
	echo "ok - docker and podman # SKIP in a vmtest guest unless TESTS=docker"
	rm -rf "$WORK"
	exit 0
fi

runtimes_note_host

cleanup() {
	local p
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for p in ${SRV:-}; do bed_server_stop "$p"; done
	dockerd_stop
	[ -z "${PM:-}" ] || timeout 30 "${P[@]}" rm -f -a -t 0 > /dev/null 2>&1
	runtimes_kill_leftovers
	bed_destroy
	runtimes_remove_leftovers
	rm -rf "$WORK"
}
trap cleanup EXIT

N=30			# connections per check: 10 per uplink at 1:1:1

runtimes_bed mlbdock
SRV="$(bed_server_start "$WORK/srv") $(bed_server_start "$WORK/udp" --udp 5001)"

# The image: busybox, and crr with the libraries it links.
test_image_tar "$WORK/rootfs.tar"

# quiet CMD...: CMD with its output dropped (the check's line stays)
quiet() { "$@" > /dev/null 2>&1; }

# The helpers below drive the runtime whose command line is in CT.
# start NAME [OPTIONS]: a container that sleeps; prints nothing
start() {
	"${CT[@]}" run -d --name "$1" "${@:2}" mlbtest:1 sleep 100000 > /dev/null
}
id() { "${CT[@]}" inspect -f '{{.Id}}' "$1"; }
# veth NAME: the host end of the container's eth0
veth() {
	local i
	i=$("${CT[@]}" exec "$1" cat /sys/class/net/eth0/iflink)
	ip -n "$CLI" -j link show | jq -r ".[] | select(.ifindex == $i) | .ifname"
}
# split KIND CONTAINER: N connections (tcp) or UDP exchanges (udp) from
# the container to the server; prints "GW0 GW1 GW2 failures F".
split() {
	local to=$SERVER:5000 counter=syn extra=--rst
	[ "$1" = udp ] && to=$SERVER:5001 counter=udp extra=--udp
	in_inet nft reset counters table inet mlbdock > /dev/null
	"${CT[@]}" exec "$2" crr client --connect "$to" --count "$N" \
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
has_veth() {
	"$MLB" status --cgroup "$CG" --json |
		jq -e ".attachments[0].containers[] | select(.veth == \"$1\")" > /dev/null
}
# late NAME [OPTIONS]: a container started after attach; watch puts the
# program on its veth, and it is balanced
late() {
	local v t0
	check "$1, started after attach" start "$@"
	v=$(veth "$1")
	t0=$(date +%s%N)
	for _ in $(seq 100); do has_veth "$v" && break; sleep 0.05; done
	echo "# $1's veth had the program $((($(date +%s%N) - t0) / 1000000)) ms after the run command returned (polled)"
	check "watch put the program on $1's veth $v" has_veth "$v"
	check_eq "$1: TCP split" "10 10 10 failures 0" "$(split tcp "$1")"
	check_eq "$1: connected UDP split" "about 10 each" "$(udp_split "$1")"
}
# ours_on_veths: tc filters, clsact qdiscs and what bpftool net lists
# (clsact filters, XDP) on the veths in VETHS, one line each
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
# progs CGROUP...: the ids of the attachments' container programs
progs() {
	local c
	for c in "$@"; do
		bpftool prog show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$c")/prog_tc_container" -j | jq .id
	done | paste -sd,
}
# on_veths: the container programs PROGS on interfaces, in this kernel's
# mode: tcx links (bpf link type 11; bpftool net of bpftool 7.1 does not
# list them), or cls_bpf filters of mlb_tc_container (MLB_TC_MODE=clsact
# runs the whole test with those)
MODE=${MLB_TC_MODE:-$(kernel_tc_mode)}
on_veths() {
	if [ "$MODE" = clsact ]; then
		ours_on_veths | grep -c ' filter .*mlb_tc_containe'
		return 0
	fi
	bpftool link show -j | jq "[.[] | select(.type == 11 and (.prog_id | IN($PROGS)))] | length"
}
A=("$MLB" attach --netns "$CLI")
start_watch() {
	"$MLB" watch --cgroup "$CG" 2> "$WORK/watch.log" &
	WATCH=$!
	for _ in $(seq 100); do grep -q "watching cgroup $1" "$WORK/watch.log" && break; sleep 0.1; done
}
stop_watch() { kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=; }

docker_checks() {
	# dockerd in the bed's client namespace, everything of its own in $WORK.
	dockerd_start
	CT=("${D[@]}")
	check "dockerd $("${D[@]}" version -f '{{.Server.Version}}' 2> /dev/null) runs in the bed's client namespace" \
		quiet "${D[@]}" info || return
	check "its bridge docker0 is in the bed" quiet ip -n "$CLI" link show docker0
	check "docker: the image, built here" sh -c "'$DOCKER' -H 'unix://$WORK/docker.sock' import '$WORK/rootfs.tar' mlbtest:1 > /dev/null"
	check "docker: a user-defined network" quiet "${D[@]}" network create --subnet 172.30.0.0/24 mlbnet

	check "c1 on the default bridge" start c1
	check "c2 on the user-defined network" start c2 --network mlbnet
	check "c3 on the default bridge (a policy of its own)" start c3
	local p1 c3
	p1=$("${D[@]}" inspect -f '{{.State.Pid}}' c1)
	check_eq "c1's processes are in the bed's cgroup, in a child of its own" \
		"0::$CGREL/$(id c1)" "$(grep '^0::' "/proc/$p1/cgroup")"
	c3=$CG/$(id c3)

	check_eq "c1 before attach: all by main" "30 0 0 failures 0" "$(split tcp c1)"
	check "attach a 1:1:1 policy to the containers' parent cgroup" "${A[@]}" \
		--cgroup "$CG" --uplink up0 --uplink up1 --uplink up2
	check "attach a policy with up2 only to c3's cgroup" "${A[@]}" --cgroup "$c3" --uplink up2 2> /dev/null
	start_watch "$c3"

	bed_spoofed_reset
	check_eq "c1 (default bridge): TCP split at the gateways" "10 10 10 failures 0" "$(split tcp c1)"
	check_eq "c1: connected UDP split" "about 10 each" "$(udp_split c1)"
	check_eq "c2 (user-defined network): TCP split" "10 10 10 failures 0" "$(split tcp c2)"
	check_eq "c2: connected UDP split" "about 10 each" "$(udp_split c2)"
	check_eq "c3 (a policy with up2 only): TCP" "0 0 30 failures 0" "$(split tcp c3)"
	check_eq "c3: connected UDP" "0 0 30 failures 0" "$(split udp c3)"
	late c4
	check_eq "docker: nothing left a gateway with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"

	VETHS=$(for c in c1 c2 c3 c4; do veth "$c"; done)
	stop_watch
	PROGS=$(progs "$CG" "$c3")
	check_eq "a program of each policy on each of Docker's 4 veths ($MODE)" 8 "$(on_veths)"
	check "detach c3's policy" "$MLB" detach --cgroup "$c3"
	check "detach the 1:1:1 policy" "$MLB" detach --cgroup "$CG"
	check_eq "docker: no program of the policies left on an interface" 0 "$(on_veths)"
	check_eq "no tc filter, qdisc or program left on Docker's 4 veths" "" "$(ours_on_veths)"
	check_eq "c1 after detach: all by main" "30 0 0 failures 0" "$(split tcp c1)"
}

podman_checks() {
	# rootful Podman in the bed's client namespace: configuration,
	# storage and state under $WORK; netavark (its bridge podman0 and
	# nftables rules in the bed).  Its default rlimits fail in some VMs:
	# given explicitly.
	local pw=$WORK/podman
	mkdir -p "$pw/tmp"
	cat > "$pw/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$pw/events.log"
tmp_dir = "$pw/libpod"
image_copy_tmp_dir = "$pw/tmp"
[network]
network_backend = "netavark"
network_config_dir = "$pw/networks"
default_subnet = "172.29.0.0/24"
CONF
	cat > "$pw/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$pw/root"
runroot = "$pw/runroot"
CONF
	P=(env CONTAINERS_CONF="$pw/containers.conf"
	   CONTAINERS_STORAGE_CONF="$pw/storage.conf" TMPDIR="$pw/tmp"
	   nsenter --net="/run/netns/$CLI"
	   "$PODMAN" --root "$pw/root" --runroot "$pw/runroot")
	PM=1
	CT=("${P[@]}")
	start() {
		"${P[@]}" run -d --name "$1" --cgroup-parent="$CGREL/podman" \
			--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
			"${@:2}" localhost/mlbtest:1 sleep 100000 \
			2> >(grep -v 'aardvark-dns binary not found' >&2) > /dev/null
	}
	check "podman $("$PODMAN" --version | awk '{ print $3 }'): the image, built here" \
		sh -c "$(printf '%q ' "${P[@]}") import '$WORK/rootfs.tar' mlbtest:1 > /dev/null 2>&1"
	check "podman: a user-defined network" quiet "${P[@]}" network create --subnet 172.28.0.0/24 mlbpnet
	check "p1 on Podman's default network" start p1
	check "p2 on the user-defined network" start p2 --network mlbpnet
	local p1
	p1=$("${P[@]}" inspect -f '{{.State.Pid}}' p1)
	check_eq "p1's processes are in the bed's cgroup, in podman/libpod-<id>" \
		"0::$CGREL/podman/libpod-$(id p1)" "$(grep '^0::' "/proc/$p1/cgroup")"
	check "podman0 is in the bed" quiet ip -n "$CLI" link show podman0

	check_eq "p1 before attach: all by main" "30 0 0 failures 0" "$(split tcp p1)"
	check "attach a 1:1:1 policy to the Podman containers' parent" "${A[@]}" \
		--cgroup "$CG" --uplink up0 --uplink up1 --uplink up2
	start_watch "$CG"
	bed_spoofed_reset
	check_eq "p1 (default network): TCP split at the gateways" "10 10 10 failures 0" "$(split tcp p1)"
	check_eq "p1: connected UDP split" "about 10 each" "$(udp_split p1)"
	check_eq "p2 (user-defined network): TCP split" "10 10 10 failures 0" "$(split tcp p2)"
	check_eq "p2: connected UDP split" "about 10 each" "$(udp_split p2)"
	late p3
	check_eq "podman: nothing left a gateway with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"

	VETHS=$(for c in p1 p2 p3; do veth "$c"; done)
	stop_watch
	PROGS=$(progs "$CG")
	# (Docker's four veths, if it ran, have the program as well)
	check "the program on each of Podman's 3 veths ($MODE)" \
		test "$(on_veths)" -ge 3
	check "detach" "$MLB" detach --cgroup "$CG"
	check_eq "podman: no program of the policy left on an interface" 0 "$(on_veths)"
	check_eq "no tc filter, qdisc or program left on Podman's 3 veths" "" "$(ours_on_veths)"
	check_eq "p1 after detach: all by main" "30 0 0 failures 0" "$(split tcp p1)"
}

if [ -n "$DOCKERD" ]; then
	docker_checks
else
	echo "ok - docker # SKIP dockerd or /usr/bin/docker not installed (scripts/install-deps.sh)"
fi
if [ -n "$PODMAN" ]; then
	podman_checks
else
	echo "ok - podman # SKIP podman not installed (scripts/install-deps.sh)"
fi

check_eq "the machine's namespace has the iptables rules it had" "$ROOT_IPT" \
	"$(iptables -S; iptables -t nat -S)"
check_eq "the machine's namespace got no link of the runtimes' (docker0, podman0, br-*, veth*)" \
	"$(grep -E '^(docker0|podman0|br-|veth)' <<< "$ROOT_LINKS")" \
	"$(ip -o link show | awk '{ print $2 }' | grep -E '^(docker0|podman0|br-|veth)')"
check "no rule, route or nft table of mlb-bpf's in the machine's namespace" bed_host_untouched
