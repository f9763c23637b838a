#!/bin/bash
# test_features.sh - a kernel that lacks something: `mlb-bpf features`
# (text and --json) says what this one has; then, with features hidden in
# the test build ($MLB_ASAN honours MLB_TEST_HIDE_FEATURES, the shipped
# binary does not), each option that needs a missing one is refused in one
# line that names it, with nothing left behind (pins, rules, tables, nft
# table, tc filters), while what does not need it keeps working:
#  - the conntrack kfuncs hidden: --lan refused, host balancing splits;
#  - socket storage hidden: --record-sockets refused, attach works
#    without the sk_uplink map;
#  - bpf_setsockopt in connect/sendmsg hidden: --bypass and --sticky
#    refused, attach works without the destination programs;
#  - tcx hidden: the LAN and container programs go on clsact, LAN flows
#    split; MLB_TC_MODE=tcx refused;
#  - cgroup links hidden: every attach refused.
. "$(dirname "$0")/../lib/e2e.sh"
LANNS=
cleanup() {
	[ -n "${SRV:-}" ] && bed_server_stop "$SRV"
	[ -n "${SRV_LAN:-}" ] && bed_server_stop "$SRV_LAN"
	bed_destroy
	[ -n "$LANNS" ] && ip netns del "$LANNS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

KEYS="btf cgroup_sock_create cgroup_link lru_hash lpm_trie tc_sk_lookup
cgroup_connect cgroup_sendmsg sk_storage ct_kfuncs tcx"

# hide KEYS CMD...: the test build with those features hidden.
hide() {
	local keys=$1
	shift
	env MLB_TEST_HIDE_FEATURES="$keys" "$MLB_ASAN" "$@"
}

# -- mlb-bpf features
"$MLB" features > "$WORK/text"
check_eq "features exits 0" 0 $?
"$MLB" features --json > "$WORK/json"
check_eq "features --json exits 0" 0 $?
check_eq "features names the running kernel" "kernel $(uname -r)" \
	"$(head -1 "$WORK/text")"
check_eq "features --json names the running kernel" "$(uname -r)" \
	"$(jq -r .kernel.release "$WORK/json")"
check_eq "features --json lists every feature" "$(echo $KEYS)" \
	"$(jq -r '[.features[].key] | join(" ")' "$WORK/json")"
check_eq "every feature has its first Linux release" 0 \
	"$(jq '[.features[] | select(.since | test("^[0-9]+\\.[0-9]+$") | not)] | length' "$WORK/json")"
check_eq "every feature says what needs it" 0 \
	"$(jq '[.features[] | select(.needed_by == "")] | length' "$WORK/json")"
check_eq "this kernel has every feature each attachment needs" 0 \
	"$(jq '[.features[] | select(.required and (.present | not))] | length' "$WORK/json")"
check_eq "a present feature lacks nothing, an absent one says what" 0 \
	"$(jq '[.features[] | select(.present == (.lacks != null))] | length' "$WORK/json")"
text_rows=$(awk 'NR > 2 { print $1, $2 }' "$WORK/text")
json_rows=$(jq -r '.features[] | "\(.key) \(.state)"' "$WORK/json")
check_eq "text and --json agree" "$json_rows" "$text_rows"
check_eq "text: the since column" \
	"$(jq -r '.features[] | .since' "$WORK/json")" \
	"$(awk 'NR > 2 { print $3 }' "$WORK/text")"

hide tcx,ct_kfuncs features --json > "$WORK/hidden.json"
check_eq "test build: hidden features are absent" "false false" \
	"$(jq -r '[.features[] | select(.key == "tcx" or .key == "ct_kfuncs") | .present] | join(" ")' "$WORK/hidden.json")"
check_eq "test build: a hidden feature says what it lacks" "bpf_skb_ct_lookup" \
	"$(jq -r '.features[] | select(.key == "ct_kfuncs") | .lacks' "$WORK/hidden.json")"
hide tcx,ct_kfuncs features > "$WORK/hidden.txt"
check "test build, text: ct_kfuncs no, and why" grep -qE \
	'^ct_kfuncs +no +5\.18 +--lan; lacks bpf_skb_ct_lookup' "$WORK/hidden.txt"
env MLB_TEST_HIDE_FEATURES=tcx,ct_kfuncs "$MLB" features --json > "$WORK/shipped.json"
check_eq "the shipped binary ignores MLB_TEST_HIDE_FEATURES" \
	"$(jq -c '[.features[].present]' "$WORK/json")" \
	"$(jq -c '[.features[].present]' "$WORK/shipped.json")"
check "features --help" sh -c "'$MLB' features --help | grep -q -- --json"
"$MLB" features extra > /dev/null 2> "$WORK/err"
check_eq "features with an argument: exit 2" 2 $?
check_eq "features with an argument: one line" \
	'mlb-bpf: features: unexpected argument "extra"' "$(cat "$WORK/err")"
setpriv --reuid=65534 --regid=65534 --clear-groups "$MLB" features \
	> /dev/null 2> "$WORK/err"
check_eq "features without privileges: exit 1" 1 $?
check "features without privileges: one line" \
	grep -qx 'mlb-bpf: permission denied: mlb-bpf needs root .*' "$WORK/err"

# -- the bed: two uplinks, and a LAN client behind lan0 for --lan
bed_create 2
CGID=$(stat -c %i "$CG")
LANNS=$BED_ID-lan
in_lan() { in_ns "$LANNS" "$@"; }
lan_client_create "$CLI" "$LANNS"
in_cli sysctl -qw net.ipv4.ip_forward=1
bed_counters_start
SRV=$(bed_server_start "$WORK/tcp")
# The LAN client's flows go to a port of their own: one masqueraded onto
# the ports of an earlier host connection to :5000 would meet the
# server's TIME_WAIT and send its SYN twice.
SRV_LAN=$(bed_server_start "$WORK/lan" "" 5003)
# The first attach mounts bpffs if needed: before the snapshots.
"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 >/dev/null
"$MLB" detach --cgroup "$CG"

# How many tcx programs lan0's ingress has (BPF_PROG_QUERY; bpftool
# before 7.3 does not show tcx), "none" on a kernel without tcx.
cat > "$WORK/tcx_count.py" <<'PY'
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint8 * 128)()
ctypes.c_uint32.from_buffer(attr, 0).value = socket.if_nametoindex(sys.argv[1])
ctypes.c_uint32.from_buffer(attr, 4).value = 46          # BPF_TCX_INGRESS
if libc.syscall(321, 16, attr, 128) != 0:                # bpf(BPF_PROG_QUERY)
    print("none")
