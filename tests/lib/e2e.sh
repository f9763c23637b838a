# e2e.sh - sourced first by every end-to-end test: it runs from the top of
# the tree, with the TAP and test-bed helpers, and a fresh work directory
# $WORK that the test's cleanup trap removes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/bed.sh
WORK=$(mktemp -d)

# health I: uplink I's health state ("up", "down", "unknown") as status
# --json shows it for the attachment of $CG.
health() {
	"$MLB" status --cgroup "$CG" --json |
		jq -r ".attachments[0].uplinks[$1].health.state"
}

# wait_health I STATE: until uplink I is in STATE (at most 10 s).
wait_health() {
	for _ in $(seq 100); do
		[ "$(health "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_watch: mlb-bpf watch for the cgroup $CG in the background ($WATCH),
# its log appended to $WORK/watch.log; stop_watch ends it.
start_watch() {
	"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
	WATCH=$!
}
stop_watch() {
	kill "$WATCH"
	wait "$WATCH" 2>/dev/null
	WATCH=
}

# The tc mode attach gives container veths and LAN interfaces on this
# kernel when none is forced: tcx where the kernel has it (6.6+), clsact
# filters where it does not.
kernel_tc_mode() {
	if [ "$("$MLB" features --json |
	    jq -r '.features[] | select(.key == "tcx") | .present')" = true ]; then
		echo tcx
	else
		echo clsact
	fi
}

# e2e_cleanup_on_exit: when the test exits, stop the servers whose pids
# it lists in $PIDS (bed_server_start's), destroy the bed and remove
# $WORK.  For tests that need nothing else undone.
e2e_cleanup_on_exit() {
	PIDS=
	trap e2e_cleanup EXIT
}

e2e_cleanup() {
	local p
	for p in $PIDS; do bed_server_stop "$p"; done
	bed_destroy
	rm -rf "$WORK"
}

# check_refused SNAPSHOT CODE MATCH PATTERN WHAT -- CMD...: one check
# that CMD exits with CODE, prints nothing on stdout and one line on
# stderr that PATTERN (an extended regular expression) matches: the
# whole line (MATCH "line") or part of it ("part"); and that SNAPSHOT, a
# command that prints what must not change, prints what it printed into
# $WORK/before.
check_refused() {
	local snapshot=$1 code=$2 match=$3 pattern=$4 what=$5 whole=()
	shift 6
	[ "$match" = line ] && whole=(-x)
	"$@" > "$WORK/out" 2> "$WORK/err"
	local rc=$?
	"$snapshot" > "$WORK/after"
	if [ "$rc" -eq "$code" ] && [ "$(wc -l < "$WORK/err")" -eq 1 ] &&
	    grep -qE "${whole[@]}" -e "$pattern" "$WORK/err" &&
	    [ ! -s "$WORK/out" ] &&
	    diff -q "$WORK/before" "$WORK/after" >/dev/null; then
		tap_ok "$what: $(cat "$WORK/err")"
	else
		tap_fail "$what"
		echo "#   exit $rc (expected $code), stderr:"
		sed 's/^/#     /' "$WORK/err"
		diff -u "$WORK/before" "$WORK/after" | sed 's/^/#   /' | head -20
	fi
}
