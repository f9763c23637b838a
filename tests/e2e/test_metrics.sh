#!/bin/bash
# test_metrics.sh - `mlb-bpf metrics` and `watch --metrics-listen`: the
# socket counts match the connections sent (and the gateways' own
# counters), health and failovers follow a link taken down and back,
# interface counters grow with the traffic, promtool accepts the text,
# and the HTTP side answers 404 elsewhere, refuses a bad address and a
# port in use, and serves IPv6 (bad clients: test_metrics_server.sh).
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	for p in ${WATCH:-} ${WATCH6:-}; do
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	bed_server_stop "${SRV:-}"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

PORT=9377
URL=http://127.0.0.1:$PORT

bed_create
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
bed_snapshot > "$WORK/before"

# metric NAME UPLINK FILE: the value of NAME for the bed's uplink.
metric() {
	grep "^$1{" "$3" | grep -F "uplink=\"$2\"" | awk '{ print $NF }'
}
# delta NAME UPLINK BEFORE AFTER: how much NAME grew ("absent" if missing).
delta() {
	local a b
	a=$(metric "$1" "$2" "$3")
	b=$(metric "$1" "$2" "$4")
	if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]]; then
		echo $((b - a))
	else
		echo absent
	fi
}
# valid FILE: promtool accepts it, and it is mlb-bpf's (not empty).
valid() {
	promtool check metrics < "$1" && grep -q '^mlb_build_info{' "$1"
}
# scrape FILE: GET /metrics from the watch in the client namespace.
scrape() {
	in_cli curl -sS --max-time 10 -o "$1" -w '%{http_code}' "$URL/metrics"
}
# one_line_refusal ADDR: watch refuses it with exit 2 and one line.
one_line_refusal() {
	local rc
	"$MLB" watch --cgroup "$CG" --metrics-listen "$1" 2> "$WORK/err"
	rc=$?
	[ "$rc" -eq 2 ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] &&
		grep -qF -- "--metrics-listen \"$1\" must be ADDR:PORT" "$WORK/err"
}

for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 localhost:9377 \
	::1:9377 '[::1]9377' '[127.0.0.1]:9377' 127.0.0.1:93x7 :9377; do
	check "--metrics-listen $bad is refused with one line, exit 2" \
		one_line_refusal "$bad"
done

FAST="probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2"
check "attach" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink "up0,$FAST" --uplink "up1,$FAST"
nsenter --net="/run/netns/$CLI" "$MLB" watch --cgroup "$CG" \
	--metrics-listen "127.0.0.1:$PORT" 2>> "$WORK/watch.log" &
WATCH=$!
check "watch marks up0 up" wait_health 0 up
check "watch marks up1 up" wait_health 1 up
for _ in $(seq 50); do
	grep -q "serving metrics" "$WORK/watch.log" && break
	sleep 0.1
done

"$MLB" metrics --cgroup "$CG" > "$WORK/m0"
check "promtool accepts mlb-bpf metrics" valid "$WORK/m0"
check_eq "build info carries the version" \
	"mlb_build_info{version=\"$("$MLB" --version | awk '{ print $2 }')\"} 1" \
	"$(grep '^mlb_build_info' "$WORK/m0")"
check "attachment info names program, link and attach type" grep -Eq \
	"^mlb_attachment_info\{cgroup=\"$CG\",cgroup_id=\"$(stat -c %i "$CG")\",netns=\"/run/netns/$CLI\",prog_id=\"[1-9][0-9]*\",link_id=\"[1-9][0-9]*\",attach_type=\"cgroup_inet_sock_create\"\} 1$" \
	"$WORK/m0"
check_eq "both uplinks up (metrics)" "1 1" \
	"$(metric mlb_uplink_up up0 "$WORK/m0") $(metric mlb_uplink_up up1 "$WORK/m0")"
