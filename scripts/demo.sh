#!/bin/bash
# demo.sh - mlb-bpf on a two-uplink namespace bed: attach, traffic, the
# split, detach.  Everything it builds is removed on exit.
set -eu
MLB=$(realpath "${1:-build/mlb-bpf}")
CRR=$(realpath "${2:-build/crr}")
cd "$(dirname "$0")/.."
. tests/lib/bed.sh

WORK=$(mktemp -d)
cleanup() {
	if [ -n "${SRV:-}" ]; then bed_server_stop "$SRV"; fi
	if [ -n "${SRV6:-}" ]; then bed_server_stop "$SRV6"; fi
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

BED_ID=mlbdemo$$
step "Test bed: client namespace $BED_ID-cli with uplinks up0 and up1"
bed_create
bed_counters_start
in_cli ip route show
SRV=$(bed_server_start "$WORK/server")
SRV6=$(bed_server_start "$WORK/server6" "" 5000 "[$SERVER6]")

step "Without mlb-bpf: 200 connections from the cgroup"
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 200 | grep -E 'transactions|failures'
echo "left by up0: $(bed_counter gw0_syn), by up1: $(bed_counter gw1_syn)"
bed_counters_reset

step "mlb-bpf attach --netns $CLI --cgroup $CG --uplink up0 --uplink up1,weight=3"
"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1,weight=3
ip -n "$CLI" rule show
ip -n "$CLI" -6 rule show

step "With mlb-bpf: 1000 connections from the cgroup (4 threads)"
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 1000 --threads 4 |
	grep -E 'transactions|failures|rate'
echo "left by up0: $(bed_counter gw0_syn), by up1: $(bed_counter gw1_syn)"
bed_counters_reset

step "With mlb-bpf: 400 IPv6 connections from the cgroup"
in_cgroup "$CRR" client --connect "[$SERVER6]:5000" --count 400 |
	grep -E 'transactions|failures'
echo "left by up0: $(bed_counter gw0_syn), by up1: $(bed_counter gw1_syn)"

step "mlb-bpf status"
"$MLB" status --cgroup "$CG"

step "mlb-bpf detach"
"$MLB" detach --cgroup "$CG"
ip -n "$CLI" rule show
bed_server_stop "$SRV"
bed_server_stop "$SRV6"
SRV= SRV6=
step "Source addresses the servers saw"
cat "$WORK/server" "$WORK/server6"
echo
echo "demo done; cleaning up"
