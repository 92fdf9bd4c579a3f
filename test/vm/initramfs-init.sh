#!/bin/busybox sh
# /init of the VM's initramfs: load the few modules needed to reach the host's root over
# 9p, stack a tmpfs overlay on it (so the guest may write anywhere without touching the
# host), mount the writable results share, and hand over to guest-init.sh from the host.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# An external initramfs has no /dev/console node, so the kernel gave us no stdio.
exec </dev/console >/dev/console 2>&1

fail() {
	echo "vm-initramfs: $*" >/dev/console
	# panic=-1 and qemu -no-reboot turn this into a prompt qemu exit
	echo o >/proc/sysrq-trigger
	sleep 5
	poweroff -f
}

# One module per line, dependencies first (written by run.sh from modules.dep).
while read -r mod; do
	insmod "/modules/$mod" || fail "insmod $mod failed"
done </modules/order

guest_init=
boot=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vm.init=*) guest_init=${arg#vm.init=} ;;
	vm.boot=*) boot=${arg#vm.boot=} ;;
	esac
done
[ -n "$guest_init" ] || fail "no vm.init= on the kernel command line"

mkdir -p /lower /upper /newroot
# cache=loose: the host tree does not change under a test run, and every uncached
# lookup is a round trip through an emulated virtio queue.
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower ||
	fail "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	fail "cannot mount the overlay on the host root"
mkdir -p /newroot/vmtest
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmresults /newroot/vmtest ||
	fail "cannot mount the results share (9p tag vmresults)"

for fs in dev proc sys; do mount --move "/$fs" "/newroot/$fs"; done
# vm.boot=systemd: systemd becomes PID 1 and runs guest-init.sh as a unit.
[ "$boot" != systemd ] || . /newroot/vmtest/harness/systemd/boot.sh
exec switch_root /newroot /bin/bash "$guest_init"
