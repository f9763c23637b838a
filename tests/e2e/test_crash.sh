#!/bin/bash
# test_crash.sh - mlb-bpf killed with SIGKILL part way through attach,
# apply, detach and a watch failover, at points spread over each run,
# and repaired by one command.  strace kills the process as it enters the
# N-th call of one of the syscalls that change something (bpf, netlink's
# sendmsg/sendto, mkdir, rename, unlink, flock), so every point is
# reached the same way each time; the points are counted from a clean run
# of the same command.  After each kill, `detach --cgroup` (for apply: the
# next apply, then detach) must leave exactly what was there before
# (bed_snapshot, no journal, no staging pins), and the cgroup must attach
# again and balance.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	if [ -n "${WATCH:-}" ]; then kill -CONT "$WATCH" 2>/dev/null; kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; fi
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

SET=bpf,sendmsg,sendto,mkdir,rename,unlink,rmdir,flock
POINTS=${CRASH_POINTS:-20}
# The repairing commands run in the ASan build.
REPAIR=${MLB_ASAN:-$MLB}

bed_create
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
A=$CG/a
B=$CG/b
mkdir "$A" "$B"
bed_snapshot > "$WORK/before"
CGID=$(stat -c %i "$CG")
AID=$(stat -c %i "$A")
BID=$(stat -c %i "$B")

# sequence NAME CMD...: run CMD under strace; its calls of $SET, in
# order, go to $WORK/NAME.seq, one name a line.
sequence() {
	local name=$1
	shift
	strace -qq -o "$WORK/$name.trace" -e trace="$SET" "$@" > /dev/null 2>&1
	awk -F'(' '/^[a-z_0-9]+\(/ { print $1 }' "$WORK/$name.trace" > "$WORK/$name.seq"
}
# points NAME: the points to kill at, spread over the whole sequence.
points() {
	local total i
	total=$(wc -l < "$WORK/$1.seq")
	for ((i = 0; i < POINTS; i++)); do
		echo $((1 + i * (total - 1) / (POINTS - 1)))
	done | uniq
}
# inject NAME K: strace's injection for the K-th call of NAME's sequence
# (the n-th call of that syscall); POINT says which, for messages.
inject() {
	local s n
	s=$(sed -n "$2p" "$WORK/$1.seq")
	n=$(head -n "$2" "$WORK/$1.seq" | grep -cx "$s")
	POINT="step $2 of $(wc -l < "$WORK/$1.seq") ($s #$n)"
	INJECT="$s:signal=KILL:when=$n"
}
# kill_at NAME K CMD...: run CMD, killed at the K-th call.
kill_at() {
	local name=$1 k=$2
	shift 2
	inject "$name" "$k"
	(strace -qq -o /dev/null -e trace="$SET" -e inject="$INJECT" "$@"
	 true) > /dev/null 2>&1
}
# The first rename is the journal's: a kill before it changed nothing.
journal_step() {
	grep -nx rename "$WORK/$1.seq" | head -1 | cut -d: -f1
}
# clean: the bed is as it was before anything was attached, and no
# journal or staging pins are left; prints what differs.
clean() {
	local id
	bed_snapshot > "$WORK/after"
	diff -u "$WORK/before" "$WORK/after" | head -20
	for id in $CGID $AID $BID; do
		[ ! -e "/run/mlb-bpf/pending/$id" ] || echo "journal $id left"
		[ ! -e "/sys/fs/bpf/mlb/new-$id" ] || echo "staging pins new-$id left"
	done
}
# recovered_elsewhere RC PROBLEMS: whether a detach found nothing (RC 3)
# and nothing is left: recovery is for every mlb-bpf command on the
# machine, so another bed's (a suite run beside this one) may have
# finished what the killed command left before our detach ran.
recovered_elsewhere() {
	[ "$1" = 3 ] && [ -z "$2" ] || return 1
	echo "# killed at $POINT: another mlb-bpf command recovered its journal first"
}
# verdict WHAT PROBLEMS: one check, with the problems as its detail.
verdict() {
	if [ -z "$2" ]; then
		tap_ok "$1"
	else
		tap_fail "$1"
		echo "$2" | sed 's/^/#   /' | head -20
	fi
}
# balances CGROUP: 40 new connections leave 20 by each uplink.
balances() {
	local got
	bed_counters_reset
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$1" \
		nsenter --net="/run/netns/$CLI" "$CRR" client --connect "$SERVER:5000" \
		--count 40 > /dev/null
	got="$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
	check_eq "$2" "20 20" "$got"
}

