#!/bin/sh
# install-deps.sh - install the Debian packages mlb-bpf builds, tests,
# packages and benchmarks with (docker.io, podman and netavark for
# test_docker.sh: no service of theirs is started).  With --if-missing,
# do nothing when all are present.
set -eu

PACKAGES="make gcc clang llvm pkg-config libbpf-dev libelf-dev zlib1g-dev
bpftool libnl-3-dev libnl-route-3-dev libnftables-dev libinih-dev
libmicrohttpd-dev
libcmocka-dev libclang-rt-14-dev iproute2 nftables iptables iperf3
gnuplot-nox jq util-linux procps strace bash-completion systemd debhelper
dpkg-dev lintian prometheus curl python3 qemu-system-x86 busybox-static kmod
cpio xz-utils dnsmasq-base dbus-daemon docker.io podman netavark libcap2-bin"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ "${1:-}" = "--if-missing" ] && [ -z "$missing" ]; then
	exit 0
fi
if [ -z "$missing" ]; then
	echo "all dependencies are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker.io and podman come with services: none may start here (the
# tests run their own dockerd in a test namespace).  Without a policy of
# the machine's own, one that refuses every start for the install.
RCD=/usr/sbin/policy-rc.d
if [ ! -e "$RCD" ]; then
	trap 'rm -f "$RCD"' EXIT
	trap 'exit 1' HUP INT TERM
	printf '#!/bin/sh\nexit 101\n' > "$RCD"
	chmod 755 "$RCD"
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
