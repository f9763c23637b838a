#!/bin/bash
# test_apply.sh - the configuration file: `apply --check` changes nothing,
# `apply` attaches nested and sibling policies, a second apply changes
# nothing, weights and destination rules change in place while
# connections stay up, a policy left out is detached, a routing change
# re-attaches every policy, `watch --config` re-applies on SIGHUP, and
# bad files are refused with FILE:LINE and leave everything as it was.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	[ -n "${WATCH:-}" ] && kill "$WATCH" 2>/dev/null && wait "$WATCH" 2>/dev/null
	for s in ${SRV:-} ${ECHO:-} ${SRVB:-} ${SRV6:-}; do bed_server_stop "$s"; done
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

BYPASSED=203.0.113.20
bed_create
ip -n "$INET" addr add "$BYPASSED/32" dev lo
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
ECHO=$(bed_server_start "$WORK/echo" --echo 5003)
SRVB=$(bed_server_start "$WORK/srvb" "" 5000 "$BYPASSED")
SRV6=$(bed_server_start "$WORK/srv6" "" 5000 "[$SERVER6]")
BACKUP=$CG/backup
USERS=$CG/users
mkdir "$BACKUP" "$USERS"
bed_snapshot > "$WORK/before"
CONF=$WORK/mlb-bpf.conf

# write_conf USERS_UPLINKS [EXTRA_USERS_LINES] [EXTRA_GLOBAL_LINES]: the
# bed's cgroup 1:1, backup on up1 only, users as given.
write_conf() {
	cat > "$CONF" <<EOF
# mlb-bpf test configuration
[global]
netns = $CLI
${3:-}

[uplink up0]
[uplink up1]
probe = $SERVER

[policy $CG]

[policy $BACKUP]
uplinks = up1

[policy $USERS]
uplinks = $1
${2:-}
EOF
}

# connections CGROUP N [DEST]: N new connections from a process in
# CGROUP; prints "UP0 UP1".
connections() {
	bed_counters_reset
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$1" \
		nsenter --net="/run/netns/$CLI" "$CRR" client \
		--connect "${3:-$SERVER}:5000" --count "$2" > /dev/null
	echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
}
# links: the BPF link ids of the three policies (the same ids mean
# nothing was re-attached).
links() {
	for c in "$CG" "$BACKUP" "$USERS"; do
		"$MLB" status --cgroup "$c" --json 2>/dev/null |
			jq -r '.attachments[0].link_id // "-"'
	done | xargs
}
# state: what must not change when a bad file is refused.
state() {
	bed_snapshot
	links
	"$MLB" status --json | jq -c "[.attachments[] | select(.cgroup | startswith(\"$CG\")) | [.cgroup, [.uplinks[].weight], .destinations, .sticky_seconds]]"
}

write_conf "up0:3, up1"
check "apply --check accepts the file" sh -c "'$MLB' apply --check -c '$CONF' > /dev/null"
check_eq "apply --check says what apply would do" \
	"would attach $CG|would attach $BACKUP|would attach $USERS" \
	"$("$MLB" apply --check -c "$CONF" | grep '^would' | paste -sd'|')"
bed_snapshot > "$WORK/checked"
check_same "apply --check changed nothing" "$WORK/before" "$WORK/checked"