check_eq "no failovers yet" "0 0" \
	"$(metric mlb_uplink_failovers_total up0 "$WORK/m0") $(metric mlb_uplink_failovers_total up1 "$WORK/m0")"
check "a probe round-trip time in seconds" awk \
	'/^mlb_uplink_probe_rtt_seconds\{.*uplink="up1"/ && $NF > 0 && $NF < 1 { ok = 1 } END { exit !ok }' \
	"$WORK/m0"

# -- traffic: the counts match the connections sent, exactly
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 40 > /dev/null
G0=$(bed_counter gw0_syn)
G1=$(bed_counter gw1_syn)
"$MLB" metrics --cgroup "$CG" > "$WORK/m1"
check_eq "the gateways saw 40 connections" 40 $((G0 + G1))
S0=$(delta mlb_sockets_assigned_total up0 "$WORK/m0" "$WORK/m1")
S1=$(delta mlb_sockets_assigned_total up1 "$WORK/m0" "$WORK/m1")
check_eq "sockets assigned per uplink match each gateway's connections" \
	"$G0 $G1" "$S0 $S1"
check "both uplinks carried some" test "$G0" -gt 0 -a "$G1" -gt 0
for dir in transmit receive; do
	for what in packets bytes; do
		for up in up0 up1; do
			grew=$(delta "mlb_uplink_${dir}_${what}_total" $up "$WORK/m0" "$WORK/m1")
			[ $up = up0 ] && n=$G0 || n=$G1
			# a TCP segment is at least 54 bytes on the wire
			[ $what = bytes ] && n=$((n * 54))
			check "$up $dir $what grew by at least one packet (54 bytes) per connection" \
				test "$grew" -ge "$n"
		done
	done
done

# -- the same over HTTP
check_eq "GET /metrics answers 200" 200 "$(scrape "$WORK/s1")"
check "promtool accepts the scrape" valid "$WORK/s1"
check_eq "the scrape's socket counts (two uplinks) are the command's" \
	"2 $(grep '^mlb_sockets_assigned_total{' "$WORK/m1")" \
	"$(grep -c '^mlb_sockets_assigned_total{' "$WORK/s1") $(grep '^mlb_sockets_assigned_total{' "$WORK/s1")"
check_eq "the scrape says both up" "1 1" \
	"$(metric mlb_uplink_up up0 "$WORK/s1") $(metric mlb_uplink_up up1 "$WORK/s1")"
check_eq "another path is 404" 404 "$(in_cli curl -sS --max-time 10 -o /dev/null \
	-w '%{http_code}' "$URL/other")"
# -- a link taken down: health 0 and one failover; back up: health 1
ip -n "$INET" link set gw0 down
check "carrier loss: up0 goes down" wait_health 0 down
"$MLB" metrics --cgroup "$CG" > "$WORK/m2"
check_eq "metrics: up0 down, up1 up" "0 1" \
	"$(metric mlb_uplink_up up0 "$WORK/m2") $(metric mlb_uplink_up up1 "$WORK/m2")"
check_eq "metrics: one failover of up0, none of up1" "1 0" \
	"$(metric mlb_uplink_failovers_total up0 "$WORK/m2") $(metric mlb_uplink_failovers_total up1 "$WORK/m2")"
check "the reason is a label of the health info" grep -Eq \
	'^mlb_uplink_health_info\{.*uplink="up0",state="down",reason="[^"]*carrier[^"]*"\} 1$' \
	"$WORK/m2"
check_eq "scrape while down answers 200" 200 "$(scrape "$WORK/s3")"
check_eq "the scrape agrees: up0 down, one failover" "0 1" \
	"$(metric mlb_uplink_up up0 "$WORK/s3") $(metric mlb_uplink_failovers_total up0 "$WORK/s3")"
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 20 > /dev/null
"$MLB" metrics --cgroup "$CG" > "$WORK/m3"
check_eq "while down, up1 takes all 20 (gateways)" "0 20" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
check_eq "while down, the counters agree" "0 20" \
	"$(delta mlb_sockets_assigned_total up0 "$WORK/m2" "$WORK/m3") $(delta mlb_sockets_assigned_total up1 "$WORK/m2" "$WORK/m3")"
