#!/bin/bash
# build-image.sh - the mlb-bpf container image, made from the Debian
# package without a registry or a base image.
#
#   scripts/build-image.sh [--deb FILE] [--tag NAME] [--output FILE] [--no-busybox]
#
# The root file system is the .deb's files (dpkg-deb -x: /usr/sbin/mlb-bpf,
# /etc/mlb-bpf/mlb-bpf.conf, the man page...), the shared libraries the
# binary needs as ldd lists them on this machine, with the dynamic loader,
# an empty /run/mlb-bpf and, where /bin/busybox is a static binary, busybox
# for a shell (--no-busybox leaves it out).  It is imported as NAME
# (default mlb-bpf:VERSION, the package's version) with
#   ENTRYPOINT ["/usr/sbin/mlb-bpf"]
#   CMD ["watch", "--config", "/etc/mlb-bpf/mlb-bpf.conf"]
# by `$DOCKER import` (DOCKER: the client command, default docker; e.g.
# DOCKER=podman, or DOCKER="docker -H unix:///path/docker.sock"), or
# written as a tar file (--output FILE) for `docker import` elsewhere.
# Without --deb the package is built first, by `dpkg-buildpackage -us -uc
# -b` in a copy of this tree (its build dependencies installed:
# scripts/install-deps.sh).  The libraries come from the machine that runs
# this script: run it on the Debian or Ubuntu release the .deb was built for.
#
# Run the image (README "mlb-bpf in a container"):
#   docker run -d --name mlb-bpf --privileged --network host \
#     -v CGROUP2:CGROUP2 -v /sys/fs/bpf:/sys/fs/bpf -v /run/mlb-bpf:/run/mlb-bpf \
#     -v /etc/mlb-bpf/mlb-bpf.conf:/etc/mlb-bpf/mlb-bpf.conf:ro mlb-bpf:VERSION
set -eu
DEB=
TAG=
OUT=
BUSYBOX=/bin/busybox
usage() {
	sed -n '4p' "$0" | sed 's/^#  *//; s/^/usage: /' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--deb) DEB=$(realpath "${2:?}"); shift 2 ;;
	--tag) TAG=${2:?}; shift 2 ;;
	--output) OUT=$(realpath -m "${2:?}"); shift 2 ;;
	--no-busybox) BUSYBOX=; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
TOP=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ -z "$DEB" ]; then
	# the tracked and new files of the tree, without build/
	mkdir "$TMP/src"
	(cd "$TOP" && if git rev-parse --git-dir > /dev/null 2>&1; then
		git ls-files -z -co --exclude-standard | grep -zv '^build/' |
			tar -c --null -T - -f -
	else
		tar -c --exclude=./build --exclude=./.git -f - .
	fi) | tar -x -C "$TMP/src" -f -
	echo "building the package (dpkg-buildpackage -us -uc -b)..." >&2
	if ! (cd "$TMP/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
	    dpkg-buildpackage -us -uc -b) > "$TMP/build.log" 2>&1; then
		tail -20 "$TMP/build.log" >&2
		echo "build-image.sh: dpkg-buildpackage failed" >&2
		exit 1
	fi
	DEB=$(ls "$TMP"/mlb-bpf_*_*.deb)
fi
VERSION=$(dpkg-deb -f "$DEB" Version)
TAG=${TAG:-mlb-bpf:${VERSION%%-*}}

R=$TMP/rootfs
mkdir "$R"
dpkg-deb -x "$DEB" "$R"
BIN=$R/usr/sbin/mlb-bpf
[ -x "$BIN" ] || { echo "build-image.sh: $DEB has no /usr/sbin/mlb-bpf" >&2; exit 1; }
# The libraries (NAME => PATH) and the loader (PATH), by the paths the
# binary finds them at here; symbolic links resolved.
LIBS=$(ldd "$BIN" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$LIBS" ] || { echo "build-image.sh: ldd lists no library for mlb-bpf" >&2; exit 1; }
if ldd "$BIN" | grep -q 'not found'; then
	ldd "$BIN" | grep 'not found' >&2
	echo "build-image.sh: a library mlb-bpf needs is not installed here" >&2
	exit 1
fi
for l in $LIBS; do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done
if [ -n "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
	mkdir -p "$R/bin"
	cp -L "$BUSYBOX" "$R/bin/busybox"
	for a in sh ls cat ps grep mount ip; do ln -s busybox "$R/bin/$a"; done
fi
mkdir -p "$R/run/mlb-bpf" "$R/tmp" "$R/proc" "$R/sys" "$R/dev"
# the docs and the man page are no use in the image
rm -rf "$R/usr/share/doc" "$R/usr/share/man"

CHANGES=(--change 'ENTRYPOINT ["/usr/sbin/mlb-bpf"]'
	 --change 'CMD ["watch", "--config", "/etc/mlb-bpf/mlb-bpf.conf"]'
	 --change "LABEL org.opencontainers.image.version=$VERSION")
if [ -n "$OUT" ]; then
	tar -C "$R" --owner=0 --group=0 -cf "$OUT" .
	echo "$OUT: import it with: docker import $(printf "%q " "${CHANGES[@]}")$OUT $TAG"
else
	# shellcheck disable=SC2086
	tar -C "$R" --owner=0 --group=0 -cf - . | ${DOCKER:-docker} import "${CHANGES[@]}" - "$TAG" > /dev/null
	echo "$TAG"
fi