else:
    print(ctypes.c_uint32.from_buffer(attr, 24).value)
PY
# Everything an attach could leave: the bed's rules, routes, nftables,
# cgroup programs and pins (bed_snapshot), the staging pins, lan0's
# qdiscs, filters and tcx programs.
snapshot() {
	bed_snapshot
	ls -d "/sys/fs/bpf/mlb/new-$CGID" 2>/dev/null
	echo "tc on lan0:"
	in_cli tc qdisc show dev lan0
	in_cli tc filter show dev lan0 ingress
	echo "tcx on lan0: $(in_cli python3 "$WORK/tcx_count.py" lan0)"
}
snapshot > "$WORK/before"

# refused [-CODE] PATTERN WHAT -- CMD...: CMD exits 1 (or CODE), says
# one line matching PATTERN (an extended regular expression, the whole
# line) and nothing on stdout, and changes nothing.
refused() {
	local code=1
	case $1 in -[0-9]) code=${1#-}; shift ;; esac
	check_refused snapshot "$code" line "$@"
}

A=(attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1)
V='\(([0-9]+\.){2}[0-9]+\)'	# "(6.1.0)": this kernel's version

# split WHAT: 40 connections from the cgroup succeed and split 20/20 at
# the gateways.
split() {
	bed_counters_reset
	check_eq "$1: 40 connections from the cgroup succeed" "failures 0" \
		"$(in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 \
			--timeout 3 | grep -x 'failures [0-9]*')"
	check_eq "$1: they split 20/20 at the gateways" "20 20" \
		"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
}

# detached WHAT: detach, and everything is as before.
detached() {
	check "$1: detach succeeds" "$MLB" detach --cgroup "$CG"
	snapshot > "$WORK/after"
	check_same "$1: detach leaves nothing" "$WORK/before" "$WORK/after"
}

# -- the conntrack kfuncs hidden: --lan refused, host balancing works
refused "mlb-bpf: --lan needs the conntrack kfuncs \(Linux 5\.18\+\): this kernel $V lacks bpf_skb_ct_lookup" \
	"ct_kfuncs hidden: attach --lan" -- hide ct_kfuncs "${A[@]}" --lan lan0
check "ct_kfuncs hidden: no pins of the cgroup" \
	test ! -e "/sys/fs/bpf/mlb/$CGID" -a ! -e "/sys/fs/bpf/mlb/new-$CGID"
check_eq "ct_kfuncs hidden: no nft table in the namespace" "" \
	"$(in_cli nft list tables | grep mlb_bpf)"
check_eq "ct_kfuncs hidden: no tc filter on lan0" "" \
	"$(in_cli tc filter show dev lan0 ingress)"
# apply checks a file's policies the same way before changing anything
# (skipped when another bed's attachment of another version is pinned).
printf '[global]\nnetns = %s\n[uplink up0]\n[uplink up1]\n[policy %s]\nlan = lan0\n' \
	"$CLI" "$CG" > "$WORK/lan.conf"
if "$MLB" status 2>&1 | grep -q "another version"; then
	echo "ok - apply --check with lan = # SKIP an attachment of another mlb-bpf version is pinned"
