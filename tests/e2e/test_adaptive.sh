#!/bin/bash
# test_adaptive.sh - --balance adaptive behind three uplinks shaped to
# 40/8/2 Mbit/s (tbf on the gateways' side) whose gateways drop other
# sources, with downloads from the attached cgroup: watch measures the
# uplinks in the shaped order and moves the weights the same way (order,
# not numbers); no live uplink is starved (the floor); new connections
# then favour the fast uplink, counted at the gateways, and so do a LAN
# client's flows forwarded by --lan (the slot table carries the measured
# weights); an uplink taken
# down leaves the balance at once and comes back; status, status --json
# and metrics show capacity, round trip, weight and why; apply switches
# rr, adaptive and least-conn in place with the same link, and sets the
# floor and adapt=no; bad values are refused in one line.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	[ -n "${WATCH:-}" ] && kill "$WATCH" 2>/dev/null
	[ -n "${HTTP:-}" ] && kill "$HTTP" 2>/dev/null
	bed_destroy
	[ -z "${LANNS:-}" ] || netns_destroy "$LANNS"
	rm -rf "$WORK"
}
trap cleanup EXIT

PORT=8080
bed_create 3
LANNS=$BED_ID-lan
lan_client_create "$CLI" "$LANNS"
in_cli sysctl -qw net.ipv4.ip_forward=1
bed_strict_gateways 3
bed_flow_counters mlbad 3
RATES=(40 8 2)
for i in 0 1 2; do
	in_inet tc qdisc add dev "gw$i" root tbf rate "${RATES[i]}mbit" \
		burst $((RATES[i] * 500 > 3028 ? RATES[i] * 500 : 3028)) latency 200ms
done
: > "$WORK/delays"
nsenter --net="/run/netns/$INET" python3 bench/capacity_server.py "$SERVER" \
	"$PORT" "$WORK/delays" > "$WORK/http.ready" 2>"$WORK/http.err" &
HTTP=$!
for _ in $(seq 50); do
	grep -q ready "$WORK/http.ready" 2>/dev/null && break
	sleep 0.1
done
bed_snapshot > "$WORK/before"