check "apply attaches the three policies" sh -c "'$MLB' apply -c '$CONF' > /dev/null"
check_eq "root policy 1:1" "20 20" "$(connections "$CG" 40)"
check_eq "nested policy: backup on up1 only" "0 40" "$(connections "$BACKUP" 40)"
check_eq "sibling policy: users 3:1" "30 10" "$(connections "$USERS" 40)"
check_eq "status lists the three policies" 3 \
	"$("$MLB" status --json | jq "[.attachments[] | select(.cgroup | startswith(\"$CG\"))] | length")"
before_links=$(links)
check_eq "a second apply changes nothing" \
	"unchanged $CG|unchanged $BACKUP|unchanged $USERS" \
	"$("$MLB" apply -c "$CONF" | paste -sd'|')"
check_eq "and re-attaches nothing" "$before_links" "$(links)"

# -- weights and destination rules in place, connections stay up
in_cgroup_users() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$USERS" \
		nsenter --net="/run/netns/$CLI" "$@"
}
in_cgroup_users "$CRR" hold --connect "$SERVER:5003" --count 4 --duration 3 > "$WORK/hold" &
HOLD=$!
sleep 0.5
write_conf "up0, up1:3" "bypass = $BYPASSED/32, 2001:db8:ff::/64"
check_eq "apply --check says what would change, and changes nothing" \
	"would update $USERS: weights, destination rules|$before_links" \
	"$("$MLB" apply --check -c "$CONF" | grep '^would' | paste -sd'|')|$(links)"
check_eq "apply updates users in place" "update $USERS: weights, destination rules" \
	"$("$MLB" apply -c "$CONF" | grep -v '^unchanged')"
check_eq "nothing was re-attached" "$before_links" "$(links)"
check_eq "users now 1:3" "10 30" "$(connections "$USERS" 40)"
check_eq "users' bypassed destination follows main (up0)" "40 0" \
	"$(connections "$USERS" 40 "$BYPASSED")"
check_eq "users' bypassed IPv6 prefix follows main (up0)" "40 0" \
	"$(connections "$USERS" 40 "[$SERVER6]")"
check_eq "the other policies are as they were" "20 20" "$(connections "$CG" 40)"
check_eq "and balance IPv6 too" "20 20" "$(connections "$CG" 40 "[$SERVER6]")"
wait "$HOLD"
check_eq "the connections open across the change all stayed up" 4 \
	"$(grep -c ' ok$' "$WORK/hold")"

write_conf "up0, up1:3" "sticky = 30"
check_eq "apply: the bypass goes, sticky comes, in place" \
	"update $USERS: destination rules, sticky" \
	"$("$MLB" apply -c "$CONF" | grep -v '^unchanged')"
check_eq "status shows sticky" 30 \
	"$("$MLB" status --cgroup "$USERS" --json | jq '.attachments[0].sticky_seconds')"
one_uplink() { [ "$1" = "40 0" ] || [ "$1" = "0 40" ]; }
sticky=$(connections "$USERS" 40)
check "sticky: one destination keeps one uplink ($sticky)" one_uplink "$sticky"
check_eq "still nothing re-attached" "$before_links" "$(links)"

# -- bad files: FILE:LINE, exit 2, nothing changed
state > "$WORK/good"
# refused FILE LINE PATTERN: apply and apply --check refuse FILE with one
# line "FILE:LINE: ..." matching PATTERN, exit 2.
refused() {
	local rc
	"$MLB" apply -c "$1" > /dev/null 2> "$WORK/err"
	rc=$?
	[ "$rc" -eq 2 ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] &&
		grep -q -- "^mlb-bpf: $1:$2: .*$3" "$WORK/err" || {
		echo "#   exit $rc: $(cat "$WORK/err")"
		return 1
	}
	"$MLB" apply --check -c "$1" > /dev/null 2> "$WORK/err"
	[ $? -eq 2 ] && grep -q -- "^mlb-bpf: $1:$2: " "$WORK/err"
}
bad() { cp "$CONF" "$WORK/bad.conf"; cat >> "$WORK/bad.conf"; }
printf 'this is not ini\n' | bad
check "a line that is not key = value" refused "$WORK/bad.conf" 18 "expected \[section\] or key = value"
printf 'colour = red\n' | bad
check "an unknown key" refused "$WORK/bad.conf" 18 'unknown key "colour"'
printf '[uplink up0]\n' | bad
check "an uplink given twice" refused "$WORK/bad.conf" 18 "given twice"
printf 'pin = 10.0.0.0/8:eth9\n' | bad
check "a pin to an interface that is no uplink" refused "$WORK/bad.conf" 18 "eth9"
sed "s|^uplinks = up0, up1:3$|uplinks = up0, up1:0|" "$CONF" > "$WORK/bad.conf"
check "a bad weight" refused "$WORK/bad.conf" 16 "weight"
sed "s|^uplinks = up1$|uplinks = up7|" "$CONF" > "$WORK/bad.conf"
check "a policy using an uplink not in the file" refused "$WORK/bad.conf" 13 "up7"
sed "s|^\[policy $BACKUP\]|[policy $CG/missing]|" "$CONF" > "$WORK/bad.conf"
check "a cgroup that does not exist" refused "$WORK/bad.conf" 12 "missing"
sed "s|^\[uplink up1\]|[uplink eth9]|; s|^uplinks = up1$|uplinks = eth9|; s|up1:3|eth9:3|" \
	"$CONF" > "$WORK/bad.conf"
check "an interface that does not exist" refused "$WORK/bad.conf" 7 'eth9'
check "a missing file" sh -c "'$MLB' apply -c '$WORK/none.conf' 2>&1 | grep -q 'none.conf'"
state > "$WORK/after-bad"
check_same "the refused files changed nothing" "$WORK/good" "$WORK/after-bad"

# -- a policy left out of the file is detached, the others stay
grep -v "^\[policy $BACKUP\]$\|^uplinks = up1$" "$CONF" > "$WORK/two.conf"
check_eq "apply without backup detaches it" "detach $BACKUP (not in the file)" \
	"$("$MLB" apply -c "$WORK/two.conf" | grep -v '^unchanged')"
check_eq "backup's processes follow the root policy now" "20 20" "$(connections "$BACKUP" 40)"
check_eq "users unchanged (weights 1:3, sticky)" "1:3 30" \
	"$("$MLB" status --cgroup "$USERS" --json | jq -r '.attachments[0] | "\([.uplinks[].weight] | join(":")) \(.sticky_seconds)"')"

# -- a routing change (another table base) re-attaches every policy
write_conf "up0:3, up1" "" "table-base = 7200"
"$MLB" apply -c "$CONF" > "$WORK/out"
check_eq "a routing change detaches and attaches every policy" "2 3" \
	"$(grep -c '^detach' "$WORK/out") $(grep -c '^attach' "$WORK/out")"
check "the uplinks now route through table 7200" sh -c \
	"ip -n '$CLI' rule show | grep -q 'lookup 7200' && ! ip -n '$CLI' rule show | grep -q 'lookup 7100'"
check_eq "users 3:1 again" "30 10" "$(connections "$USERS" 40)"
check_eq "backup is back on up1" "0 40" "$(connections "$BACKUP" 40)"

# -- watch --config re-applies on SIGHUP
"$MLB" watch --config "$CONF" --cgroup "$CG" 2> "$WORK/watch.log" &
WATCH=$!
# wait_log PATTERN: until watch has logged PATTERN (at most 5 s).
wait_log() {
	for _ in $(seq 50); do
		grep -q -- "$1" "$WORK/watch.log" && return 0
		sleep 0.1
	done
	return 1
}
check "watch --config applies the file at start" wait_log "$CONF: unchanged $USERS"
check "and watches the three policies" sh -c "sleep 1.5; [ \$(grep -c 'watching cgroup $CG[/ ]' '$WORK/watch.log') -eq 3 ]"
weights() {
	"$MLB" status --cgroup "$USERS" --json | jq -r '[.attachments[0].uplinks[].weight] | join(":")'
}
wait_weights() {
	for _ in $(seq 50); do
		[ "$(weights)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
write_conf "up0, up1" "" "table-base = 7200"
kill -HUP "$WATCH"
check "watch re-applies the file on SIGHUP (users 1:1)" wait_weights "1:1"
check_eq "users 1:1 after the reload" "20 20" "$(connections "$USERS" 40)"
printf 'colour = red\n' >> "$CONF"
kill -HUP "$WATCH"
check "a bad file on SIGHUP is logged with its line" \
	wait_log "$CONF:18: unknown key"
check "and watch keeps running" kill -0 "$WATCH"
check_eq "and nothing changed" "1:1" "$(weights)"
kill "$WATCH"
wait "$WATCH" 2>/dev/null
WATCH=

# -- a file with no policies detaches everything of this namespace
printf '[global]\nnetns = %s\n[uplink up0]\n' "$CLI" > "$WORK/empty.conf"
check_eq "apply with no policies detaches all three" 3 \
	"$("$MLB" apply -c "$WORK/empty.conf" | grep -c '^detach')"
bed_snapshot > "$WORK/after"
check_same "nothing left after the last policy is gone" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
