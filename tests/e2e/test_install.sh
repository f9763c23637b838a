#!/bin/bash
# test_install.sh - `make install` puts the binary, man page, systemd units
# and bash completion where PREFIX says, the units name the binary where
# it was installed, `systemd-analyze verify` accepts them (and is shown to
# reject a typo'd directive), and `make uninstall` removes every file.
# Everything goes under the test's own directory (DESTDIR or PREFIX).
. "$(dirname "$0")/../lib/e2e.sh"
trap 'rm -rf "$WORK"' EXIT

# the build directory the binary under test is in (nothing is rebuilt)
BUILD=$(cd "$(dirname "$MLB")" && pwd)
mk() { make -s --no-print-directory BUILD="$BUILD" "$@" >/dev/null; }

# files WHERE: the files under WHERE, relative, sorted
files() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }

# The binary's path in every Exec line of the installed units.
exec_paths() {
	sed -n 's/^Exec[A-Za-z]*=\([^ ]*mlb-bpf\)\( .*\)\{0,1\}$/\1/p' "$@" |
		LC_ALL=C sort -u
}

for prefix in /usr /usr/local; do
	root=$WORK/root$prefix
	mk install DESTDIR="$root" PREFIX="$prefix"
	check_eq "make install PREFIX=$prefix: what goes where" \
		"$(printf '%s\n' \
			"${prefix#/}/lib/systemd/system/mlb-bpf-watch.service" \
			"${prefix#/}/lib/systemd/system/mlb-bpf.service" \
			"${prefix#/}/sbin/mlb-bpf" \
			"${prefix#/}/share/bash-completion/completions/mlb-bpf" \
			"${prefix#/}/share/man/man8/mlb-bpf.8")" \
		"$(files "$root")"
	check_eq "PREFIX=$prefix: the units run $prefix/sbin/mlb-bpf" \
		"$prefix/sbin/mlb-bpf" \
		"$(exec_paths "$root$prefix"/lib/systemd/system/*.service)"
	mk uninstall DESTDIR="$root" PREFIX="$prefix"
	check_eq "make uninstall PREFIX=$prefix removes every file" "" \
		"$(files "$root")"
done

# systemd-analyze verify checks that the binaries and the man page the
# units name exist: install for real under a prefix in $WORK.
prefix=$WORK/prefix
mk install PREFIX="$prefix"
# verify UNIT...: systemd-analyze says nothing and succeeds (it only warns
# about an unknown directive, but it warns).
verify() {
	MANPATH=$prefix/share/man systemd-analyze verify "$@" \
		> "$WORK/verify.out" 2>&1 && [ ! -s "$WORK/verify.out" ]
}
for unit in "$prefix"/lib/systemd/system/*.service; do
	if verify "$unit"; then
		tap_ok "systemd-analyze verify $(basename "$unit")"
	else
		tap_fail "systemd-analyze verify $(basename "$unit")"
		sed 's/^/#   /' "$WORK/verify.out"
	fi
done
mkdir "$WORK/typo"
sed 's/^RestartSec=/RestartSek=/' \
	"$prefix/lib/systemd/system/mlb-bpf-watch.service" \
	> "$WORK/typo/mlb-bpf-watch.service"
check "systemd-analyze verify rejects a typo'd directive" \
	eval '! verify "$WORK/typo/mlb-bpf-watch.service"'
rm -f "$prefix/sbin/mlb-bpf"
check "systemd-analyze verify rejects a unit whose binary is missing" \
	eval '! verify "$prefix/lib/systemd/system/mlb-bpf-watch.service"'
