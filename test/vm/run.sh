#!/bin/bash
# The real-kernel tier: boot a Debian kernel under qemu with this machine's / shared
# read-only (tmpfs overlay on top), run scenario scripts inside as root, print their
# results. Usage: bash test/vm/run.sh [scenario.sh ...]   (default: test/vm/scenarios/*.sh)
#
# Environment: VM_TIMEOUT (booting and tearing down, seconds, on top of the scenarios'
# budgets; default 240), VM_SCENARIO_TIMEOUT (a scenario without "# vm-budget:", default 300), VM_KERNEL (a /boot/vmlinuz-* to use), VM_VERBOSE=1
# (stream the serial console here while it runs), VM_OUT (cache dir, default test/vm/out).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${VM_OUT:-$HERE/out}
VM_TIMEOUT=${VM_TIMEOUT:-240}
VM_SCENARIO_TIMEOUT=${VM_SCENARIO_TIMEOUT:-300}
PACKAGES="qemu-system-x86 linux-image-amd64 multipath-tools udev busybox-static dbus systemd libglib2.0-bin iproute2"

die() {
	printf '\nVM TIER CANNOT RUN: %s\n\n' "$*" >&2
	exit 2
}
missing() { # a prerequisite is absent: say how to install it
	die "$*
Install what the tier needs with:
  apt-get update && apt-get install -y $PACKAGES"
}

# --- prerequisites: never skip, say exactly what is missing ---------------------------

QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || missing "qemu-system-x86_64 not found (package qemu-system-x86)"

