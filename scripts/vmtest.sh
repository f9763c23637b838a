#!/bin/bash
# vmtest.sh - run mlb-bpf's test suite on another kernel, in qemu.
#
#   scripts/vmtest.sh KERNEL [BUILD]
#
# KERNEL is a Debian kernel version ("6.1", "6.12", "6.1.0-57"), a
# linux-image .deb, or a directory that holds boot/vmlinuz-* and
# lib/modules/* (an unpacked package).  A version is fetched with
# `apt-get download` and unpacked under BUILD/vmtest: nothing is installed
# on this machine.
#
# The guest boots from a small busybox initramfs that loads the modules
# for 9p and overlayfs, mounts this machine's root file system read-only
# over 9p with a tmpfs above it, and runs scripts/vmtest-guest.sh there:
# the suite (tests/run.sh) against the binaries built on this machine.
# The guest's output is streamed here; this script exits with the suite's
# status and ends with the suite's "N passed, N failed" line.
#
# Environment: TESTS="balance lan demo" runs a subset (see tests/run.sh);
# VMTEST_CMD="..." runs that shell command instead of the suite;
# VMTEST_MEM (MiB, default 4096), VMTEST_CPUS (default 2),
# VMTEST_TIMEOUT (seconds, default 7200), FUZZ_SECONDS.
# Uses KVM where /dev/kvm can be opened, TCG (software emulation) where not.
set -euo pipefail

die() { echo "vmtest: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: scripts/vmtest.sh KERNEL [BUILD]  (KERNEL: 6.1, 6.12, a version, a .deb or an unpacked kernel directory)"
KERNEL=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath -m "${2:-$ROOT/build}")
VMDIR=$BUILD/vmtest
MEM=${VMTEST_MEM:-4096}
CPUS=${VMTEST_CPUS:-2}
TIMEOUT=${VMTEST_TIMEOUT:-7200}

[ "$(id -u)" -eq 0 ] || die "needs root (the guest runs the suite as root; qemu needs to read the whole root file system)"
for tool in qemu-system-x86_64 busybox dpkg-deb depmod modprobe cpio xz; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing (make deps installs it)"
done
[ -x "$BUILD/mlb-bpf" ] || die "$BUILD/mlb-bpf is not built (make all test-build)"
case "$BUILD" in
/tmp/* | /run/* | /dev/* | /proc/* | /sys/*)
	die "$BUILD is under a directory the guest mounts afresh; build elsewhere" ;;
esac

# A version string: the newest Debian package of that kernel, downloaded.
fetch_deb() {
	local want=$1 pattern pkg
	pattern="^linux-image-${want//./\\.}[.+-].*amd64-unsigned\$"
	pkg=$(apt-cache search --names-only "$pattern" | awk '{ print $1 }' |
		grep -v -e '-cloud-' -e '-rt-' | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "no Debian package linux-image-$want*-amd64-unsigned (apt-get update?)"
	mkdir -p "$VMDIR/debs"
	if ! ls "$VMDIR/debs/${pkg}_"*.deb >/dev/null 2>&1; then
		echo "vmtest: downloading $pkg" >&2
		(cd "$VMDIR/debs" && apt-get download -q "$pkg" >&2 2>/dev/null) ||
			die "apt-get download $pkg failed"
	fi
	ls "$VMDIR/debs/${pkg}_"*.deb | tail -n 1
}

# A .deb: unpacked once under $VMDIR/kernels, modules indexed with depmod.
unpack_deb() {
	local deb=$1 dir
	dir=$VMDIR/kernels/$(basename "$deb" .deb)
	if [ ! -e "$dir/.unpacked" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		touch "$dir/.unpacked"
	fi
	echo "$dir"
}

if [ -d "$KERNEL" ]; then
	KDIR=$(realpath "$KERNEL")
elif [ -f "$KERNEL" ]; then
	KDIR=$(unpack_deb "$(realpath "$KERNEL")")
else
	KDIR=$(unpack_deb "$(fetch_deb "$KERNEL")")
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$VMLINUZ" ] || die "no boot/vmlinuz-* in $KDIR"
KVER=${VMLINUZ##*/vmlinuz-}
[ -d "$KDIR/lib/modules/$KVER" ] || die "no lib/modules/$KVER in $KDIR"
[ -e "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"

# The initramfs: busybox, and the modules (with what they depend on, in
# load order, uncompressed) that the guest needs before it can see the
# root file system.
INITRD=$VMDIR/initramfs-$KVER.cpio.gz
if [ ! -e "$INITRD" ] || [ "$ROOT/scripts/vmtest-init" -nt "$INITRD" ]; then
	stage=$(mktemp -d)
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt/lower,mnt/rw,newroot,lib/modules}
	cp "$(command -v busybox)" "$stage/bin/busybox"
	cp "$ROOT/scripts/vmtest-init" "$stage/init"
	chmod 755 "$stage/init"
	: >"$stage/lib/modules/load-order"
	modprobe -d "$KDIR" -S "$KVER" --show-depends \
		-a virtio_pci 9pnet_virtio 9p overlay 2>/dev/null |
		awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		name=$(basename "$ko")
		name=${name%.xz}
		name=${name%.zst}
		grep -qx "$name" "$stage/lib/modules/load-order" && continue
		case "$ko" in
		*.xz) xz -dc "$ko" >"$stage/lib/modules/$name" ;;
		*.zst) zstd -qdc "$ko" >"$stage/lib/modules/$name" ;;
		*) cp "$ko" "$stage/lib/modules/$name" ;;
		esac
		echo "$name" >>"$stage/lib/modules/load-order"
	done
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$stage"
fi

# What the guest runs, and where it leaves its status.
OUT=$(mktemp -d "$VMDIR/run.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
cat >"$OUT/env" <<EOF
VMTEST_ROOT='$ROOT'
VMTEST_BUILD='$BUILD'
VMTEST_KDIR='$KDIR'
TESTS='${TESTS:-}'
FUZZ_SECONDS='${FUZZ_SECONDS:-30}'
VMTEST_CMD=$(printf '%q' "${VMTEST_CMD:-}")
EOF

ACCEL=tcg,thread=multi
CPU=max
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	ACCEL=kvm
	CPU=host
fi
echo "vmtest: kernel $KVER ($KDIR), accel ${ACCEL%%,*}, ${CPUS} CPUs, ${MEM} MiB" >&2
start=$(date +%s)
status=0
timeout --foreground "$TIMEOUT" qemu-system-x86_64 \
	-accel "$ACCEL" -cpu "$CPU" -smp "$CPUS" -m "$MEM" \
	-nodefaults -no-reboot -display none -monitor none -serial stdio \
	-kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 loglevel=3 mitigations=off" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$OUT,mount_tag=vmtest,security_model=none" \
	</dev/null || status=$?
elapsed=$(($(date +%s) - start))
if [ ! -e "$OUT/rc" ]; then
	[ "$status" -eq 124 ] && die "kernel $KVER: the guest ran past VMTEST_TIMEOUT=${TIMEOUT}s"
	die "kernel $KVER: the guest stopped before the suite ended (qemu status $status)"
fi
rc=$(cat "$OUT/rc")
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT/log" | tail -n 1 || true)
echo "vmtest: kernel $KVER: suite exited $rc after ${elapsed}s"
if [ -n "${VMTEST_CMD:-}" ]; then
	exit "$rc"
fi
echo "${summary:-0 passed, 1 failed}"
[ "$rc" -eq 0 ] && [ -n "$summary" ]
