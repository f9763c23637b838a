#!/bin/bash
# test_image.sh - mlb-bpf itself in a container: the image that
# scripts/build-image.sh makes from the .deb, run by the real dockerd with
# the host's network namespace, the cgroup2 and bpffs mounts, /run/mlb-bpf
# and a configuration file, balances as the installed binary does, and
# leaves its attachment to the host when it stops.
#
# The bed's client namespace is the host: dockerd runs there
# (tests/lib/docker.sh, as in test_docker), so --network host gives the
# container that namespace.  The configuration names three uplinks and
# one policy, the bed's cgroup, which is also dockerd's --cgroup-parent.
# The container runs the image's command, `mlb-bpf watch --config
# /etc/mlb-bpf/mlb-bpf.conf`, which applies the file at start.  Counted
# at gateways that drop other sources: 30 connections of a host process
# in the cgroup split 10/10/10, and so do two Docker containers' (their
# veths given the program by the containerised watch); after `docker
# stop` they still split 10/10/10 (the state is pinned in bpffs, not held
# by the container), and a restarted container's watch takes it over;
# `mlb-bpf detach` with the host's binary then leaves no pin, no rule or
# route of protocol 77, no nftables table of mlb-bpf's and no cgroup
# program.  The host's pid namespace (--pid host) is not needed: mlb-bpf
# reads no other process's /proc entry, and the test passes without it.
. "$(dirname "$0")/../lib/e2e.sh"
. tests/lib/docker.sh
if [ -z "$DOCKERD" ]; then
	echo "ok - mlb-bpf image # SKIP dockerd or /usr/bin/docker not installed (scripts/install-deps.sh)"
	rm -rf "$WORK"
	exit 0
fi
# A vmtest guest leaves it to the host's run unless TESTS names it, as
# test_docker does.
if [ -n "${VMTEST_GUEST:-}" ] && [ -z "${TESTS:-}" ]; then
	echo "ok - mlb-bpf image # SKIP in a vmtest guest unless TESTS=image"
	rm -rf "$WORK"
	exit 0
fi
for t in dpkg-buildpackage dpkg-deb; do
	if ! command -v "$t" > /dev/null; then
		echo "ok - mlb-bpf image # SKIP $t not installed (scripts/install-deps.sh)"
		rm -rf "$WORK"
		exit 0
	fi
done
# Where the machine mounts cgroup2 and bpffs (the container gets the same
# paths); mlb-bpf pins under /sys/fs/bpf.
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
BPFFS=$(awk '$3 == "bpf" { print $2; exit }' /proc/self/mounts)
if [ "$BPFFS" != /sys/fs/bpf ]; then
	echo "ok - mlb-bpf image # SKIP bpffs is not mounted at /sys/fs/bpf"
	rm -rf "$WORK"
	exit 0
fi

runtimes_note_host
RUN_BEFORE=$([ -e /run/mlb-bpf ] && echo yes)

