# Sourced by initramfs-init.sh (busybox sh) when the kernel command line says
# vm.boot=systemd: make the overlay root fit for a normal boot and exec systemd as PID 1.
# run.sh adds systemd.unit=vmtest.target: it pulls in vmtest.service, which runs
# guest-init.sh (VM_BOOT=systemd), the same scenario loop, under the real service manager.

# Docker leaves /.dockerenv: systemd would think it runs in a container and skip every
# unit with ConditionVirtualization=!container, multipathd's among them.
rm -f /newroot/.dockerenv
# and a policy-rc.d that forbids every service action from maintainer scripts (exit 101),
# so a package's scripts could neither restart nor stop its service as on a server.
rm -f /newroot/usr/sbin/policy-rc.d
cp /newroot/vmtest/harness/systemd/vmtest.target /newroot/vmtest/harness/systemd/vmtest.service \
	/newroot/etc/systemd/system/ || fail "cannot install the vmtest units"
# systemd-tmpfiles empties /tmp at boot ("D /tmp"): the checkout may live there (CI
# clones into /tmp). Same name in /etc overrides the rule.
mkdir -p /newroot/etc/tmpfiles.d
echo 'd /tmp 1777 root root -' >/newroot/etc/tmpfiles.d/tmp.conf
exec switch_root /newroot /lib/systemd/systemd
