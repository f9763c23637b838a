#!/bin/bash
# measure_metrics.sh - whether scrapes of watch's /metrics disturb its
# timing: the interval between an uplink's health probes as its gateway
# receives them, and the time from a silent loss on up0 to watch's "down"
# line, first quiet, then under a scrape storm.
#
#   make && make build/crr
#   MLB=build/mlb-bpf CRR=build/crr bash scripts/measure_metrics.sh [ROUNDS]
#
# The two-uplink bed of the tests, probes every 200 ms (timeout 200 ms,
# down after 3).  Per phase: SECONDS_PROBES of probe arrivals at gw0 and
# gw1 (kernel timestamps of the echo requests, an AF_PACKET socket in the
# internet namespace), then ROUNDS silent losses (nft drops what gw0
# receives) timed from the drop to watch's log line.  The storm is
# STORM loops of curl, each with 50 scrapes in flight at a time.  Needs
# root; prints one line per phase and measure.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/bed.sh
ROUNDS=${1:-5}
SECONDS_PROBES=${SECONDS_PROBES:-20}
STORM=${STORM:-4}
PORT=9377
WORK=$(mktemp -d)
STORM_PIDS=()
cleanup() {
	stop_storm
	[ -n "${WATCH:-}" ] && { kill "$WATCH"; wait "$WATCH"; } 2>/dev/null
	"$MLB" detach --cgroup "$CG" > /dev/null 2>&1
	bed_server_stop "${SRV:-}"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

# probe_arrivals SECONDS: "IFNAME TIME" for each echo request to the
# server that gw0 or gw1 receives, for SECONDS.
probe_arrivals() {
	nsenter --net="/run/netns/$INET" python3 - "$1" "$SERVER" <<'PY'
import socket, struct, sys, time
seconds, server = float(sys.argv[1]), socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
s.setsockopt(socket.SOL_SOCKET, 35, 1)          # SO_TIMESTAMPNS
s.settimeout(0.5)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        data, anc, _, addr = s.recvmsg(128, 64)
    except socket.timeout:
        continue
    ifname, pkttype = addr[0], addr[2]
    if ifname not in ("gw0", "gw1") or pkttype != socket.PACKET_HOST:
        continue
    ihl = (data[0] & 15) * 4
    if data[9] != 1 or data[16:20] != server or data[ihl] != 8:
        continue                                # not an echo request
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == 35:
            sec, nsec = struct.unpack("qq", value[:16])
            print(ifname, "%.6f" % (sec + nsec / 1e9), flush=True)
PY
}

# intervals FILE IFNAME: count and mean, median, 99th percentile and
# largest gap between probes, in ms.
intervals() {
	awk -v i="$2" '$1 == i { if (t) print ($2 - t) * 1000; t = $2 }' "$1" |
		sort -n | awk 'function at(q) { return v[int((NR - 1) * q) + 1] }
		{ v[NR] = $1; s += $1 }
		END { printf "%d gaps, mean %.1f, p50 %.1f, p99 %.1f, max %.1f ms",
		      NR, s / NR, at(0.5), at(0.99), v[NR] }'
}

# failovers N: N silent losses of up0, each timed from the drop to the
# "uplink up0: down" line; prints the times in ms.
failovers() {
	local r before t0 t1
	for ((r = 0; r < $1; r++)); do
		before=$(grep -c "uplink up0: down" "$WORK/watch.log")
		t0=$EPOCHREALTIME
		nsenter --net="/run/netns/$INET" nft -f - <<'NFT'
table inet mlbfault {
	chain in { type filter hook input priority -10; iifname "gw0" drop; }
}
NFT
		for _ in $(seq 1000); do
			[ "$(grep -c "uplink up0: down" "$WORK/watch.log")" -gt "$before" ] && break
			sleep 0.01
		done
		t1=$(grep "uplink up0: down" "$WORK/watch.log" | tail -1 | cut -d' ' -f1)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f ", (b - a) * 1000 }'
		nsenter --net="/run/netns/$INET" nft delete table inet mlbfault
		before=$(grep -c "uplink up0: up" "$WORK/watch.log")
		for _ in $(seq 1000); do
			[ "$(grep -c "uplink up0: up" "$WORK/watch.log")" -gt "$before" ] && break
			sleep 0.01
		done
		sleep 1
	done
	echo
}

start_storm() {
	local s
	for ((s = 0; s < STORM; s++)); do
		nsenter --net="/run/netns/$CLI" bash -c '
			args=()
			for i in $(seq 200); do args+=(-o /dev/null "$1"); done
			trap "kill \$c 2>/dev/null; exit" TERM
			while :; do
				curl -sS -Z --parallel-max 50 --max-time 30 \
					-w "%{http_code}\n" "${args[@]}" 2>/dev/null &
				c=$!
				wait $c
			done' _ "http://127.0.0.1:$PORT/metrics" > "$WORK/storm.$s" &
		STORM_PIDS+=($!)
	done
}
stop_storm() {
	local p
	for p in "${STORM_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	STORM_PIDS=()
}
scraped() { cat "$WORK"/storm.* 2>/dev/null | grep -cx 200; }

# phase NAME: probe intervals and failover times, as they are now.
phase() {
	local n0 n1
	n0=$(scraped)
	probe_arrivals "$SECONDS_PROBES" > "$WORK/probes"
	n1=$(scraped)
	echo "$1: probes up0: $(intervals "$WORK/probes" gw0)"
	echo "$1: probes up1: $(intervals "$WORK/probes" gw1)"
	[ "$n1" -gt "$n0" ] &&
		echo "$1: $(((n1 - n0) / SECONDS_PROBES)) scrapes/s answered 200"
	echo "$1: failover ms: $(failovers "$ROUNDS")"
}

bed_create
SRV=$(bed_server_start "$WORK/srv")
FAST="probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2"
"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink "up0,$FAST" \
	--uplink "up1,$FAST" || exit 1
# each line of watch's log with the time it was written
nsenter --net="/run/netns/$CLI" "$MLB" watch --cgroup "$CG" \
	--metrics-listen "127.0.0.1:$PORT" 2> >(while IFS= read -r l; do
		echo "$EPOCHREALTIME $l"; done > "$WORK/watch.log") &
WATCH=$!
for _ in $(seq 100); do
	grep -q "uplink up1: up" "$WORK/watch.log" && break
	sleep 0.1
done

phase quiet
start_storm
sleep 2
phase storm
stop_storm