# -- attach
ATTACH=("$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up1 \
	--masquerade)
sequence attach "${ATTACH[@]}"
"$MLB" detach --cgroup "$CG" > /dev/null 2>&1
JOURNAL=$(journal_step attach)
for k in $(points attach); do
	kill_at attach "$k" "${ATTACH[@]}"
	out=$("$REPAIR" detach --cgroup "$CG" 2>&1)
	rc=$?
	problems=$(clean)
	if [ "$k" -gt "$JOURNAL" ] && recovered_elsewhere "$rc" "$problems"; then
		:
	elif [ "$k" -gt "$JOURNAL" ]; then
		[ "$rc" = 0 ] || problems+=$'\n'"detach exited $rc: $out"
		echo "$out" | grep -q "interrupted attach .* of cgroup $CG left" ||
			problems+=$'\n'"detach did not say what it removed: $out"
	elif [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
		problems+=$'\n'"detach exited $rc: $out"
	fi
	verdict "attach killed at $POINT: detach --cgroup leaves nothing" "$problems"
done
check "attach after the killed ones" "${ATTACH[@]}"
balances "$CG" "and it balances 1:1"
"$MLB" detach --cgroup "$CG" > /dev/null

# -- apply: two policies attached from nothing
CONF=$WORK/mlb-bpf.conf
cat > "$CONF" <<EOF
[global]
netns = $CLI
[uplink up0]
[uplink up1]
[policy $A]
[policy $B]
uplinks = up0:3, up1
EOF
APPLY=("$MLB" apply -c "$CONF")
sequence apply "${APPLY[@]}"
"$MLB" detach --cgroup "$A" > /dev/null 2>&1
"$MLB" detach --cgroup "$B" > /dev/null 2>&1
for k in $(points apply); do
	kill_at apply "$k" "${APPLY[@]}"
	problems=
	out=$("$REPAIR" apply -c "$CONF" 2>&1) || problems+="apply exited $?: $out"$'\n'
	for c in "$A" "$B"; do
		"$MLB" status --cgroup "$c" > /dev/null 2>&1 ||
			problems+="status --cgroup $c exited $?"$'\n'
		out=$("$REPAIR" detach --cgroup "$c" 2>&1) ||
			problems+="detach $c exited $?: $out"$'\n'
	done
	problems+=$(clean)
	verdict "apply killed at $POINT: the next apply, then detach, leave nothing" \
		"$(echo "$problems" | sed '/^$/d')"
done
check "apply after the killed ones" sh -c "\"\$0\" \"\$@\" > /dev/null" "${APPLY[@]}"
balances "$A" "and policy a balances 1:1"
"$MLB" detach --cgroup "$A" > /dev/null
"$MLB" detach --cgroup "$B" > /dev/null

# -- detach
DETACH=("$MLB" detach --cgroup "$CG")
"${ATTACH[@]}"
sequence detach "${DETACH[@]}"
# Its last unlink drops the journal: killed after it, detach was done.
DONE=$(grep -nx unlink "$WORK/detach.seq" | tail -1 | cut -d: -f1)
for k in $(points detach); do
	"${ATTACH[@]}" || echo "# attach failed before the point"
	kill_at detach "$k" "${DETACH[@]}"
	out=$("$REPAIR" detach --cgroup "$CG" 2>&1)
	rc=$?
	problems=$(clean)
	[ "$rc" = 0 ] || { [ "$rc" = 3 ] && [ "$k" -gt "$DONE" ]; } ||
		recovered_elsewhere "$rc" "$problems" ||
		problems+=$'\n'"detach exited $rc: $out"
	verdict "detach killed at $POINT: detach --cgroup again leaves nothing" "$problems"
done

# -- apply fails half way: what it changed is put back.  Policy b's
# nftables table name is taken (by someone else) after the file was
# checked, so b's step fails after a's has been made.
write_conf() {
	cat > "$CONF" <<EOF
[global]
netns = $CLI
priority = $1
masquerade = yes
[uplink up0]
[uplink up1]
[policy $A]
uplinks = $2
${3:-}
EOF
}
# snapshot without program ids (a re-attach loads the program again),
# sorted (a re-created nftables table is listed after the others)
plain_snapshot() { bed_snapshot | sed -E 's/^[0-9]+ +//' | sort; }
write_conf 7100 "up0, up1"
"$MLB" apply -c "$CONF" > /dev/null
in_cli nft add table inet "mlb_bpf_$BID"
bed_snapshot > "$WORK/applied"
write_conf 7100 "up0:3, up1" "[policy $B]"
"$MLB" apply -c "$CONF" > "$WORK/out" 2> "$WORK/err"
check_eq "an update, then a failing attach: apply exits 1" 1 "$?"
check "and says everything was put back" grep -q "everything put back as it was" "$WORK/err"
check_eq "a's weights are back" "1 1" \
	"$("$MLB" status --cgroup "$A" --json | jq -r '[.attachments[0].uplinks[].weight] | join(" ")')"
balances "$A" "and a balances 1:1 again"
bed_snapshot > "$WORK/after"
check_same "and the rest is as it was" "$WORK/applied" "$WORK/after"

plain_snapshot > "$WORK/applied"
write_conf 7200 "up0, up1" "[policy $B]"
"$MLB" apply -c "$CONF" > "$WORK/out" 2> "$WORK/err"
check_eq "a routing change, then a failing attach: apply exits 1" 1 "$?"
check "and says everything was put back" grep -q "everything put back as it was" "$WORK/err"
check_eq "a routes at its old priorities again" 2 "$(ip -n "$CLI" rule show | grep -c '^7101:.*proto 77')"
balances "$A" "and a balances 1:1 again"
plain_snapshot > "$WORK/after"
check_same "and the rest is as it was" "$WORK/applied" "$WORK/after"
in_cli nft delete table inet "mlb_bpf_$BID"
"$MLB" detach --cgroup "$A" > /dev/null

# -- a watch failover: up0's carrier goes while watch is stopped; strace
# then follows watch from the moment it resumes (SIGHUP makes it look
# for attachments first, so the calls are the same every time) until it
# has flipped the slot table.
SLOW="probe=$SERVER,interval=30,timeout=0.5,down=1,up=1"
WATCH_ATTACH=("$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink "up0,$SLOW" --uplink "up1,$SLOW")
probed() {
	"$MLB" status --cgroup "$CG" --json 2>/dev/null |
		jq -e '.attachments[0].uplinks | map(.health.last_probe > 0) | all' > /dev/null
}
# failover [INJECTION]: attach, start watch, wait for its first probes,
# stop it, take gw0 down, resume it under strace.  Leaves watch running
# (or killed) and gw0 down.
failover() {
	"${WATCH_ATTACH[@]}" || echo "# attach failed"
	"$MLB" watch 2>> "$WORK/watch.log" &
	WATCH=$!
	disown "$WATCH"		# no "Killed" line from the shell
	for _ in $(seq 100); do probed && break; sleep 0.05; done
	kill -STOP "$WATCH"
	ip -n "$INET" link set gw0 down
	strace -qq -p "$WATCH" -o "$WORK/failover.trace" -e trace="$SET" "$@" &
	TRACER=$!
	for _ in $(seq 100); do
		[ "$(awk '/^TracerPid/ { print $2 }' /proc/$WATCH/status)" != 0 ] && break
		sleep 0.02
	done
	kill -HUP "$WATCH"
	kill -CONT "$WATCH"
}
stop_failover() {
	kill "$WATCH" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$WATCH" 2>/dev/null || break; sleep 0.05; done
	wait "$TRACER" 2>/dev/null
	WATCH=
	ip -n "$INET" link set gw0 up
}
failover
for _ in $(seq 100); do
	[ "$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].uplinks[0].health.state')" = down ] && break
	sleep 0.05
done
sleep 0.3
kill "$TRACER"
stop_failover
# the calls up to the flip: the 5 bpf calls after the failover's lock
# (record info and lookup, settings, slot table, settings)
awk -F'(' '/^[a-z_0-9]+\(/ { print $1 }' "$WORK/failover.trace" |
	awk '{ print } /^flock$/ { locked = 1 } locked && /^bpf$/ && ++n == 5 { exit }' \
	> "$WORK/failover.seq"
check "the failover takes the lock and flips" grep -qx flock "$WORK/failover.seq"
"$MLB" detach --cgroup "$CG" > /dev/null 2>&1
for k in $(points failover); do
	inject failover "$k"
	failover -e inject="$INJECT"
	for _ in $(seq 100); do kill -0 "$WATCH" 2>/dev/null || break; sleep 0.05; done
	killed=$(kill -0 "$WATCH" 2>/dev/null && echo "watch was not killed")
	stop_failover
	out=$("$REPAIR" detach --cgroup "$CG" 2>&1)
	rc=$?
	problems=$(clean)
	[ -z "$killed" ] || problems+=$'\n'"$killed"
	[ "$rc" = 0 ] || problems+=$'\n'"detach exited $rc: $out"
	verdict "watch killed in a failover at $POINT: detach --cgroup leaves nothing" \
		"$(echo "$problems" | sed '/^$/d')"
done
check "attach after the killed watches" "${ATTACH[@]}"
balances "$CG" "and it balances 1:1"
"$MLB" detach --cgroup "$CG" > /dev/null
bed_snapshot > "$WORK/after"
check_same "nothing left at the end" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
