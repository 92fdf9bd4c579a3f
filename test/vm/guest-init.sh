#!/bin/bash
# PID 1 inside the VM, after the initramfs switched to the overlay on the host's root.
# Mounts the rest of a normal system, runs each scenario in turn (own log, own time
# limit, a clean kernel state between them), records a result for every scenario even
# when it dies, then powers off. /vmtest is the writable share run.sh reads.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
# devtmpfs lacks the links systemd would make; bash's <(...) needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
# Each only if not mounted yet: in a systemd boot (test/vm/systemd/) PID 1 did it all.
mountpoint -q /dev/pts || mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# A fresh /run: the host's pid files and sockets must not leak in.
mountpoint -q /run || mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lock
hostname vmtest

export VM_RESULTS=/vmtest/results VM_LOGS=/vmtest/logs VM_LIB=/vmtest/harness/lib.sh
# shellcheck source=lib.sh
. "$VM_LIB"
# shellcheck disable=SC1091
. /vmtest/job.sh
export VM_REPO
# A fresh /tmp, unless the checkout itself lives there (CI may clone into /tmp): the
# overlay's upper layer is tmpfs anyway, so nothing written reaches the host.
case "$VM_REPO" in
/tmp/*) ;;
*) mount -t tmpfs -o mode=1777 tmpfs /tmp ;;
esac

read -r uptime _ </proc/uptime
echo "BOOT ${uptime} s (kernel $(uname -r), $(nproc) cpus)" >>"$VM_RESULTS"
vm_metric boot_to_init "$uptime" s
# Today's speed, to read every time below against: ~1.1 s on this project's machine kind.
start=$EPOCHREALTIME
node -e 0
vm_metric node_start "$(vm_elapsed_s "$start")" "s (usually ~1.1 s)"

for i in "${!VM_SCENARIOS[@]}"; do
	scenario=${VM_SCENARIOS[$i]}
	budget=${VM_BUDGETS[$i]:-$VM_SCENARIO_TIMEOUT}
	name=$(basename "$scenario" .sh)
	export VM_SCENARIO=$name
	echo "=== scenario $name ===" >/dev/console
	echo "RUNNING $name" >>"$VM_RESULTS"
	before=$(grep -c '^SCENARIO ' "$VM_RESULTS")
	failed_before=$(grep -c '^SCENARIO [^ ]* FAIL' "$VM_RESULTS")
	start=$EPOCHREALTIME
	# Straight to the shared log, no pipe: a background process the scenario leaves
	# behind would hold a pipe open and hang us. Its own session, so the timeout ends
	# it; whatever it started is ended by vm_teardown below.
	(cd /tmp && timeout -k 5 "$budget" setsid bash "$scenario") >"$VM_LOGS/$name.log" 2>&1 </dev/null
	rc=$?
	cat "$VM_LOGS/$name.log" >/dev/console
	seconds=$(vm_elapsed_s "$start")
	after=$(grep -c '^SCENARIO ' "$VM_RESULTS")
	failed_after=$(grep -c '^SCENARIO [^ ]* FAIL' "$VM_RESULTS")
	if [ "$rc" = 124 ]; then
		vm_fail "$name" "timed out: over its budget of ${budget}s (log: logs/$name.log)"
	elif [ "$rc" != 0 ] && [ "$failed_after" = "$failed_before" ]; then
		vm_fail "$name" "script exited with status $rc (log: logs/$name.log)"
	elif [ "$after" = "$before" ]; then
		vm_fail "$name" "script recorded no result (log: logs/$name.log)"
	fi
	share=$((10#${seconds/./} / budget)) # percent: seconds has two decimals
	note=
	[ "$share" -le 50 ] || note=", over half of it: drifting towards a time-out"
	vm_metric "scenario_${name}" "$seconds" "s of a ${budget} s budget (${share} %${note})"
	vm_teardown
done

echo DONE >>"$VM_RESULTS"
sync
vm_poweroff
