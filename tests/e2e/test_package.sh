#!/bin/bash
# test_package.sh - the Debian package: `dpkg-buildpackage -us -uc -b` in a
# copy of the tree builds a .deb that lintian accepts without errors, with
# the binary in /usr/sbin, the units, man page, bash completion and the
# example configuration as the conffile /etc/mlb-bpf/mlb-bpf.conf.  The
# .deb is installed on this machine, `mlb-bpf --version` is run from it,
# and `dpkg --purge` leaves nothing behind.  The trap purges the package
# and removes the copy whatever happens.
. "$(dirname "$0")/../lib/e2e.sh"
INSTALLED=
cleanup() {
	[ -n "$INSTALLED" ] && dpkg_waiting --purge mlb-bpf
	rm -rf "$WORK"
}
trap cleanup EXIT

# What the package owns on the system, as dpkg -c lists it.
UNITS="lib/systemd/system/mlb-bpf.service lib/systemd/system/mlb-bpf-watch.service"
COMPLETION=usr/share/bash-completion/completions/mlb-bpf
FILES="usr/sbin/mlb-bpf $UNITS usr/share/man/man8/mlb-bpf.8.gz $COMPLETION
etc/mlb-bpf/mlb-bpf.conf usr/share/doc/mlb-bpf/examples/networkd-mlb-bpf.conf"

# Nothing of ours may be overwritten or purged: stop if mlb-bpf is there.
if dpkg-query -W -f='${Status}' mlb-bpf 2>/dev/null | grep -q installed ||
    [ -e /usr/sbin/mlb-bpf ] || [ -e /etc/mlb-bpf ]; then
	tap_fail "mlb-bpf is already installed on this machine; not touching it"
	exit 1
fi

# A copy of the tree without the build directory: the tracked files and
# the new ones (a tree that is not a git checkout is copied whole).
SRC=$WORK/mlb-bpf
mkdir "$SRC"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z -co --exclude-standard | grep -zv '^build/' |
		tar -c --null -T - -f - | tar -x -C "$SRC" -f -
else
	tar -c --exclude=./build --exclude=./.git -f - . | tar -x -C "$SRC" -f -
fi

# One build; nothing from a make that may be running this test leaks in.
if (cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
	dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1; then
	tap_ok "dpkg-buildpackage -us -uc -b"
else
	tap_fail "dpkg-buildpackage -us -uc -b"
	tail -20 "$WORK/build.log" | sed 's/^/#   /'
	exit 1
fi
DEB=$(ls "$WORK"/mlb-bpf_*_*.deb)
VERSION=$(dpkg-deb -f "$DEB" Version)

lintian --fail-on error "$WORK"/mlb-bpf_*.changes > "$WORK/lintian.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q '^E: ' "$WORK/lintian.out"; then
	tap_ok "lintian: no errors ($(grep -c '^W: ' "$WORK/lintian.out") warnings)"
else
	tap_fail "lintian: errors (exit $rc)"
	grep -v '^N:' "$WORK/lintian.out" | sed 's/^/#   /' | head -20
fi

dpkg -c "$DEB" | awk '{ print $6 }' | sed 's|^\./||' > "$WORK/contents"
missing=
for f in $FILES; do
	grep -qxF "$f" "$WORK/contents" || missing="$missing $f"
done
check_eq "the .deb has binary, units, man page, completion, configuration, networkd drop-in example" \
	"" "$missing"
check_eq "the configuration is its conffile" "/etc/mlb-bpf/mlb-bpf.conf" \
	"$(dpkg-deb -I "$DEB" conffiles 2>&1)"
check_eq "the units run /usr/sbin/mlb-bpf" "/usr/sbin/mlb-bpf" \
	"$(dpkg-deb --fsys-tarfile "$DEB" |
		tar -x -O ./lib/systemd/system/mlb-bpf.service \
			./lib/systemd/system/mlb-bpf-watch.service |
		sed -n 's/^Exec[A-Za-z]*=\([^ ]*mlb-bpf\).*/\1/p' | sort -u)"

# dpkg CMD...: dpkg, waiting (bounded) while another dpkg or apt holds
# the lock.
dpkg_waiting() {
	local try
	for try in $(seq 120); do
		dpkg "$@" > "$WORK/dpkg.out" 2>&1 && return 0
		grep -q 'lock' "$WORK/dpkg.out" || return 1
		sleep 1
	done
	return 1
}

INSTALLED=1
if dpkg_waiting -i "$DEB"; then
	tap_ok "dpkg -i $(basename "$DEB")"
else
	tap_fail "dpkg -i $(basename "$DEB")"
	sed 's/^/#   /' "$WORK/dpkg.out"
fi
check_eq "the installed mlb-bpf --version is the package's version" \
	"mlb-bpf $VERSION" "$(/usr/sbin/mlb-bpf --version | cut -d' ' -f1-2)"
check_eq "no unit is enabled on install" "" \
	"$(find /etc/systemd/system -name 'mlb-bpf*' 2>/dev/null)"
check_eq "bash-completion finds the completion" "complete -F _mlb_bpf mlb-bpf" \
	"$(bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion
		__load_completion mlb-bpf && complete -p mlb-bpf' 2>&1)"

if dpkg_waiting --purge mlb-bpf; then
	tap_ok "dpkg --purge mlb-bpf"
	INSTALLED=
else
	tap_fail "dpkg --purge mlb-bpf"
	sed 's/^/#   /' "$WORK/dpkg.out"
fi
left=
for f in $FILES etc/mlb-bpf; do
	[ -e "/$f" ] && left="$left /$f"
done
left="$left $(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -name '*mlb-bpf*' 2>/dev/null)"
check_eq "the purge left nothing behind" "" "$(echo $left)"
check_eq "dpkg no longer knows mlb-bpf (not even its configuration)" "" \
	"$(dpkg-query -W -f='${Status}' mlb-bpf 2>/dev/null | grep -v not-installed)"
