# shellcheck shell=bash
# docker.sh - the real dockerd in a test bed's client namespace, for
# test_docker and test_image (sourced after e2e.sh, which sets $WORK).
#
# dockerd (and the containerd it starts) runs in $CLI (nsenter --net,
# keeping the machine's mounts, so the cgroup hierarchies stay visible),
# its data, exec root, socket and key under $WORK, the cgroupfs driver and
# --cgroup-parent the bed's cgroup: its bridges, veths and iptables rules
# live in the bed, its containers in $CG/<id>.  Nothing is pulled: the
# test image (busybox and the crr client) is built here.  What the
# runtimes make outside $WORK is removed after if the test made it.

DOCKERD=$(command -v dockerd)
DOCKER=/usr/bin/docker		# the client of dockerd's version
[ -x "$DOCKER" ] || DOCKERD=

# pids_of_work: processes whose command line names a path under $WORK
# (the containerd dockerd starts, the shims, Podman's conmon: their
# --config, -address, -b), found by their paths, not by their names.
pids_of_work() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qF -- "$WORK/" &&
			echo "${p#/proc/}"
	done
	return 0
}

# runtimes_note_host: what the runtimes make outside $WORK whatever they
# are told, noted before they run: /run/docker/plugins, /run/containerd/s
# (the shims' sockets), /run/containers/networks (netavark's address
# allocations), /run/runc (runc's state for Podman),
# /var/lib/containers/cache (a blob cache), and Podman's container
# namespaces /run/netns/netns-*.
runtimes_note_host() {
	local d
	MADE_DIRS=
	for d in /run/docker /run/containerd /run/containers /run/runc /var/lib/containers; do
		[ -e "$d" ] || MADE_DIRS="$MADE_DIRS $d"
	done
	NETNS_BEFORE=$(ls /run/netns 2>/dev/null)
}

# test_image_tar FILE: the test image's root file system as a tar file:
# busybox, and crr with the libraries it links.
test_image_tar() {
	local r=$WORK/rootfs a l
	mkdir -p "$r/bin" "$r/etc" "$r/tmp"
	cp /bin/busybox "$r/bin/"
	for a in sh sleep cat ls ip nc wget; do ln -s busybox "$r/bin/$a"; done
	cp "$CRR" "$r/bin/crr"
	for l in $(ldd "$CRR" | awk '$1 ~ /^\// { print $1 } $3 ~ /^\// { print $3 }'); do
		mkdir -p "$r$(dirname "$l")"
		cp -L "$l" "$r$l"
	done
	tar -C "$r" -cf "$1" .
	rm -rf "$r"
}

# dockerd_start: dockerd in the bed's client namespace, everything of its
# own in $WORK, its containers under $CGREL (the bed's cgroup, relative
# to the cgroup root); sets D (the client's command line) and DPID.
# Fails, with dockerd's last lines, if it does not answer in 30 s.
dockerd_start() {
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
		"${D[@]}" info > /dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$WORK/dockerd.log" | sed 's/^/#   dockerd: /'
	return 1
}

# dockerd_stop: its containers removed, dockerd stopped (killed after 10 s).
dockerd_stop() {
	[ -n "${DPID:-}" ] && kill -0 "$DPID" 2>/dev/null || return 0
	# shellcheck disable=SC2046
	timeout 30 "${D[@]}" rm -f $(timeout 10 "${D[@]}" ps -aq) > /dev/null 2>&1
	kill -TERM "$DPID"
	for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

# runtimes_kill_leftovers: what the runtimes left running (containerd,
# shims, conmon), by pid; before bed_destroy.
runtimes_kill_leftovers() {
	local p
	for p in $(pids_of_work); do kill -9 "$p" 2>/dev/null; done
	for _ in $(seq 50); do [ -z "$(pids_of_work)" ] && break; sleep 0.1; done
}

# runtimes_remove_leftovers: after bed_destroy, the containers' cgroups
# in the v1 hierarchies (a hybrid layout), the container namespaces,
# mounts under $WORK and the directories of runtimes_note_host's list.
runtimes_remove_leftovers() {
	local d p
	for d in $(awk '$3 == "cgroup" { print $2 }' /proc/self/mounts); do
		[ -n "${CGREL:-}" ] && [ -d "$d$CGREL" ] || continue
		find "$d$CGREL" -depth -type d |
			while read -r p; do cgroup_remove "$p"; done
	done
	for d in /run/netns/netns-*; do
		[ -e "$d" ] || continue
		grep -qxF "${d##*/}" <<< "${NETNS_BEFORE:-}" && continue
		umount "$d" 2>/dev/null
		rm -f "$d"
	done
	# mounts the runtimes left under $WORK (data roots, netns files)
	findmnt -rn -o TARGET | grep -F -- "$WORK/" | sort -r |
		while read -r p; do umount -l "$p"; done
	for d in ${MADE_DIRS:-}; do rm -rf "$d"; done
}

# runtimes_bed TABLE: the machine's iptables rules and links noted
# (ROOT_IPT, ROOT_LINKS: a runtime in the bed must change neither), a
# three-uplink bed with strict gateways, CGREL (the bed's cgroup below the
# cgroup2 root) and per-gateway counters in inet table TABLE (count NAME).
runtimes_bed() {
	ROOT_IPT=$(iptables -S; iptables -t nat -S)
	ROOT_LINKS=$(ip -o link show | awk '{ print $2 }')
	bed_create 3
	bed_strict_gateways 3
	CGREL=${CG#"$BED_CGROOT"}
	RUNTIMES_TABLE=$1
	bed_flow_counters "$1" 3
}
count() { nft_counter "$INET" "$RUNTIMES_TABLE" "$1"; }
