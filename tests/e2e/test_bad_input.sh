#!/bin/bash
# test_bad_input.sh - every kind of bad input gets a one-line error that
# names the problem, a non-zero exit, and changes nothing: the client
# namespace's rules, routes and nftables, the cgroup's programs and the
# pins are the same before and after.  Also: a failure part way through
# attach (routing, BPF) rolls back what was already done.
. "$(dirname "$0")/../lib/e2e.sh"
FAKE_PIN_ROOT=
cleanup() {
	[ -n "$FAKE_PIN_ROOT" ] && rm -f /sys/fs/bpf/mlb
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create
# An interface with no address (but its link-local IPv6 one), one with
# an IPv4 address but no default route (so no gateway can be found), and
# one with only an IPv6 address and no default route.
in_cli ip link add noaddr0 type veth peer name noaddr1
in_cli ip link set noaddr0 up
in_cli ip link add nogw0 type veth peer name nogw1
in_cli ip link set nogw0 up
in_cli ip addr add 10.9.0.2/24 dev nogw0
in_cli ip link add v6only0 type veth peer name v6only1
in_cli ip link set v6only0 up
in_cli ip addr add 2001:db8:9::2/64 dev v6only0 nodad
# A LAN side for --lan (forwarding stays off: the bed's default).
in_cli ip link add lanx0 type veth peer name lanx1
in_cli ip link set lanx0 up
# The first attach mounts bpffs if needed; do it now so that the
# snapshots compare like with like.
"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 >/dev/null
"$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/before"

# refused EXIT_CODE PATTERN WHAT -- CMD...: CMD exits with EXIT_CODE, says
# one line matching PATTERN, and changes nothing.
refused() { check_refused bed_snapshot "$1" part "${@:2}"; }

A=("$MLB" attach --netns "$CLI" --cgroup "$CG")

refused 1 'interface "eth9" does not exist' "unknown interface" -- \
	"${A[@]}" --uplink up0 --uplink eth9
refused 1 'interface "noaddr0" has no IPv4 or global IPv6 address' "interface without an address" -- \
	"${A[@]}" --uplink up0 --uplink noaddr0
refused 1 'nogw0.*give gateway=ADDR or gateway6=ADDR6' "missing gateway" -- \
	"${A[@]}" --uplink up0 --uplink nogw0
refused 1 'v6only0.*give gateway=ADDR or gateway6=ADDR6' "missing IPv6 gateway" -- \
	"${A[@]}" --uplink up0 --uplink v6only0
refused 1 'nogw0": gateway6= is given but the interface has no global IPv6 address' \
	"gateway6= on an interface without IPv6" -- \
	"${A[@]}" --uplink up0 --uplink nogw0,gateway6=2001:db8:9::1
refused 1 'v6only0": gateway= is given but the interface has no IPv4 address' \
	"gateway= on an interface without IPv4" -- \
	"${A[@]}" --uplink up0 --uplink v6only0,gateway=10.9.0.1
refused 2 'gateway6 "fe80::zz" is not an IPv6 address' "bad gateway6" -- \
	"${A[@]}" --uplink up0 --uplink up1,gateway6=fe80::zz
for w in 0 -1 abc 1001 3x ""; do
	refused 2 "weight must be an integer from 1 to 1000" "weight \"$w\"" -- \
		"${A[@]}" --uplink up0 --uplink "up1,weight=$w"
done
refused 2 'gateway "300.1.1.1" is not an IPv4 address' "bad gateway" -- \
	"${A[@]}" --uplink up0 --uplink up1,gateway=300.1.1.1
refused 2 'unknown key "color"' "unknown uplink key" -- \
	"${A[@]}" --uplink up0 --uplink up1,color=red
refused 2 'uplink "up0" is given twice' "duplicate uplink" -- \
	"${A[@]}" --uplink up0 --uplink up0
refused 1 'LAN interface "lan9" does not exist' "unknown --lan interface" -- \
	"${A[@]}" --uplink up0 --uplink up1 --lan lan9
refused 2 'lan "up1" is also an uplink' "--lan names an uplink" -- \
	"${A[@]}" --uplink up0 --uplink up1 --lan up1
refused 2 'lan "lanx0" is given twice' "--lan given twice" -- \
	"${A[@]}" --uplink up0 --uplink up1 --lan lanx0 --lan lanx0
refused 2 'at most 8 --lan interfaces' "too many --lan" -- \
	"${A[@]}" --uplink up0 --uplink up1 $(printf -- '--lan l%d ' 0 1 2 3 4 5 6 7 8)
refused 1 'IPv4 forwarding is off.*net.ipv4.ip_forward=1' "--lan with forwarding off" -- \
	"${A[@]}" --uplink up0 --uplink up1 --lan lanx0
refused 2 'outside --mark-mask' "mark base outside the mask" -- \
	"${A[@]}" --uplink up0 --uplink up1 --mark-base 0x300
refused 2 'outside --mark-mask' "marks overflow the mask" -- \
	"${A[@]}" --uplink up0 --uplink up1 --mark-base 0xff
refused 2 'mark-mask' "empty mark mask" -- \
	"${A[@]}" --uplink up0 --uplink up1 --mark-mask 0
refused 2 '"zz" is not a number' "non-numeric mark" -- \
	"${A[@]}" --uplink up0 --uplink up1 --mark-base zz
refused 2 'reserved table 253' "reserved table" -- \
	"${A[@]}" --uplink up0 --uplink up1 --table-base 252
refused 2 'table' "table 0" -- \
	"${A[@]}" --uplink up0 --uplink up1 --table-base 0
refused 2 'priority' "priority past main" -- \
	"${A[@]}" --uplink up0 --uplink up1 --priority 32765

in_cli ip route add 10.77.0.0/16 dev up0 table 7101
bed_snapshot > "$WORK/before"
refused 1 'table 7101' "table already in use" -- \
	"${A[@]}" --uplink up0 --uplink up1
in_cli ip route del 10.77.0.0/16 dev up0 table 7101
in_cli ip -6 route add 2001:db8:77::/48 dev up0 table 7101
bed_snapshot > "$WORK/before"
refused 1 'table 7101 is already in use \(it has IPv6 routes\)' "table in use by IPv6 routes" -- \
	"${A[@]}" --uplink up0 --uplink up1
in_cli ip -6 route del 2001:db8:77::/48 dev up0 table 7101
in_cli ip -6 rule add from 2001:db8:77::/48 lookup 7100 priority 500
bed_snapshot > "$WORK/before"
refused 1 'table 7100 is already in use \(IPv6 rule 500 looks it up\)' "table in use by an IPv6 rule" -- \
	"${A[@]}" --uplink up0 --uplink up1
in_cli ip -6 rule del from 2001:db8:77::/48 lookup 7100 priority 500
bed_snapshot > "$WORK/before"

refused 1 'No such file or directory' "missing cgroup" -- \
	"$MLB" attach --netns "$CLI" --cgroup "$CG/nope" --uplink up0 --uplink up1
refused 1 'not a directory' "cgroup path is a file" -- \
	"$MLB" attach --netns "$CLI" --cgroup "$CG/cgroup.procs" --uplink up0 --uplink up1
refused 1 'not a cgroup2 directory' "not a cgroup2 path" -- \
	"$MLB" attach --netns "$CLI" --cgroup "$WORK" --uplink up0 --uplink up1
refused 1 'network namespace' "unknown network namespace" -- \
	"$MLB" attach --netns "$BED_ID-nope" --cgroup "$CG" --uplink up0 --uplink up1

refused 1 'permission denied.*root' "not root" -- \
	setpriv --reuid=65534 --regid=65534 --clear-groups "${A[@]}" --uplink up0 --uplink up1
refused 1 'missing CAP_BPF' "without CAP_BPF" -- \
	setpriv --inh-caps=-bpf,-sys_admin --bounding-set=-bpf,-sys_admin \
	"${A[@]}" --uplink up0 --uplink up1
refused 1 'missing CAP_NET_ADMIN' "without CAP_NET_ADMIN" -- \
	setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
	"${A[@]}" --uplink up0 --uplink up1
refused 1 "needs the kernel's BTF .*lacks /nonexistent/vmlinux" "kernel without BTF" -- \
	env MLB_KERNEL_BTF=/nonexistent/vmlinux "${A[@]}" --uplink up0 --uplink up1
# bpffs absent and not mountable (no CAP_SYS_ADMIN), in a private mount
# namespace so the machine's bpffs is not touched.
refused 1 'cannot mount bpffs' "bpffs not mountable" -- \
	unshare -m sh -c 'umount /sys/fs/bpf 2>/dev/null;
		exec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$@"' \
	sh "${A[@]}" --uplink up0 --uplink up1

refused 3 'nothing is attached to cgroup' "detach with nothing attached" -- \
	"$MLB" detach --cgroup "$CG"
refused 3 'nothing is attached to cgroup' "status of a cgroup with nothing attached" -- \
	"$MLB" status --cgroup "$CG"
refused 2 'unknown command "frobnicate"' "unknown command" -- "$MLB" frobnicate
refused 2 'unknown option "--bogus"' "unknown option" -- \
	"${A[@]}" --uplink up0 --bogus

# Failures part way through attach undo what was done before them.
# The second uplink's interface is down: its routes fail after the first
# uplink's table was filled.
in_cli ip link set nogw0 down
bed_snapshot > "$WORK/before"
refused 1 '^mlb-bpf: routing: .*nogw0.*Network is down' "uplink down: routing rolled back" -- \
	"${A[@]}" --uplink up0 --uplink nogw0,gateway=10.9.0.1
# An IPv6-only uplink that is down fails after both families' routes of
# up0 were added (IPv4 first), and the addresses stay while it is down.
in_cli ip link set v6only0 down
bed_snapshot > "$WORK/before"
refused 1 '^mlb-bpf: routing: adding route 2001:db8:9::/64 dev v6only0 to table 7101: Network is down' \
	"IPv6 uplink down: both families rolled back" -- \
	"${A[@]}" --uplink up0 --uplink v6only0,gateway6=fe80::1
if [ ! -e /sys/fs/bpf/mlb ]; then
	# A pinned object where the pin directory should be makes the BPF
	# step fail after routing and NAT were set up.
	bpftool map create /sys/fs/bpf/mlb type array key 4 value 4 entries 1 name mlbtest
	FAKE_PIN_ROOT=1
	bed_snapshot > "$WORK/before"
	refused 1 '^mlb-bpf: BPF: ' "pinning fails: routing and NAT rolled back" -- \
		"${A[@]}" --uplink up0 --uplink up1
	rm -f /sys/fs/bpf/mlb
	FAKE_PIN_ROOT=
else
	echo "# skipped: pinning failure (/sys/fs/bpf/mlb is in use)"
fi

# The sanitizer build must give the same answers without a report.
bed_snapshot > "$WORK/before"
refused 2 "weight must be" "sanitizer build: bad weight" -- \
	"$MLB_ASAN" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1,weight=0
refused 1 'interface "eth9" does not exist' "sanitizer build: unknown interface" -- \
	"$MLB_ASAN" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink eth9
