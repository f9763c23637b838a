#!/bin/bash
# measure_tc_run.sh - what the tc programs (mlb_tc_lan, mlb_tc_container)
# cost on a packet of a flow they already know (the parse, then the flow
# map's hit: most of a flow's packets), for two builds' BPF objects in
# interleaved rounds, with BPF_PROG_TEST_RUN: no bed, no traffic, so far
# less noise than measure_lan.sh and measure_containers.sh, whose figures
# include the flows' first packets and the kernel's own work around them.
#
#   make && git worktree add --detach /tmp/old OLDCOMMIT &&
#        make -C /tmp/old build/mlb.bpf.o
#   OBJ=build/mlb.bpf.o OTHER=/tmp/old/build/mlb.bpf.o \
#        bash scripts/measure_tc_run.sh [ROUNDS]
#
# Each build's object is loaded in a private mount and network namespace
# (a bpffs of its own: its pins vanish with it), the flow maps given the
# test packets' flows (mark 0: left alone), and each program run REPEAT
# times on a TCP ACK over IPv4 and over IPv6 (the kernel's average
# duration).  Needs root; prints a line per round and build, then the
# medians.
set -u
cd "$(dirname "$0")/.." || exit 1
ROUNDS=${1:-5}
REPEAT=${REPEAT:-2000000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The packets, and the flow keys as the programs build them: the LAN
# program's struct lan_key (the tuple as the packet has it, l4proto) and
# the container program's struct mlb_flow_key (addresses as IPv6, IPv4
# mapped), both little-endian hosts' bytes.
python3 - "$WORK" <<'PY' || exit 1
import struct, sys, ipaddress
work = sys.argv[1]
flows = {4: ('10.77.0.2', '10.99.0.1'), 6: ('fd77::2', 'fd99::1')}
sport, dport = 40000, 5000
tcp = struct.pack('!HHIIBBHHH', sport, dport, 1, 1, 0x50, 0x10, 1000, 0, 0)
ports = struct.pack('!HH', sport, dport)
for fam, (src, dst) in flows.items():
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if fam == 4:
        l3 = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + 10, 1,
                         0x4000, 64, 6, 0, s.packed, d.packed)
        ethertype = b'\x08\x00'
        lan = s.packed + d.packed + ports + bytes(24)
        mapped = lambda a: bytes(10) + b'\xff\xff' + a.packed
    else:
        l3 = struct.pack('!IHBB16s16s', 6 << 28, len(tcp) + 10, 6, 64,
                         s.packed, d.packed)
        ethertype = b'\x86\xdd'
        lan = s.packed + d.packed + ports
        mapped = lambda a: a.packed
    frame = b'\x02' * 6 + b'\x04' * 6 + ethertype + l3 + tcp + b'x' * 10
    open(f'{work}/pkt{fam}', 'wb').write(frame)
    keys = {'lan': lan + struct.pack('<I', 6),
            'container': mapped(s) + mapped(d) + ports + struct.pack('<I', 6)}
    for name, key in keys.items():
        open(f'{work}/{name}{fam}', 'w').write(' '.join('%02x' % b for b in key))
PY

# run OBJ: "LAN4 LAN6 CONTAINER4 CONTAINER6", ns per run
run() {
	mkdir "$WORK/bpffs"
	unshare -m -n --propagation private bash -s "$1" "$WORK" "$REPEAT" <<'IN'
set -eu
OBJ=$1 WORK=$2 REPEAT=$3
mount -t bpf bpf "$WORK/bpffs"
bpftool prog loadall "$OBJ" "$WORK/bpffs/p" > /dev/null 2>&1
# map NAME: the id of the loaded object's map so named
map() {
	local p i
	for p in mlb_tc_lan mlb_tc_container; do
		for i in $(bpftool prog show pinned "$WORK/bpffs/p/$p" -j | jq '.map_ids[]'); do
			[ "$(bpftool map show id "$i" -j | jq -r .name)" = "$1" ] &&
				{ echo "$i"; return; }
		done
	done
}
for fam in 4 6; do
	bpftool map update id "$(map lan_marks)" key hex $(cat "$WORK/lan$fam") value hex 00 00 00 00
	bpftool map update id "$(map flows)" key hex $(cat "$WORK/container$fam") value hex 00 00 00 00
done
# veths[0]: a test run's packet has no ingress interface
bpftool map update id "$(map veths)" key hex 00 00 00 00 value hex $(printf '00 %.0s' $(seq 24))
for p in mlb_tc_lan mlb_tc_container; do
	for fam in 4 6; do
		bpftool prog run pinned "$WORK/bpffs/p/$p" data_in "$WORK/pkt$fam" \
			repeat "$REPEAT" 2>&1 | awk '/duration/ { sub("ns", "", $NF); printf "%s ", $NF }'
	done
done
echo
IN
	rmdir "$WORK/bpffs"
}

echo "build  ns per run: lan IPv4 IPv6 | container IPv4 IPv6"
for ((r = 0; r < ROUNDS; r++)); do
	for b in this other; do
		((r % 2)) && b=$([ "$b" = this ] && echo other || echo this)
		obj=$OBJ
		[ "$b" = other ] && obj=$OTHER
		line=$(run "$obj") || exit 1
		echo "$b $line" | tee -a "$WORK/all"
	done
done
echo "medians"
for b in this other; do
	awk -v b="$b" '$1 == b { for (i = 2; i <= 5; i++) v[i, ++n[i]] = $i }
		END { printf "%-6s", b
		      for (i = 2; i <= 5; i++) {
			m = n[i]; for (j = 1; j <= m; j++) a[j] = v[i, j]
			for (j = 1; j <= m; j++) for (k = j + 1; k <= m; k++)
				if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
			printf " %s", m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		      }
		      print "" }' "$WORK/all"
done