json() { "$MLB" status --cgroup "$CG" --json | jq -r ".attachments[0]$1"; }
# capacity FIELD: "V0 V1 V2", the field of each uplink's capacity object.
capacity() { json "| [.uplinks[].capacity.$1 | tostring] | join(\" \")"; }
# shellcheck disable=SC2046,SC2116  # echo joins the words, trimmed
syns() { echo $(nft_counters "$INET" mlbad syn_gw0 syn_gw1 syn_gw2); }
# load SECONDS: 6 downloads of 1 MB at a time, back to back, from the
# cgroup; one line per download ("size") in $WORK/load.
load() {
	local end=$(($(date +%s) + $1)) pids=() w
	: > "$WORK/load"
	for w in 1 2 3 4 5 6; do
		in_cgroup sh -c "while [ \$(date +%s) -lt $end ]; do
			curl -s -o /dev/null --max-time 60 -w '%{size_download}\n' \
				http://$SERVER:$PORT/1000000; done" >> "$WORK/load" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
# short N: N small requests one after another from the cgroup.
short() {
	in_cgroup sh -c "for i in \$(seq $1); do
		curl -s -o /dev/null --max-time 10 http://$SERVER:$PORT/1000; done"
}
failed_downloads() { awk '$1 != 1000000 { n++ } END { print n + 0 }' "$WORK/load"; }
# ordered A B C: A > B > C
ordered() { [ "$1" -gt "$2" ] && [ "$2" -gt "$3" ]; }

# ---- watch measures the uplinks and moves the weights ------------------------

check "attach --balance adaptive, equal starting weights, --lan lan0" \
	"$MLB" attach --netns "$CLI" --cgroup "$CG" --balance adaptive \
	--uplink up0 --uplink up1 --uplink up2 --lan lan0
check_eq "status --json says adaptive, floor 5" "adaptive 5" \
	"$(json '| "\(.balance) \(.floor_pct)"')"
check_eq "before watch: the given weights, nothing measured" "1 1 1|0 0 0" \
	"$(capacity weight)|$(capacity bps)"
start_watch
check "watch marks the uplinks up" wait_health 2 up
load 12
check "$(wc -l < "$WORK/load") downloads of 1 MB during 12 s" test -s "$WORK/load"
check_eq "no download failed" 0 "$(failed_downloads)"
read -r C0 C1 C2 <<< "$(capacity bps)"
check "measured capacity follows the shaped order 40 > 8 > 2 Mbit/s ($C0 $C1 $C2 bit/s)" \
	ordered "$C0" "$C1" "$C2"
read -r W0 W1 W2 <<< "$(capacity weight)"
check "weights in force follow the same order ($W0 $W1 $W2)" ordered "$W0" "$W1" "$W2"
check "the slowest uplink keeps at least the floor, 5 % of the largest ($W2 of $W0)" \
	test "$((W2 * 100))" -ge "$((W0 * 5))"
check_eq "why: measured, and the floor or measured for the slowest" "measured" \
	"$(json '.uplinks[0].capacity.why')"
check "watch logged the changes of weights, one line each" \
	grep -qE "cgroup $CG: weights up0 [0-9]+ \(measured, [0-9.]+ Mbit/s\), up1 " "$WORK/watch.log"
check "status text shows capacity, round trip, weight and why" sh -c \
	"'$MLB' status --cgroup '$CG' | grep -qE '^  up0 +[0-9.]+ Mbit/s +[0-9.]+ [kM]bit/s +[0-9.]+ ms +$W0 +measured'"
check "metrics: capacity of the three uplinks" sh -c \
	"[ \$('$MLB' metrics | grep -c '^mlb_uplink_capacity_bits_per_second{cgroup=\"$CG\"') -eq 3 ]"
check "metrics: weight in force with why" sh -c \
	"'$MLB' metrics | grep -qE '^mlb_uplink_weight_in_force\{cgroup=\"$CG\",uplink=\"up0\",why=\"measured\"\} $W0\$'"

# New connections now: the fast uplink gets the most.
in_inet nft reset counters table inet mlbad >/dev/null
bed_spoofed_reset
load 6
read -r S0 S1 S2 <<< "$(syns)"
check "new connections favour the fast uplink at the gateways ($S0 $S1 $S2)" \
	sh -c "[ $S0 -gt $S1 ] && [ $S0 -gt $S2 ]"
check_eq "no download failed" 0 "$(failed_downloads)"
in_inet nft reset counters table inet mlbad >/dev/null
in_ns "$LANNS" sh -c "for i in \$(seq 30); do
	curl -s -o /dev/null --max-time 10 http://$SERVER:$PORT/1000; done"
read -r L0 L1 L2 <<< "$(syns)"
check "the LAN client's 30 flows follow the measured weights ($L0 $L1 $L2)" \
	sh -c "[ $L0 -gt $L1 ] && [ $L1 -ge $L2 ] && [ $((L0 + L1 + L2)) -eq 30 ]"
check_eq "status --json counts them as LAN flows" 30 \
	"$(json '| [.uplinks[].lan_flows] | add')"
check_eq "no packet left with another uplink's source" "0 0 0 " "$(bed_spoofed 3)"

# ---- failover keeps working ---------------------------------------------------

in_inet ip link set gw0 down
check "up0's carrier lost: watch takes it down" wait_health 0 down
check_eq "its weight in force is 0, because it is down" "0 down" \
	"$(json '.uplinks[0].capacity | "\(.weight) \(.why)"')"
in_inet nft reset counters table inet mlbad >/dev/null
short 30
check_eq "30 new connections: none by up0" 0 "$(syns | cut -d' ' -f1)"
in_inet ip link set gw0 up
check "up0 back: watch brings it up" wait_health 0 up
sleep 1.5	# the next sample weighs it again
check "its weight in force is back above 0" test "$(json '.uplinks[0].capacity.weight')" -gt 0
stop_watch
check "detach" "$MLB" detach --cgroup "$CG"

# ---- apply: modes in place, the floor, adapt=no -------------------------------

CONF=$WORK/mlb-bpf.conf
# write_conf BALANCE [POLICY LINES] [UP1 LINES]
write_conf() {
	cat > "$CONF" <<EOF
[global]
netns = $CLI
[uplink up0]
[uplink up1]
${3:-}
[uplink up2]
[policy $CG]
balance = $1
${2:-}
EOF
}
link_id() { json .link_id; }
if "$MLB" status 2>&1 | grep -q "another version"; then
	echo "ok - apply switches modes in place # SKIP an attachment of another mlb-bpf version is pinned"
else
	write_conf rr
	check "apply attaches with balance = rr" sh -c "'$MLB' apply -c '$CONF' >/dev/null"
	LINK=$(link_id)
	write_conf adaptive "floor = 30" "weight = 100
adapt = no"
	check "apply balance = adaptive, floor 30, up1 adapt=no weight 100: in place" sh -c \
		"'$MLB' apply -c '$CONF' | grep -q 'update $CG: .*balance'"
	check_eq "the same sock_create link" "$LINK" "$(link_id)"
	check_eq "status --json: adaptive, floor 30, up1 does not adapt" "adaptive 30 false" \
		"$(json '| "\(.balance) \(.floor_pct) \(.uplinks[1].adapt)"')"
	start_watch
	check "watch marks the uplinks up" wait_health 2 up
	load 8
	check_eq "up0 measured the fastest" "1000 measured" \
		"$(json '.uplinks[0].capacity | "\(.weight) \(.why)"')"
	check_eq "up2 (2 of 40 Mbit/s) held at the floor, 30 % of 1000" "300 floor" \
		"$(json '.uplinks[2].capacity | "\(.weight) \(.why)"')"
	check_eq "up1 keeps its given weight" "100 adapt=no" \
		"$(json '.uplinks[1].capacity | "\(.weight) \(.why)"')"
	stop_watch
	write_conf least-conn
	check "apply balance = least-conn: in place" sh -c "'$MLB' apply -c '$CONF' >/dev/null"
	check_eq "the same link" "$LINK" "$(link_id)"
	write_conf rr
	check "apply balance = rr: in place" sh -c "'$MLB' apply -c '$CONF' >/dev/null"
	check_eq "the same link again" "$LINK" "$(link_id)"
	in_inet nft reset counters table inet mlbad >/dev/null
	short 30
	check_eq "back to rr: the given weights 1:1:1, not the measured ones" "10 10 10" "$(syns)"
	check "detach" "$MLB" detach --cgroup "$CG"
fi

# ---- bad values ------------------------------------------------------------------

snap() { bed_snapshot; }
bed_snapshot > "$WORK/before.bad"
cp "$WORK/before.bad" "$WORK/before"
for f in -1 0 101 ten; do
	check_refused snap 2 line "mlb-bpf: --floor \"$f\" must be a percentage from 1 to 100" \
		"--floor $f" -- "$MLB" attach --netns "$CLI" --cgroup "$CG" \
		--balance adaptive --floor "$f" --uplink up0 --uplink up1
done
check_refused snap 2 line 'mlb-bpf: uplink "up1,adapt=maybe": adapt must be yes or no' \
	"adapt=maybe" -- "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--balance adaptive --uplink up0 --uplink up1,adapt=maybe
write_conf adaptive "floor = -5"
check_refused snap 2 line "mlb-bpf: $CONF:9: floor \"-5\" must be a percentage from 1 to 100" \
	"floor = -5 in a file" -- "$MLB" apply --check -c "$CONF"
bed_snapshot > "$WORK/after"
check_same "detach and the refusals left rules, routes, nftables, cgroup and pins as before" \
	"$WORK/before.bad" "$WORK/after"
check "the host's own namespace is untouched" bed_host_untouched