else
	# exit 2: apply counts what stops a file's policies as the file's
	refused -2 "mlb-bpf: $WORK/lan.conf:[0-9]+: \[policy $CG\]: --lan needs the conntrack kfuncs \(Linux 5\.18\+\): this kernel $V lacks bpf_skb_ct_lookup" \
		"ct_kfuncs hidden: apply --check of a policy with lan =" -- \
		hide ct_kfuncs apply --check -c "$WORK/lan.conf"
fi
check "ct_kfuncs hidden: attach without --lan succeeds" \
	hide ct_kfuncs "${A[@]}"
split "ct_kfuncs hidden"
detached "ct_kfuncs hidden"

# -- socket storage hidden: --record-sockets refused, attach works
refused "mlb-bpf: --record-sockets needs socket storage in cgroup/sock_create \(Linux 5\.9\+\): this kernel $V lacks bpf_sk_storage_get in cgroup/sock_create" \
	"sk_storage hidden: attach --record-sockets" -- \
	hide sk_storage "${A[@]}" --record-sockets
check "sk_storage hidden: attach succeeds" hide sk_storage "${A[@]}"
check "sk_storage hidden: no sk_uplink map pinned" \
	test ! -e "/sys/fs/bpf/mlb/$CGID/sk_uplink" -a -e "/sys/fs/bpf/mlb/$CGID/link"
split "sk_storage hidden"
check_eq "sk_storage hidden: status counts the 40 sockets" 40 \
	"$("$MLB" status --cgroup "$CG" --json | jq '.attachments[0].sockets')"
detached "sk_storage hidden"

# -- bpf_setsockopt in connect/sendmsg hidden: destination rules refused
refused "mlb-bpf: --bypass needs bpf_setsockopt in cgroup/connect4 and connect6 \(Linux 5\.8\+\): this kernel $V lacks bpf_setsockopt in cgroup/connect4" \
	"cgroup_connect hidden: attach --bypass" -- \
	hide cgroup_connect "${A[@]}" --bypass "$SERVER/32"
refused "mlb-bpf: --sticky needs bpf_setsockopt in cgroup/sendmsg4 and sendmsg6 \(Linux 5\.12\+\): this kernel $V lacks bpf_setsockopt in cgroup/sendmsg4" \
	"cgroup_sendmsg hidden: attach --sticky" -- \
	hide cgroup_sendmsg "${A[@]}" --sticky 60
check "cgroup_connect, cgroup_sendmsg hidden: attach succeeds" \
	hide cgroup_connect,cgroup_sendmsg "${A[@]}"
check "cgroup_connect, cgroup_sendmsg hidden: no destination programs pinned" \
	test ! -e "/sys/fs/bpf/mlb/$CGID/prog_connect4" -a \
	! -e "/sys/fs/bpf/mlb/$CGID/prog_sendmsg6" -a -e "/sys/fs/bpf/mlb/$CGID/link"
split "cgroup_connect, cgroup_sendmsg hidden"
detached "cgroup_connect, cgroup_sendmsg hidden"

# -- tcx hidden: clsact for the container and LAN programs
refused "mlb-bpf: MLB_TC_MODE=tcx needs tcx links \(Linux 6\.6\+\): this kernel $V lacks BPF_TCX_INGRESS" \
	"tcx hidden: MLB_TC_MODE=tcx" -- \
	env MLB_TC_MODE=tcx MLB_TEST_HIDE_FEATURES=tcx "$MLB_ASAN" "${A[@]}"
check "tcx hidden: attach succeeds" hide tcx "${A[@]}"
check_eq "tcx hidden: the container program is on clsact" clsact \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].tc_mode')"
check "tcx hidden: a cls_bpf filter is on lan0 (a container veth here)" \
	sh -c "nsenter --net=/run/netns/$CLI tc filter show dev lan0 ingress | grep -q bpf"
detached "tcx hidden, containers"
check "tcx hidden: attach --lan succeeds" hide tcx "${A[@]}" --lan lan0
check_eq "tcx hidden: the LAN program is on clsact" clsact \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].lan.tc_mode')"
check "tcx hidden: a cls_bpf filter is on lan0's ingress" \
	sh -c "nsenter --net=/run/netns/$CLI tc filter show dev lan0 ingress | grep -q bpf"
check_eq "tcx hidden: no tcx program on lan0" 0 \
	"$(in_cli python3 "$WORK/tcx_count.py" lan0 | sed s/none/0/)"
bed_counters_reset
check_eq "tcx hidden: 40 connections from the LAN client succeed" "failures 0" \
	"$(in_lan "$CRR" client --connect "$SERVER:5003" --count 40 \
		--timeout 3 | grep -x 'failures [0-9]*')"
check_eq "tcx hidden: LAN flows split 20/20 at the gateways" "20 20" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
detached "tcx hidden, --lan"

# -- a feature every attachment needs hidden: attach refused
refused "mlb-bpf: every attachment needs BPF links for cgroups \(Linux 5\.7\+\): this kernel $V lacks BPF_LINK_CREATE for cgroups" \
	"cgroup_link hidden: attach" -- hide cgroup_link "${A[@]}"

check "the machine's namespace kept its rules, routes and nftables" bed_host_untouched
