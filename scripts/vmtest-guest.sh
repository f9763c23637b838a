#!/bin/bash
# vmtest-guest.sh - inside a vmtest guest (see scripts/vmtest.sh), on the
# host's root file system under a tmpfs overlay: mount what a booted
# system has, put the guest kernel's modules where modprobe looks, run
# the suite, leave its status in /vmtest and power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
. /vmtest/env

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# what udev would make: bash's <(...) needs /dev/fd
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p "/lib/modules/$(uname -r)"
mount --bind "$VMTEST_KDIR/lib/modules/$(uname -r)" "/lib/modules/$(uname -r)"
hostname vmtest
ip link set lo up
# Controllers for the tests' child cgroups, as systemd enables them.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done

echo "vmtest: $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"
cd "$VMTEST_ROOT"
export TESTS FUZZ_SECONDS
export VMTEST_GUEST=1
if [ -n "${VMTEST_CMD:-}" ]; then
	bash -c "$VMTEST_CMD" 2>&1 | tee /vmtest/log
else
	tests/run.sh "$VMTEST_BUILD" 2>&1 | tee /vmtest/log
fi
echo "${PIPESTATUS[0]}" >/vmtest/rc
sync
echo o >/proc/sysrq-trigger
sleep 60