# The kernel's modules must sit in this machine's /lib/modules: the guest reads them over 9p.
pick_kernel() {
	local k v
	if [ -n "${VM_KERNEL:-}" ]; then
		echo "$VM_KERNEL"
		return
	fi
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${k#/boot/vmlinuz-}
		[ -f "/lib/modules/$v/modules.dep" ] && { echo "$k"; return; }
	done
}
VMLINUZ=$(pick_kernel)
[ -n "$VMLINUZ" ] && [ -r "$VMLINUZ" ] ||
	missing "no readable /boot/vmlinuz-* with matching /lib/modules/<version>/modules.dep (package linux-image-amd64)"
KVER=${VMLINUZ#/boot/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing for kernel $VMLINUZ"

BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || missing "no statically linked busybox (package busybox-static)"

for tool in multipathd multipath dmsetup udevadm modprobe node dbus-daemon busctl gdbus setpriv stdbuf; do
	command -v "$tool" >/dev/null || missing "'$tool' not found (the guest runs this machine's userland)"
done
[ -x /lib/systemd/systemd-udevd ] || [ -x /usr/lib/systemd/systemd-udevd ] || missing "systemd-udevd not found (package udev)"

# --- scenarios -----------------------------------------------------------------------

SCENARIOS=()
if [ $# -eq 0 ]; then
	for s in "$HERE"/scenarios/*.sh; do [ -e "$s" ] && SCENARIOS+=("$s"); done
else
	for s in "$@"; do
		[ -f "$s" ] || die "scenario file not found: $s"
		SCENARIOS+=("$(realpath "$s")")
	done
fi
[ ${#SCENARIOS[@]} -gt 0 ] || die "no scenarios in $HERE/scenarios"

# --- boot: a scenario that needs systemd as PID 1 says "# vm-boot: systemd" -------------

boot_of() { sed -n '1,10s/^# vm-boot: *\([a-z]*\).*/\1/p' "$1" | head -n 1; }
if [ -z "${VM_BOOT:-}" ]; then
	PLAIN=() SYSTEMD=()
	for s in "${SCENARIOS[@]}"; do
		if [ "$(boot_of "$s")" = systemd ]; then SYSTEMD+=("$s"); else PLAIN+=("$s"); fi
	done
	if [ ${#PLAIN[@]} -gt 0 ] && [ ${#SYSTEMD[@]} -gt 0 ]; then # one VM per kind of boot
		rc=0 rc2=0
		VM_BOOT=plain bash "$0" "${PLAIN[@]}" || rc=$?
		VM_BOOT=systemd bash "$0" "${SYSTEMD[@]}" || rc2=$?
		exit $((rc ? rc : rc2))
	fi
	VM_BOOT=plain
	[ ${#SYSTEMD[@]} -eq 0 ] || VM_BOOT=systemd
fi
case "$VM_BOOT" in
plain) BOOT_ARGS= ;;
systemd)
	[ -x /lib/systemd/systemd ] || missing "/lib/systemd/systemd not found (package systemd)"
	command -v npm >/dev/null || die "npm not found: the systemd scenarios install the service with npm run install-system"
	for tool in systemd-run systemd-analyze journalctl nsenter ss; do
		command -v "$tool" >/dev/null || missing "'$tool' not found (the systemd scenarios use it)"
	done
	# systemd.unit: only the tier's target (test/vm/systemd/). Masked: what would prompt on
	# the console (firstboot), reach for a network the VM has not got, or run jobs mid-test.
	BOOT_ARGS="vm.boot=systemd systemd.unit=vmtest.target fstab=no systemd.mask=timers.target"
	# systemd's own boot takes ~30 s under TCG (minutes on a loaded host), and these
	# scenarios install the service with npm, whose start crosses 9p file by file.
	VM_SCENARIO_TIMEOUT=$((VM_SCENARIO_TIMEOUT + 300))
	VM_TIMEOUT=$((VM_TIMEOUT + 300 * (1 + ${#SCENARIOS[@]})))
	# packagekit.service: apt's hook wakes it after every dpkg run (a minute under TCG).
	for u in systemd-firstboot.service systemd-timesyncd.service cockpit.socket packagekit.service; do
		BOOT_ARGS+=" systemd.mask=$u"
	done
	;;
*) die "VM_BOOT=$VM_BOOT: plain or systemd" ;;
esac

# --- initramfs, built once per kernel and init script ---------------------------------

# Modules needed before the root exists, dependencies first, as modprobe would load them.
ROOT_MODULES="virtio_pci 9pnet_virtio 9p overlay"

module_path() { # module name -> path relative to $MODDIR, from modules.dep
	local name=${1//-/_} alt=${1//_/-}
	grep -m1 -E "(^|/)($name|$alt)\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | cut -d: -f1
}

declare -A SEEN=()
ORDER=()
add_module() { # path relative to $MODDIR; depth-first so dependencies come first
	local rel=$1 dep
	[ -n "${SEEN[$rel]:-}" ] && return
	SEEN[$rel]=1
	for dep in $(grep -m1 -E "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2-); do
		add_module "$dep"
	done
	ORDER+=("$rel")
}

INITRD_DIR=$OUT/initramfs-$KVER
KEY=$(cat "$HERE/initramfs-init.sh" "$MODDIR/modules.dep" "$BUSYBOX" | sha256sum | cut -c1-16)
INITRD=$INITRD_DIR/initramfs-$KEY.cpio.gz
if [ ! -f "$INITRD" ]; then
	echo "vm: building initramfs for $KVER"
	for m in $ROOT_MODULES; do
		rel=$(module_path "$m")
		[ -n "$rel" ] || die "module $m not found in $MODDIR/modules.dep"
		add_module "$rel"
	done
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,modules}
	cp "$BUSYBOX" "$stage/bin/busybox"
	install -m 755 "$HERE/initramfs-init.sh" "$stage/init"
	for rel in "${ORDER[@]}"; do
		case "$rel" in
		*.ko) cp "$MODDIR/$rel" "$stage/modules/" ;;
		*.ko.xz) xz -dc "$MODDIR/$rel" >"$stage/modules/$(basename "$rel" .xz)" ;;
		*.ko.zst) zstd -qdc "$MODDIR/$rel" >"$stage/modules/$(basename "$rel" .zst)" ;;
		*.ko.gz) gzip -dc "$MODDIR/$rel" >"$stage/modules/$(basename "$rel" .gz)" ;;
		*) die "unexpected module file $rel" ;;
		esac
		basename "$rel" | sed -E 's/\.(xz|zst|gz)$//' >>"$stage/modules/order"
	done
	mkdir -p "$INITRD_DIR"
	rm -f "$INITRD_DIR"/initramfs-*.cpio.gz
	(cd "$stage" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.$$"
	mv "$INITRD.$$" "$INITRD"
	rm -rf "$stage"
	trap - EXIT
fi

# A scenario's time limit: "# vm-budget: SECONDS" in its first 10 lines, else
# VM_SCENARIO_TIMEOUT. Sized for a day three times slower than usual; the guest prints
# each scenario's time beside it, so drift shows before it fails.
budget_of() {
	local b
	b=$(sed -n '1,10s/^# vm-budget: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)
	echo "${b:-$VM_SCENARIO_TIMEOUT}"
}

# --- the run directory: shared writable with the guest -------------------------------

mkdir -p "$OUT/runs"
RUN=$(mktemp -d "$OUT/runs/$(date +%Y%m%d-%H%M%S)-XXXX")
# Keep the five newest runs for post-mortems.
ls -1d "$OUT"/runs/*/ 2>/dev/null | sort | head -n -5 | xargs -r rm -rf
# Scripts are copied in so that the guest runs exactly this checkout's harness even if
# it lives somewhere the guest hides (the guest mounts a fresh /run).
mkdir -p "$RUN/harness" "$RUN/scenarios" "$RUN/logs"
cp "$HERE/guest-init.sh" "$HERE/lib.sh" "$RUN/harness/"
cp -r "$HERE/systemd" "$RUN/harness/"
{
	printf 'VM_REPO=%q\n' "$REPO"
	printf 'VM_SCENARIO_TIMEOUT=%q\n' "$VM_SCENARIO_TIMEOUT"
	printf 'VM_SCENARIOS=('
	for s in "${SCENARIOS[@]}"; do
		cp "$s" "$RUN/scenarios/"
		printf ' %q' "/vmtest/scenarios/$(basename "$s")"
	done
	printf ' )\n'
	printf 'VM_BUDGETS=('
	for s in "${SCENARIOS[@]}"; do printf ' %d' "$(budget_of "$s")"; done
	printf ' )\n'
} >"$RUN/job.sh"
# The whole VM: the scenarios' budgets plus VM_TIMEOUT for booting and tearing down.
for s in "${SCENARIOS[@]}"; do VM_TIMEOUT=$((VM_TIMEOUT + $(budget_of "$s"))); done
# A scenario that installs the Debian packages ("# vm-needs: debs" in its first 10 lines)
# finds them in /vmtest/debs, built here: under TCG a build would take minutes.
for s in "${SCENARIOS[@]}"; do
	sed -n '1,10p' "$s" | grep -q '^# vm-needs: debs' || continue
	echo "vm: building the Debian packages (test/vm/debs.sh)"
	bash "$HERE/debs.sh" "$RUN/debs" >/dev/null ||
		missing "test/vm/debs.sh could not build the packages (apt-get install debhelper dpkg-dev)"
	break
done
: >"$RUN/results"
CONSOLE=$RUN/console.log

echo "vm: kernel $KVER, $VM_BOOT boot, ${#SCENARIOS[@]} scenario(s), timeout ${VM_TIMEOUT}s, run dir $RUN"

QEMU_ARGS=(
	-accel tcg -cpu max -m 2G -smp 2
	-nographic -no-reboot -nic none
	-kernel "$VMLINUZ" -initrd "$INITRD"
	-append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off vm.init=/vmtest/harness/guest-init.sh $BOOT_ARGS"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$RUN,mount_tag=vmresults,security_model=none,multidevs=remap"
)

START=$(date +%s)
set +e
if [ "${VM_VERBOSE:-0}" = 1 ]; then
	timeout -k 10 "$VM_TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" </dev/null 2>&1 | tee "$CONSOLE"
	QEMU_RC=${PIPESTATUS[0]}
else
	timeout -k 10 "$VM_TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" </dev/null >"$CONSOLE" 2>&1
	QEMU_RC=$?
fi
set -e
ELAPSED=$(($(date +%s) - START))

# --- results -------------------------------------------------------------------------

console_tail() {
	local last
	echo "----- last 60 lines of the serial console ($CONSOLE) -----"
	tail -n 60 "$CONSOLE" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b.//g'
	last=$(grep '^RUNNING ' "$RUN/results" | tail -n 1 | cut -d' ' -f2)
	if [ -n "$last" ] && [ -f "$RUN/logs/$last.log" ]; then
		echo "----- last 40 lines of the unfinished scenario's log ($RUN/logs/$last.log) -----"
		tail -n 40 "$RUN/logs/$last.log"
	fi
	echo "-----"
}

if ! grep -q '^BOOT ' "$RUN/results"; then
	if [ "$QEMU_RC" = 124 ]; then why="timed out after ${VM_TIMEOUT}s"; else why="qemu exited with $QEMU_RC"; fi
	echo "vm: THE VM DID NOT BOOT ($why)" >&2
	console_tail >&2
	exit 1
fi

grep -E '^(SCENARIO|METRIC|BOOT) ' "$RUN/results" | sed 's/^/  /'
PASSED=$(grep -c '^SCENARIO [^ ]* PASS' "$RUN/results" || true)
FAILED=$(grep -c '^SCENARIO [^ ]* FAIL' "$RUN/results" || true)
STATUS=0
if ! grep -q '^DONE' "$RUN/results"; then
	if [ "$QEMU_RC" = 124 ]; then why="timed out after ${VM_TIMEOUT}s"; else why="qemu exited with $QEMU_RC"; fi
	echo "vm: the VM stopped before finishing the scenarios ($why)" >&2
	console_tail >&2
	STATUS=1
fi
echo "vm: $PASSED passed, $FAILED failed in ${ELAPSED}s (logs: $RUN/logs)"
if [ "$FAILED" -gt 0 ] || [ "$PASSED" -eq 0 ]; then STATUS=1; fi
exit $STATUS