ip -n "$INET" link set gw0 up
check "carrier back: up0 comes back" wait_health 0 up
"$MLB" metrics --cgroup "$CG" > "$WORK/m4"
check_eq "back up: health 1, failovers still 1" "1 1" \
	"$(metric mlb_uplink_up up0 "$WORK/m4") $(metric mlb_uplink_failovers_total up0 "$WORK/m4")"

# -- IPv6 listening, and --cgroup leaving other attachments out
mkdir "$CG/empty"
nsenter --net="/run/netns/$CLI" "$MLB" watch --cgroup "$CG/empty" \
	--metrics-listen "[::1]:$PORT" 2>> "$WORK/watch6.log" &
WATCH6=$!
for _ in $(seq 50); do
	grep -q "serving metrics" "$WORK/watch6.log" && break
	sleep 0.1
done
check_eq "[::1]:PORT serves /metrics" 200 "$(in_cli curl -sS --max-time 10 -g \
	-o "$WORK/s6" -w '%{http_code}' "http://[::1]:$PORT/metrics")"
check "it has the build info" grep -q '^mlb_build_info' "$WORK/s6"
check "and no attachment outside its --cgroup" sh -c \
	"grep -q '^mlb_build_info{' '$WORK/s6' && ! grep -q '^mlb_sockets_assigned_total{' '$WORK/s6'"
kill "$WATCH6"; wait "$WATCH6" 2>/dev/null; WATCH6=
rmdir "$CG/empty"

check "a second watch cannot take a port in use (one line, exit 1)" sh -c \
	"nsenter --net=/run/netns/$CLI '$MLB' watch --cgroup '$CG' --metrics-listen 127.0.0.1:$PORT 2> '$WORK/err2'; \
	 [ \$? -eq 1 ] && [ \$(wc -l < '$WORK/err2') -eq 1 ] && grep -q 'in use' '$WORK/err2'"

kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=
check_eq "every attachment readable" "mlb_attachments_unreadable 0" \
	"$(grep '^mlb_attachments_unreadable' "$WORK/m4")"
# a record whose link pin is gone is counted, not hidden, and not fatal
rm "/sys/fs/bpf/mlb/$(stat -c %i "$CG")/link"
"$MLB" metrics --cgroup "$CG" > "$WORK/m7"
check_eq "a record without its link pin: counted as unreadable" \
	"mlb_attachments_unreadable 1" "$(grep '^mlb_attachments_unreadable' "$WORK/m7")"
check "and the text stays valid" valid "$WORK/m7"
"$MLB" detach --cgroup "$CG"
"$MLB" metrics --cgroup "$CG" > "$WORK/m5"
check "after detach: valid and without the attachment" sh -c \
	"promtool check metrics < '$WORK/m5' && grep -q '^mlb_build_info{' '$WORK/m5' && ! grep -q '^mlb_sockets_assigned_total{' '$WORK/m5'"

# -- label values escaped: a cgroup named with a quote and a backslash
ODD="$CG/a\"b\\c"
mkdir "$ODD"
check "attach to a cgroup named a\"b\\c" "$MLB" attach --netns "$CLI" \
	--cgroup "$ODD" --uplink up0
"$MLB" metrics --cgroup "$ODD" > "$WORK/m6"
check "promtool accepts its metrics" valid "$WORK/m6"
check "its cgroup label is escaped" grep -qF \
	"mlb_sockets_assigned_total{cgroup=\"$CG/a\\\"b\\\\c\",uplink=\"up0\"} 0" \
	"$WORK/m6"
"$MLB" detach --cgroup "$ODD"
rmdir "$ODD"

bed_snapshot > "$WORK/after"
check_same "nothing left after detach" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