cleanup() {
	local p
	for p in ${SRV:-}; do bed_server_stop "$p"; done
	dockerd_stop
	runtimes_kill_leftovers
	# the attachment was made in the bed's namespace, with no name for
	# it: detached from there
	[ -z "${CG:-}" ] || [ ! -d "$CG" ] ||
		in_cli "$MLB" detach --cgroup "$CG" > /dev/null 2>&1
	bed_destroy
	runtimes_remove_leftovers
	[ -n "$RUN_BEFORE" ] || rmdir /run/mlb-bpf 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

N=30			# connections per check: 10 per uplink at 1:1:1
runtimes_bed mlbimg
SRV=$(bed_server_start "$WORK/srv")
quiet() { "$@" > /dev/null 2>&1; }

# split WHO: N connections from a host process in $CG (host) or from the
# Docker container WHO; prints "GW0 GW1 GW2 failures F".
split() {
	local c=(in_cgroup "$CRR")
	[ "$1" = host ] || c=("${D[@]}" exec "$1" crr)
	in_inet nft reset counters table inet mlbimg > /dev/null
	"${c[@]}" client --connect "$SERVER:5000" --count "$N" --timeout 5 --rst \
		> "$WORK/out" 2>&1
	grep -q "^failures 0$" "$WORK/out" || sed 's/^/#   crr: /' "$WORK/out" >&2
	echo "$(count syn_gw0) $(count syn_gw1) $(count syn_gw2) failures" \
	     "$(awk '$1 == "failures" { print $2 }' "$WORK/out")"
}
status() { in_cli "$MLB" status --cgroup "$CG" --json 2> /dev/null; }
attached() { [ "$(status | jq '.attachments | length')" = 1 ]; }
# veth NAME: the host end of the container's eth0
veth() {
	local i
	i=$("${D[@]}" exec "$1" cat /sys/class/net/eth0/iflink)
	ip -n "$CLI" -j link show | jq -r ".[] | select(.ifindex == $i) | .ifname"
}
has_veth() {
	[ -n "$(status | jq ".attachments[0].containers[] | select(.veth == \"$1\")")" ]
}
# until SECONDS CMD...: CMD succeeds within SECONDS (polled)
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
pins() { ls "/sys/fs/bpf/mlb/$(stat -c %i "$CG")" 2>/dev/null; }
ours_in_bed() {
	{ ip -n "$CLI" rule show; ip -n "$CLI" -6 rule show
	  ip -n "$CLI" route show table all; ip -n "$CLI" -6 route show table all; } |
		grep -w 'proto 77'
	in_cli nft list tables | grep -w 'mlb_bpf_[0-9]*'
	bpftool cgroup show "$CG" | tail -n +2
	return 0
}

if ! dockerd_start; then
	tap_fail "dockerd runs in the bed's client namespace"
	exit 1
fi
check "dockerd $("${D[@]}" version -f '{{.Server.Version}}') runs in the bed's client namespace" true
test_image_tar "$WORK/rootfs.tar"
check "the test image (busybox, crr), built here" quiet "${D[@]}" import "$WORK/rootfs.tar" mlbtest:1

# The image, from the .deb that scripts/build-image.sh builds.
t0=$(date +%s)
if DOCKER="${D[*]}" scripts/build-image.sh --tag mlb-bpf:test > "$WORK/image.log" 2>&1; then
	tap_ok "scripts/build-image.sh: dpkg-buildpackage, the .deb's files and the libraries ldd lists imported as mlb-bpf:test ($(($(date +%s) - t0)) s)"
else
	tap_fail "scripts/build-image.sh"
	tail -20 "$WORK/image.log" | sed 's/^/#   /'
	exit 1
fi
check_eq "the image runs mlb-bpf watch --config /etc/mlb-bpf/mlb-bpf.conf" \
	'["/usr/sbin/mlb-bpf"] ["watch","--config","/etc/mlb-bpf/mlb-bpf.conf"]' \
	"$("${D[@]}" image inspect mlb-bpf:test | jq -c '.[0].Config | .Entrypoint, .Cmd' | paste -sd' ')"
echo "# image size $("${D[@]}" image inspect mlb-bpf:test | jq '.[0].Size / 1048576 | floor') MiB"
check_eq "its binary is the package's, and runs there" "$("$MLB" --version)" \
	"$("${D[@]}" run --rm mlb-bpf:test --version 2>&1)"

cat > "$WORK/mlb-bpf.conf" <<EOF
# mlb-bpf in a container: the namespace is the container's (--network host)
[uplink up0]
[uplink up1]
[uplink up2]

[policy $CG]
uplinks = up0, up1, up2
EOF

check "c1, a container on Docker's default bridge" \
	quiet "${D[@]}" run -d --name c1 mlbtest:1 sleep 100000
check_eq "before: the host's processes all by main" "30 0 0 failures 0" "$(split host)"
check_eq "before: c1 all by main" "30 0 0 failures 0" "$(split c1)"

# --privileged asks runc for every capability, and runc fails with
# "unable to apply caps" where this shell's bounding set lacks one (a
# shared machine's session may drop some; --cap-drop does not apply with
# --privileged).  There the test gives what --privileged gives, less those
# capabilities: every other capability, no seccomp or AppArmor profile,
# /proc/sys writable (systempaths=unconfined).
DROP=()
BND=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
for ((i = 0; i <= $(cat /proc/sys/kernel/cap_last_cap); i++)); do
	((BND >> i & 1)) && continue
	cap=$(capsh --decode="$(printf "%x" $((1 << i)))" | sed "s/.*=cap_//")
	DROP+=(--cap-drop "${cap^^}")
	echo "# this machine's bounding set lacks CAP_${cap^^}: --cap-drop ${cap^^}"
done
PRIV=(--privileged)
[ ${#DROP[@]} -eq 0 ] || PRIV=(--cap-add ALL "${DROP[@]}" --security-opt seccomp=unconfined
	--security-opt apparmor=unconfined --security-opt systempaths=unconfined)
RUN=("${D[@]}" run -d --name mlb "${PRIV[@]}" --network host
     -v "$CG2:$CG2" -v "$BPFFS:$BPFFS" -v /run/mlb-bpf:/run/mlb-bpf
     -v "$WORK/mlb-bpf.conf:/etc/mlb-bpf/mlb-bpf.conf:ro" mlb-bpf:test)
echo "# docker run -d --name mlb ${PRIV[*]} --network host -v $CG2:$CG2 -v $BPFFS:$BPFFS -v /run/mlb-bpf:/run/mlb-bpf -v CONF:/etc/mlb-bpf/mlb-bpf.conf:ro mlb-bpf:test"
"${RUN[@]}" > /dev/null 2> "$WORK/run.err"
check_eq "the mlb-bpf container starts" "0 " "$? $(cat "$WORK/run.err")"
logs() { "${D[@]}" logs mlb 2>&1; }
until_ok 10 attached
check_eq "its watch --config attaches the file's policy to $CG" 0 $?
check "and watches it" until_ok 5 sh -c "'$DOCKER' -H 'unix://$WORK/docker.sock' logs mlb 2>&1 | grep -q 'watching cgroup $CG'"
logs | sed 's/^/#   mlb: /' | head -8
check_eq "the record says the bed's namespace and three uplinks" "$(stat -L -c %i "/run/netns/$CLI") up0,up1,up2" \
	"$(status | jq -r '.attachments[0] | "\(.netns_inode) \([.uplinks[].name] | join(","))"')"
check "watch runs in the container (docker top)" \
	test "$("${D[@]}" top mlb -o pid,args | grep -c 'mlb-bpf watch --config')" -eq 1

bed_spoofed_reset
check_eq "a host process in $CG: split at the gateways" "10 10 10 failures 0" "$(split host)"
V1=$(veth c1)
check "the containerised watch put the program on c1's veth $V1" until_ok 10 has_veth "$V1"
check_eq "c1: split" "10 10 10 failures 0" "$(split c1)"
check "c2, started now" quiet "${D[@]}" run -d --name c2 mlbtest:1 sleep 100000
V2=$(veth c2)
check "watch put the program on c2's veth $V2" until_ok 10 has_veth "$V2"
check_eq "c2: split" "10 10 10 failures 0" "$(split c2)"

check "docker stop mlb" quiet "${D[@]}" stop -t 10 mlb
check_eq "it exited with status 0 (SIGTERM)" "false 0" \
	"$("${D[@]}" inspect -f '{{.State.Running}} {{.State.ExitCode}}' mlb)"
check "the attachment stays (pinned in bpffs)" attached
check_eq "after stop: a host process still splits" "10 10 10 failures 0" "$(split host)"
check_eq "after stop: c1 still splits" "10 10 10 failures 0" "$(split c1)"
check_eq "nothing left a gateway with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"

check "the container again (docker start): its watch takes the attachment over" \
	quiet "${D[@]}" start mlb
check "it watches the attachment again" until_ok 10 sh -c \
	"[ \$('$DOCKER' -H 'unix://$WORK/docker.sock' logs mlb 2>&1 | grep -c 'watching cgroup $CG') -ge 2 ]"
check_eq "the host process splits" "10 10 10 failures 0" "$(split host)"
check "docker stop mlb, again" quiet "${D[@]}" stop -t 10 mlb

check "detach with the host's binary (in the namespace it was attached from)" \
	quiet in_cli "$MLB" detach --cgroup "$CG"
check_eq "no pin left under /sys/fs/bpf/mlb/<cgroup inode>" "" "$(pins)"
check_eq "no rule or route of protocol 77, nftables table or cgroup program left in the bed" \
	"" "$(ours_in_bed)"
check_eq "after detach: the host's processes all by main" "30 0 0 failures 0" "$(split host)"
check_eq "after detach: c1 all by main" "30 0 0 failures 0" "$(split c1)"

check_eq "the machine's namespace has the iptables rules it had" "$ROOT_IPT" \
	"$(iptables -S; iptables -t nat -S)"
check_eq "the machine's namespace got no link of Docker's (docker0, veth*)" \
	"$(grep -E '^(docker0|br-|veth)' <<< "$ROOT_LINKS")" \
	"$(ip -o link show | awk '{ print $2 }' | grep -E '^(docker0|br-|veth)')"
check "no rule, route or nft table of mlb-bpf's in the machine's namespace" bed_host_untouched
