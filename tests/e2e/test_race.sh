#!/bin/bash
# test_race.sh - commands running at the same time: two attaches of one
# cgroup end in one working attachment; an attach racing a detach ends
# in one whole state or the other; a watch failover racing an `apply`
# that changes weights keeps both changes.  And `status` exits 4 and
# names the problem when what it shows is inconsistent: a record whose
# link pin was removed, what a killed attach left.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create 3
bed_counters_start
# up2's gateway counts too
in_inet nft add counter inet mlbtest gw2_syn
in_inet nft add rule inet mlbtest input iifname gw2 'tcp flags & (syn | ack) == syn' counter name gw2_syn
SRV=$(bed_server_start "$WORK/srv")
bed_snapshot > "$WORK/before"
CGID=$(stat -c %i "$CG")

# connections N: N new connections from the cgroup; prints "UP0 UP1 UP2".
connections() {
	bed_counters_reset
	in_cgroup "$CRR" client --connect "$SERVER:5000" --count "$1" > /dev/null
	echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn) $(bed_counter gw2_syn)"
}
programs() { bpftool cgroup show "$CG" -j | jq 'length'; }
ATTACH=("$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1)

"${ATTACH[@]}"
ip -n "$CLI" rule show > "$WORK/rules"
"$MLB" detach --cgroup "$CG"

# -- two attaches of one cgroup at once
for i in 1 2 3; do
	"${ATTACH[@]}" 2> "$WORK/err1" & p1=$!
	"${ATTACH[@]}" 2> "$WORK/err2" & p2=$!
	wait "$p1"; r1=$?
	wait "$p2"; r2=$?
	check_eq "race $i: both attaches succeed" "0 0" "$r1 $r2"
	check_eq "race $i: status exits 0" 0 \
		"$("$MLB" status --cgroup "$CG" > /dev/null 2>&1; echo $?)"
	check_eq "race $i: one program on the cgroup" 1 "$(programs)"
	check_eq "race $i: the rules are there once" "$(cat "$WORK/rules")" \
		"$(ip -n "$CLI" rule show)"
	check_eq "race $i: new connections split 1:1 at the gateways" "20 20 0" \
		"$(connections 40)"
	"$MLB" detach --cgroup "$CG" > /dev/null
	bed_snapshot > "$WORK/after"
	check_same "race $i: detach leaves nothing" "$WORK/before" "$WORK/after"
done

# -- attach and detach at once: one whole state or the other
"${ATTACH[@]}"
for i in 1 2 3; do
	"${ATTACH[@]}" 2> /dev/null & p1=$!
	"$MLB" detach --cgroup "$CG" 2> /dev/null & p2=$!
	wait "$p1"; r1=$?
	wait "$p2"; r2=$?
	if "$MLB" status --cgroup "$CG" > /dev/null 2>&1; then
		check_eq "attach/detach race $i: attached, one program, attach succeeded" \
			"1 0" "$(programs) $r1"
		check_eq "attach/detach race $i: and it balances" "20 20 0" "$(connections 40)"
	else
		bed_snapshot > "$WORK/after"
		check_same "attach/detach race $i: detached, nothing left" "$WORK/before" "$WORK/after"
		check_eq "attach/detach race $i: and detach succeeded" 0 "$r2"
	fi
	"${ATTACH[@]}"
done
"$MLB" detach --cgroup "$CG"

# -- a failover racing an apply that changes weights
CONF=$WORK/mlb-bpf.conf
write_conf() {
	cat > "$CONF" <<EOF
[global]
netns = $CLI
[uplink up0]
probe = $SERVER
interval = 0.2
timeout = 0.2
down = 2
up = 2
[uplink up1]
probe = $SERVER
[uplink up2]
probe = $SERVER
[policy $CG]
uplinks = $1
EOF
}
write_conf "up0, up1, up2"
check "apply 1:1:1" sh -c "'$MLB' apply -c '$CONF' > /dev/null"
"$MLB" watch 2>> "$WORK/watch.log" &
WATCH=$!
for _ in $(seq 100); do
	"$MLB" status --cgroup "$CG" --json | jq -e '.attachments[0].uplinks | map(.health.state == "up") | all' > /dev/null && break
	sleep 0.1
done
check_eq "three uplinks 1:1:1" "20 20 20" "$(connections 60)"
write_conf "up0:1, up1:3, up2:1"
ip -n "$INET" link set gw0 down & p1=$!
"$MLB" apply -c "$CONF" > /dev/null & p2=$!
wait "$p1"
wait "$p2"
check_eq "apply succeeded beside the failover" 0 "$?"
for _ in $(seq 100); do
	[ "$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0].health.state')" = down ] && break
	sleep 0.1
done
sleep 0.3
check_eq "the record has the applied weights" "1 3 1" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '[.attachments[0].uplinks[].weight] | join(" ")')"
check_eq "no new connection uses the down uplink; the others are 3:1" \
	"0 30 10" "$(connections 40)"
kill "$WATCH"
wait "$WATCH" 2>/dev/null
WATCH=
ip -n "$INET" link set gw0 up
"$MLB" detach --cgroup "$CG"

# -- status on what is inconsistent
"${ATTACH[@]}"
rm "/sys/fs/bpf/mlb/$CGID/link"
"$MLB" status --cgroup "$CG" > "$WORK/status" 2> "$WORK/err"
check_eq "a record without its link: status exits 4" 4 "$?"
check "and names the cgroup and what is wrong" \
	grep -q "problem: cgroup $CG (id $CGID): a record without its program: the link pin is missing" "$WORK/status"
check "and what to run" grep -q "repair: mlb-bpf detach --cgroup $CG$" "$WORK/status"
"$MLB" status --json > "$WORK/status.json" 2> /dev/null
check_eq "status --json exits 4 too" 4 "$?"
check_eq "and lists the problem" "a record without its program: the link pin is missing" \
	"$(jq -r ".problems[] | select(.cgroup_id == $CGID) | .problem" "$WORK/status.json")"
check "detach repairs it" "$MLB" detach --cgroup "$CG"
check_eq "status --cgroup exits 3 again (nothing attached)" 3 "$("$MLB" status --cgroup "$CG" > /dev/null 2>&1; echo $?)"

# an attach killed just before it publishes its pins: a program attached
# without a record, and the journal of a dead command
seq=$(strace -qq -o /dev/stdout -e trace=rename "${ATTACH[@]}" 2>/dev/null | grep -c '^rename')
"$MLB" detach --cgroup "$CG" > /dev/null
(strace -qq -o /dev/null -e trace=rename -e inject=rename:signal=KILL:when="$seq" \
	"${ATTACH[@]}"; true) > /dev/null 2>&1
"$MLB" status --cgroup "$CG" > "$WORK/status" 2>&1
check_eq "a killed attach: status exits 4" 4 "$?"
check "and names the interrupted attach" grep -q "an interrupted attach (pid [0-9]*) left changes behind" "$WORK/status"
check "and the program without its record" grep -q "a program without its record: mlb_sock_create" "$WORK/status"
"$MLB" detach --cgroup "$CG" > "$WORK/out" 2>&1
check_eq "detach repairs it and says so" "0 1" "$? $(grep -c "removed what an interrupted attach (pid [0-9]*) of cgroup $CG left" "$WORK/out")"
bed_snapshot > "$WORK/after"
check_same "nothing left" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
