#!/bin/bash
# Native NVMe multipath on a real kernel, read by src/sources/nvme (reader and silent-state poll) on
# the real /sys: an NVMe/TCP target on 127.0.0.1 (nvmet, null_blk) with two ports reporting
# different ANA states for the namespace's group, the host connected through both (nvme-cli).
# Coldplug reads one namespace with two paths; what changes with no uevent (a port's ANA
# state, a controller leaving live and coming back) is seen by the 1 s poll; nvme disconnect
# removes the paths.
# vm-budget: 180
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"
# shellcheck source=../nvme-lib.sh
. "$VM_REPO/test/vm/nvme-lib.sh"

S=nvme-kernel
WATCH=$VM_LOGS/$S.watch.log

if ! command -v nvme >/dev/null; then
	vm_fail "$S.setup" "nvme-cli not installed on the host (apt-get install nvme-cli)"
	exit 1
fi
if [ ! -f "$VM_REPO/dist/sources/nvme/silent-poll.js" ]; then
	vm_fail "$S.setup" "not built: $VM_REPO/dist/sources/nvme (npx tsc -p tsconfig.json)"
	exit 1
fi
trap nvme_down EXIT
if ! nvme_target_up optimized non-optimized; then
	vm_fail "$S.setup" "the NVMe/TCP target could not be set up (see the log)"
	exit 1
fi
if ! nvme_connect_both; then
	vm_fail "$S.setup" "nvme connect through both ports did not give two paths"
	exit 1
fi
nvme_sysfs_dump >"$VM_LOGS/$S.sysfs.txt" 2>&1

# The kernel's uevents for NVMe devices while the watcher runs: the silent changes have none.
stdbuf -oL udevadm monitor --kernel --subsystem-match=nvme --subsystem-match=block >"$VM_LOGS/$S.uevents.log" 2>&1 &
vm_listening "$VM_LOGS/$S.uevents.log" 'KERNEL' 30
node "$VM_REPO/test/vm/nvme-watch.js" "$VM_REPO/dist" >"$WATCH" 2>&1 &
vm_listening "$WATCH" ' LISTENING$' 60 || { vm_fail "$S.coldplug" "the watcher did not start: $(tail -n 3 "$WATCH" | tr '\n' '|')"; exit 1; }

uevents() { grep -c '^KERNEL\[' "$VM_LOGS/$S.uevents.log"; }
path1=nvme0c0n1 path2=nvme0c1n1 # connected through port 1 (nvme0) and port 2 (nvme1)

read_line=$(grep -m1 ' READ ' "$WATCH")
if [[ $read_line =~ multipath=Y\ subsystems=1\ nvme-subsys0\ $NVME_NQN\ nvme0n1\[$path1:nvme0:live:optimized:2\ $path2:nvme1:live:non-optimized:2\]\ problems=0$ ]]; then
	vm_pass "$S.coldplug" "${read_line#* READ }"
else
	vm_fail "$S.coldplug" "expected one namespace, 2 live paths optimized/non-optimized in group 2: ${read_line:-no reading}"
fi

# until_change ERE SECONDS COMMAND...: the watcher's first matching line after COMMAND, and its delay
until_change() { vm_after "$WATCH" "$@"; }

before=$(uevents)
if seen=$(until_change "CHANGE ana-state $path2 non-optimized inaccessible" 15 nvme_port_ana 2 inaccessible); then
	ms=${seen%% *}
	vm_metric nvme_ana_change_to_poll_ms "$ms" ms
	vm_result "$S.ana-inaccessible" "$([ "$ms" -le 3000 ] && echo PASS || echo FAIL)" \
		"${seen#* } after ${ms} ms (within 3000), $(($(uevents) - before)) kernel uevents meanwhile"
else
	vm_fail "$S.ana-inaccessible" "port 2 inaccessible not seen by the poll within 15 s"
fi
if seen=$(until_change "CHANGE ana-state $path2 inaccessible non-optimized" 15 nvme_port_ana 2 non-optimized); then
	vm_pass "$S.ana-back" "${seen#* } after ${seen%% *} ms"
else
	vm_fail "$S.ana-back" "port 2 non-optimized again not seen within 15 s"
fi

# Port 1 stops exporting the subsystem: nvmet deletes its controller, the host's nvme0 recovers
# (resetting, connecting) and retries every 10 s (reconnect_delay) against a closed port.
if seen=$(until_change "CHANGE controller-state nvme0 live " 30 nvme_port_unlink 1); then
	vm_pass "$S.controller-leaves-live" "${seen#* } after ${seen%% *} ms"
else
	vm_fail "$S.controller-leaves-live" "nvme0 still live 30 s after port 1 was unlinked: $(cat /sys/class/nvme/nvme0/state)"
fi
if seen=$(until_change "CHANGE controller-state nvme0 [^ ]+ live$" 45 nvme_port_link 1); then
	vm_metric nvme_relink_to_live_ms "${seen%% *}" ms
	vm_pass "$S.controller-back-live" "${seen#* } after ${seen%% *} ms (reconnect_delay 10 s)"
else
	vm_fail "$S.controller-back-live" "nvme0 not live 45 s after port 1 was linked again: $(cat /sys/class/nvme/nvme0/state)"
fi

if seen=$(until_change " READ multipath=Y subsystems=0 problems=0$" 30 nvme disconnect -n "$NVME_NQN"); then
	vm_pass "$S.disconnect" "$(grep -c ' GONE ' "$WATCH") devices gone, then ${seen#* } after ${seen%% *} ms"
else
	vm_fail "$S.disconnect" "no empty reading 30 s after nvme disconnect: $(tail -n 3 "$WATCH" | tr '\n' '|')"
fi
vm_log "watcher: $(wc -l <"$WATCH") lines; uevents: $(uevents)"
