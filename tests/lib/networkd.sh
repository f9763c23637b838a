# shellcheck shell=bash
# networkd.sh - the uplinks of a bed (bed.sh) owned by systemd-networkd,
# with their IPv4 addresses, default routes and leases from DHCP, as on a
# server: dnsmasq serves the leases from the gateways' side ($INET), and
# networkd runs standalone in the client namespace ($CLI).
#
# This machine's PID 1 is not systemd, so networkd runs on its own: in a
# private mount namespace of its own, with
#   - /sys mounted again read-only (networkd then knows there is no udev
#     and does not wait for it to initialise the links),
#   - a tmpfs on /run (its state, systemd/netif/),
#   - the bed's .network files bound on /etc/systemd/network,
# and a private dbus-daemon as its system bus, which networkctl talks to.
# Nothing of the machine's own /etc, /run or bus is touched.  Every
# process is started here and stopped by its pid (nd_stop).
#
# Leases: 2 minutes (dnsmasq's least), renewed every ND_T1 seconds.

ND_T1=${ND_T1:-4}

# nd_range I: the DHCP range dnsmasq offers on gwI ("" from .100, "new"
# from .150: a new address for every client).
nd_range() {
	local net
	case $1 in
	0) net=192.0.2 ;;
	1) net=198.51.100 ;;
	*) net=10.$((100 + $1)).0 ;;
	esac
	if [ "${2:-}" = new ]; then
		echo "$net.150,$net.199,255.255.255.0,2m"
	else
		echo "$net.100,$net.149,255.255.255.0,2m"
	fi
}

# nd_dhcp_start N [new]: dnsmasq in $INET serving gw0..gwN-1 (DHCP only:
# no DNS; the router option is the serving interface's address).  With
# new, gw0's range moves and its lease file is forgotten: up0 gets a new
# address at its next lease.  Sets ND_DNSMASQ (its pid).
nd_dhcp_start() {
	local n=$1 i args=()
	for ((i = 0; i < n; i++)); do
		args+=(--interface="gw$i")
		if [ "$i" = 0 ]; then
			args+=(--dhcp-range="$(nd_range 0 "${2:-}")")
		else
			args+=(--dhcp-range="$(nd_range "$i")")
		fi
	done
	[ "${2:-}" != new ] || : > "$ND_DIR/leases"
	nsenter --net="/run/netns/$INET" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --port=0 --bind-interfaces \
		--dhcp-authoritative --no-ping \
		--dhcp-option=option:T1,"$ND_T1" \
		--dhcp-option=option:T2,$((ND_T1 * 2)) \
		--dhcp-leasefile="$ND_DIR/leases" --log-dhcp \
		--log-facility="$ND_DIR/dnsmasq.log" "${args[@]}" &
	ND_DNSMASQ=$!
}

# nd_kill PID: stop a process started here, and reap it.
nd_kill() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# nd_create N: the uplinks up0..upN-1 of the bed lose the bed's static
# addresses and routes, and get a .network file each (DHCPv4 only); the
# private bus is started.  Sets ND_DIR, ND_BUS.
nd_create() {
	local n=$1 i
	ND_DIR=$WORK/networkd
	# networkd runs as systemd-network: it must reach the bus socket
	mkdir -p "$ND_DIR/network"
	chmod 755 "$WORK" "$ND_DIR"
	for ((i = 0; i < n; i++)); do
		ip -n "$CLI" addr flush dev "up$i"
		ip -n "$CLI" route flush dev "up$i"
		ip -n "$CLI" -6 route flush dev "up$i"
		cat > "$ND_DIR/network/50-up$i.network" <<EOF
[Match]
Name=up$i

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
# the hostname a lease carries would be set on the machine
UseHostname=no
SendHostname=no
UseDNS=no
EOF
	done
	cat > "$ND_DIR/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$ND_DIR/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/>
    <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	ND_BUS=unix:path=$ND_DIR/bus
	dbus-daemon --config-file="$ND_DIR/dbus.conf" --nofork --nopidfile \
		> "$ND_DIR/dbus.log" 2>&1 &
	ND_DBUS=$!
	for _ in $(seq 100); do
		[ -S "$ND_DIR/bus" ] && break
		sleep 0.05
	done
	# runs in the client namespace and a new private mount namespace,
	# then becomes networkd (same pid)
	cat > "$ND_DIR/inner.sh" <<'EOF'
#!/bin/bash
set -e
mount --make-rprivate /
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
# a /run of its own: its state (systemd/netif) lives and dies with it,
# and a machine without /run/systemd needs none made
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir /run/systemd
mount --bind "$1/network" /etc/systemd/network
# a networkd.conf drop-in, where networkd also looks for one
if [ -f "$1/dropin.conf" ]; then
	mkdir /run/systemd/networkd.conf.d
	cp "$1/dropin.conf" /run/systemd/networkd.conf.d/
fi
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$1/bus
exec /lib/systemd/systemd-networkd
EOF
	chmod 755 "$ND_DIR/inner.sh"
}

# nd_start [DROPIN]: networkd, with the networkd.conf drop-in DROPIN if
# given; sets ND_PID.
nd_start() {
	rm -f "$ND_DIR/dropin.conf"
	[ -z "${1:-}" ] || cp "$1" "$ND_DIR/dropin.conf"
	SYSTEMD_LOG_LEVEL=debug nsenter --net="/run/netns/$CLI" \
		unshare --mount --propagation private "$ND_DIR/inner.sh" \
		"$ND_DIR" >> "$ND_DIR/networkd.log" 2>&1 &
	ND_PID=$!
}

# nd_ctl ARGS...: networkctl, in networkd's namespaces, on the private bus.
nd_ctl() {
	DBUS_SYSTEM_BUS_ADDRESS=$ND_BUS nsenter -t "$ND_PID" -n -m \
		networkctl --no-pager "$@"
}

# nd_addr IFACE: the uplink's IPv4 address (without prefix), or nothing.
nd_addr() {
	ip -n "$CLI" -4 -o addr show dev "$1" scope global |
		awk '{ sub("/.*", "", $4); print $4; exit }'
}

# nd_wait_addr IFACE [PATTERN]: until the uplink has an address matching
# PATTERN (a grep -E), at most 10 s.
nd_wait_addr() {
	for _ in $(seq 200); do
		nd_addr "$1" | grep -qE "${2:-.}" && return 0
		sleep 0.05
	done
	return 1
}

# nd_stop: networkd, dnsmasq and the bus, by pid.
nd_stop() {
	nd_kill "${ND_PID:-}"
	nd_kill "${ND_DNSMASQ:-}"
	nd_kill "${ND_DBUS:-}"
	ND_PID='' ND_DNSMASQ='' ND_DBUS=''
}
