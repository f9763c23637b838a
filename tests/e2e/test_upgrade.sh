#!/bin/bash
# test_upgrade.sh - an upgrade in place, as a user's package manager does
# it.  The release before the attachment record's version changed (0.1.0,
# built from git history) is installed as a .deb; it attaches in the bed
# and its watch runs.  While new connections go on without a pause, this
# tree's .deb is installed over it, and watch is restarted from the new
# binary (what the package's postinst does under systemd with
# try-restart; this machine has no systemd as PID 1).  Then:
#   - no connection failed, and the split held, counted at gateways that
#     drop other sources;
#   - the new release's status, repair, watch, apply and detach work on
#     the attachment 0.1.0 made, without re-attaching it;
#   - 0.1.0 meeting the record the new release rewrote refuses in one line.
# The package is purged at the end: nothing of it stays.
. "$(dirname "$0")/../lib/e2e.sh"
OLD_TAG=v0.1.0
OLD_COMMIT=384110ddbdcbf72cb093b39b82913543a327334a
cleanup() {
	for p in ${WATCH:-} ${TRAFFIC:-}; do
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	bed_server_stop "${SRV:-}"
	bed_destroy
	if [ -n "${INSTALLED:-}" ]; then
		dpkg --purge mlb-bpf > /dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# Nothing of a real installation may be overwritten or purged.
if dpkg-query -W -f='${Status}' mlb-bpf 2>/dev/null | grep -q installed ||
    [ -e /usr/sbin/mlb-bpf ] || [ -e /etc/mlb-bpf ]; then
	tap_fail "mlb-bpf is already installed on this machine; not touching it"
	exit 1
fi

# -- the two packages: 0.1.0 from git history, and this tree
OLD_REV=$(git rev-parse -q --verify "$OLD_TAG^{commit}" 2>/dev/null ||
	git rev-parse -q --verify "$OLD_COMMIT^{commit}" 2>/dev/null)
if [ -z "$OLD_REV" ]; then
	# a shallow clone, or a tree without git: nothing to build 0.1.0 from
	echo "not ok - upgrade from 0.1.0 # SKIP release 0.1.0 ($OLD_TAG, $OLD_COMMIT) is not in this tree's git history"
	exit 0
fi
mkdir "$WORK/old" "$WORK/new"
git archive "$OLD_REV" | tar -x -C "$WORK/old"
git ls-files -z -co --exclude-standard | grep -zv '^build/' |
	tar -c --null -T - -f - | tar -x -C "$WORK/new" -f -
build_deb() {
	(cd "$1" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
		dpkg-buildpackage -us -uc -b) > "$1.log" 2>&1
}
for tree in old new; do
	if ! check "dpkg-buildpackage of the $tree release" build_deb "$WORK/$tree"; then
		tail -20 "$WORK/$tree.log" | sed 's/^/#   /'
		exit 1
	fi
done
OLD_DEB=$(echo "$WORK"/mlb-bpf_0.1.0_*.deb)
NEW_DEB=$(echo "$WORK"/mlb-bpf_"$(sed -n 's/^VERSION *:= *//p' Makefile)"_*.deb)
OLD_BIN=$WORK/old/debian/mlb-bpf/usr/sbin/mlb-bpf

# -- 0.1.0 installed, attached, watching
INSTALLED=1
check "dpkg -i the 0.1.0 package" dpkg -i "$OLD_DEB"
MLB=/usr/sbin/mlb-bpf
check_eq "0.1.0 is installed" "mlb-bpf 0.1.0" \
	"$("$MLB" --version | awk '{ print $1, $2 }')"
bed_create
bed_strict_gateways
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
bed_snapshot > "$WORK/before"
FAST="probe=$SERVER,interval=0.2,timeout=0.5,down=3,up=2"
check "0.1.0 attaches" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink "up0,$FAST" --uplink "up1,$FAST"
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
check "0.1.0's watch sees both uplinks up" wait_health 1 up

# -- the upgrade, with new connections all the while
bed_counters_reset
bed_spoofed_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --duration 12 --timeout 3 \
	> "$WORK/traffic" 2>&1 &
TRAFFIC=$!
sleep 2
check "dpkg -i the new package over 0.1.0, attachments live" dpkg -i "$NEW_DEB"
# the postinst's try-restart, by hand: the new binary's watch
kill "$WATCH"
wait "$WATCH" 2>/dev/null
"$MLB" watch --cgroup "$CG" 2>> "$WORK/watch.log" &
WATCH=$!
wait "$TRAFFIC"
TRAFFIC=
done=$(awk '$1 == "transactions" { print $2 }' "$WORK/traffic")
check_eq "no connection failed through the upgrade ($done made)" \
	"failures 0" "$(grep -x 'failures [0-9]*' "$WORK/traffic")"
up0=$(bed_counter gw0_syn)
up1=$(bed_counter gw1_syn)
check "the split held: $up0 and $up1 at the gateways, of $done" \
	test "$((up0 + up1))" -eq "$done" -a "$((up0 - up1))" -le 1 -a "$((up1 - up0))" -le 1
check_eq "no gateway saw another uplink's source" "0 0 " "$(bed_spoofed)"

# -- the new release on 0.1.0's attachment
NEW_VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
check_eq "the new release is installed" "mlb-bpf $NEW_VERSION" \
	"$("$MLB" --version | awk '{ print $1, $2 }')"
check "status reads 0.1.0's attachment" sh -c "'$MLB' status --cgroup '$CG' > /dev/null"
check_eq "status says 0.1.0 made it" "0.1.0 or earlier" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].made_by')"
check "the new watch runs on it: both uplinks up" wait_health 1 up
check "the new watch logged no error" sh -c "! grep -qi 'error\|refus\|corrupt' '$WORK/watch.log'"
check "repair: nothing to repair" sh -c \
	"'$MLB' repair --cgroup '$CG' | grep -q 'nothing to repair'"
prog_before=$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].prog_id')
cat > "$WORK/mlb-bpf.conf" <<EOF
[global]
netns = $CLI
[uplink up0]
weight = 2
probe = $SERVER
interval = 0.2
timeout = 0.5
down = 3
up = 2
[uplink up1]
probe = $SERVER
interval = 0.2
timeout = 0.5
down = 3
up = 2
[policy $CG]
uplinks = up0, up1
EOF
check "apply changes 0.1.0's attachment to 2:1" "$MLB" apply -c "$WORK/mlb-bpf.conf"
check_eq "in place: the same program" "$prog_before" \
	"$("$MLB" status --cgroup "$CG" --json | jq -r '.attachments[0].prog_id')"
bed_counters_reset
in_cgroup "$CRR" client --connect "$SERVER:5000" --count 60 > /dev/null
check_eq "new connections split 2:1 at the gateways" "40 20" \
	"$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
check "0.1.0 meeting the rewritten record refuses" sh -c \
	"! '$OLD_BIN' status --cgroup '$CG' > '$WORK/old_status' 2>&1"
check_eq "in one line" 1 "$(wc -l < "$WORK/old_status")"
sed 's/^/#   /' "$WORK/old_status"

kill "$WATCH"
wait "$WATCH" 2>/dev/null
WATCH=
check "the new release detaches 0.1.0's attachment" "$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "detach left nothing" "$WORK/before" "$WORK/after"
check "dpkg --purge mlb-bpf" dpkg --purge mlb-bpf
INSTALLED=
check "nothing of the package stays" sh -c \
	"[ ! -e /usr/sbin/mlb-bpf ] && [ ! -e /etc/mlb-bpf ]"
check "the host's own namespace is untouched" bed_host_untouched
