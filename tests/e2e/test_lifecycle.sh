#!/bin/bash
# test_lifecycle.sh - what attach leaves in the kernel while attached, and
# how it goes: exactly the rules, tables and nftables table it documents;
# pins readable by root only; attaching again to the same cgroup replaces
# the attachment (one program, no duplicate rules); and nothing left
# behind.  (detach --all is not tried: it would touch attachments that
# are not the test's.)
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	ip netns del "$BED_ID-gone" 2>/dev/null
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create
bed_snapshot > "$WORK/before"

check "attach 1:1, --masquerade" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink up0 --uplink up1 --masquerade
CGID=$(stat -c %i "$CG")

ip -n "$CLI" rule show > "$WORK/rules"
check_eq "ip rules are the documented ones" \
"0:	from all lookup local
7100:	from all lookup main suppress_prefixlength 0 proto 77
7101:	from 192.0.2.2 lookup 7100 proto 77
7101:	from 198.51.100.2 lookup 7101 proto 77
7102:	from 192.0.2.2 unreachable proto 77
7102:	from 198.51.100.2 unreachable proto 77
7103:	from all fwmark 0x10/0xff lookup 7100 proto 77
7103:	from all fwmark 0x11/0xff lookup 7101 proto 77
32766:	from all lookup main
32767:	from all lookup default" "$(cat "$WORK/rules")"
check_eq "table 7100 routes via up0" \
"default via 192.0.2.1 dev up0 proto 77 src 192.0.2.2 
192.0.2.0/24 dev up0 proto 77 scope link src 192.0.2.2 " \
	"$(ip -n "$CLI" route show table 7100)"
check_eq "table 7101 routes via up1" \
"default via 198.51.100.1 dev up1 proto 77 src 198.51.100.2 
198.51.100.0/24 dev up1 proto 77 scope link src 198.51.100.2 " \
	"$(ip -n "$CLI" route show table 7101)"
check "nftables table masquerades on both uplinks" sh -c \
	"ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID | grep -c masquerade | grep -qx 2"
check_eq "a marked socket routes by its uplink" "up1" \
	"$(ip -n "$CLI" -j route get 203.0.113.10 mark 0x11 | jq -r '.[0].dev')"
check_eq "one program on the cgroup" 1 \
	"$(bpftool cgroup show "$CG" -j | jq 'length')"
check_eq "pins are root-only" "drwx------ -rw-------" \
	"$(stat -c %A "/sys/fs/bpf/mlb/$CGID") $(stat -c %A /sys/fs/bpf/mlb/$CGID/* | sort -u | tr '\n' ' ' | sed 's/ $//')"

check "attach again with other weights and no masquerade" \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0,weight=2 --uplink up1 --no-masquerade
check_eq "still one program on the cgroup" 1 \
	"$(bpftool cgroup show "$CG" -j | jq 'length')"
check_eq "no duplicate rules after re-attach" "$(cat "$WORK/rules")" \
	"$(ip -n "$CLI" rule show)"
check "the old nftables table is gone" sh -c \
	"! ip netns exec '$CLI' nft list table inet mlb_bpf_$CGID >/dev/null 2>&1"
check_eq "status shows the new weights" "2 1" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '[.attachments[0].uplinks[].weight] | join(" ")')"

# Sockets keep being marked after mlb-bpf exited (the link is pinned).
in_cgroup "$CRR" client --udp --connect 203.0.113.10:9 --count 3 --report \
	> "$WORK/marks" 2>/dev/null
check_eq "sockets made after mlb-bpf exited carry the marks 2:1" \
	"mark 0x10 2
mark 0x11 1" "$(grep '^mark' "$WORK/marks" | sort)"

check "detach" "$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "nothing left after detach" "$WORK/before" "$WORK/after"
check "no pin directory left for the cgroup" test ! -e "/sys/fs/bpf/mlb/$CGID"
"$MLB" detach --cgroup "$CG" 2>/dev/null
check_eq "a second detach exits 3" 3 "$?"

# Attached from inside a namespace (nsenter, no --netns) that is deleted
# since: detach removes the program and pins (the rules went with it).
GONE=$BED_ID-gone
netns_create "$GONE"
for i in 0 1; do
	ip -n "$GONE" link add "d$i" type veth peer name "d${i}p"
	ip -n "$GONE" link set "d${i}p" up
	ip -n "$GONE" addr add "10.9$i.0.2/24" dev "d$i"
	ip -n "$GONE" link set "d$i" up
done
check "attach from inside a namespace of its own" nsenter --net="/run/netns/$GONE" \
	"$MLB" attach --cgroup "$CG" --uplink d0,gateway=10.90.0.1 --uplink d1,gateway=10.91.0.1
ip netns del "$GONE"
check "detach once that namespace is gone" "$MLB" detach --cgroup "$CG"
check "no pin directory left for the cgroup" test ! -e "/sys/fs/bpf/mlb/$CGID"
check_eq "no program left on the cgroup" 0 \
	"$(bpftool cgroup show "$CG" -j | jq -s 'map(length) | add // 0')"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
