#!/bin/bash
# test_policies.sh - several policies at once, over one set of uplinks:
# the bed's cgroup balances up0:up1 1:1, a child "backup" uses only up1,
# a child "users" balances 3:1.  The nearest policy decides, the uplinks'
# tables and rules exist once, and detaching one policy (even the first)
# leaves the others working; the last detach removes everything.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	for s in ${SRV:-}; do bed_server_stop "$s"; done
	bed_destroy		# detaches and removes the child cgroups too
	rm -rf "$WORK"
}
trap cleanup EXIT

bed_create 3		# up2 is routed by no policy
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
BACKUP=$CG/backup
USERS=$CG/users
mkdir "$BACKUP" "$USERS"
bed_snapshot > "$WORK/before"

# connections CGROUP N: N new connections from a process in CGROUP;
# prints "UP0 UP1".
connections() {
	bed_counters_reset
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$1" \
		nsenter --net="/run/netns/$CLI" "$CRR" client --connect "$SERVER:5000" \
		--count "$2" > /dev/null
	echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
}

A=("$MLB" attach --netns "$CLI")
check "the root policy: up0:up1 1:1" "${A[@]}" --cgroup "$CG" --uplink up0 --uplink up1
ip -n "$CLI" rule show > "$WORK/rules"
check "a nested policy: backup uses only up1" "${A[@]}" --cgroup "$BACKUP" --uplink up1
check "a sibling policy: users 3:1" "${A[@]}" --cgroup "$USERS" \
	--uplink up0,weight=3 --uplink up1
check_eq "three programs, one per policy" "1 1 1" \
	"$(for c in "$CG" "$BACKUP" "$USERS"; do bpftool cgroup show "$c" -j | jq 'length'; done | xargs)"
check_eq "the uplinks' rules exist once" "$(cat "$WORK/rules")" "$(ip -n "$CLI" rule show)"

check_eq "backup: everything on up1" "0 40" "$(connections "$BACKUP" 40)"
check_eq "users: 3:1" "30 10" "$(connections "$USERS" 40)"
check_eq "the root cgroup's own processes: 1:1" "20 20" "$(connections "$CG" 40)"
check_eq "status shows three policies" 3 \
	"$("$MLB" status --json | jq "[.attachments[] | select(.cgroup | startswith(\"$CG\"))] | length")"
check_eq "backup's status counts only its own sockets" "0 40" \
	"$("$MLB" status --cgroup "$BACKUP" --json | jq -r '[.attachments[0].uplinks[].sockets] | join(" ")')"

check "detach the root policy (the first one)" "$MLB" detach --cgroup "$CG"
check_eq "the rules stay for the other policies" "$(cat "$WORK/rules")" "$(ip -n "$CLI" rule show)"
check_eq "backup still on up1" "0 40" "$(connections "$BACKUP" 40)"
check_eq "users still 3:1" "30 10" "$(connections "$USERS" 40)"
check_eq "the root cgroup is no longer balanced" "40 0" "$(connections "$CG" 40)"

"$MLB" attach --netns "$CLI" --cgroup "$CG" --uplink up0 --uplink up2 2> "$WORK/err"
check_eq "a policy with an uplink the others do not route is refused" \
	"1 1" "$? $(wc -l < "$WORK/err")"
check "and the message names the uplink" \
	grep -q '"up2" is not among the uplinks' "$WORK/err"
check "and nothing was attached to the root cgroup" sh -c \
	"! '$MLB' status --cgroup '$CG' > /dev/null 2>&1"
check "detach backup" "$MLB" detach --cgroup "$BACKUP"
check_eq "users still 3:1" "30 10" "$(connections "$USERS" 40)"
check "detach users, the last one" "$MLB" detach --cgroup "$USERS"
bed_snapshot > "$WORK/after"
check_same "the last detach removed everything" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
