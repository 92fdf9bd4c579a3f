#!/bin/bash
# The uevent socket fails on a real kernel. The service is wired as `serve` wires it, with
# one difference at its openMonitor seam: SIGUSR2 makes the wrapper report a receive
# error exactly as the addon reports one, and while $HOLD exists reopening fails (EMFILE).
# Everything else is real: the netlink socket that is closed and reopened, dm-multipath,
# multipathd, the system bus. A path fails during the outage, unseen; the re-read after
# the reopen must find it, and the reopened socket must carry the kernel's next event.
# device-mapper's own event counter is not watched here (the service would see the failure
# through it at once, test/vm/scenarios/dm-watch.sh): what is proven is the repair by the
# re-read, for when neither route told the service.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=uevent-reopen
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1
HOLD=/tmp/hold-uevents
LOG=$VM_LOGS/$VM_SCENARIO.service.log

kernel_events() { busctl --system get-property "$B" "$R" "$B.Manager" KernelEventsAvailable 2>&1; }

vm_multipath_up 2 2 add_host=2 vpd_use_hostno=0 max_luns=2 || { vm_fail "$S.setup" "multipathd did not build 2 maps x 2 paths"; exit 1; }
vm_start_system_bus || { vm_fail "$S.setup" "no system dbus-daemon"; exit 1; }
SIG=$(vm_watch_signals)
HOLD=$HOLD node -e '
  const dist = process.env.VM_REPO + "/dist/";
  const fs = require("fs");
  const { connectBus } = require(dist + "frontends/dbus/bus/connection");
  const { DEFAULT_CONFIG } = require(dist + "config/config-file");
  const { kernelDm } = require(dist + "sources/device-mapper/reader");
  const { MultipathdClient } = require(dist + "sources/multipathd/client");
  const { NativeError, openUeventMonitor } = require(dist + "native/addon");
  const { MultipathService } = require(dist + "cli/service");
  const { createLogger } = require(dist + "util/log");
  const log = createLogger("debug");
  let handlers;
  const openMonitor = (options, h) => {
    if (fs.existsSync(process.env.HOLD)) throw new NativeError("socket NETLINK_KOBJECT_UEVENT: Too many open files (held by the scenario)", 24, "EMFILE", "socket");
    const monitor = openUeventMonitor(options, h);
    handlers = h;
    return monitor;
  };
  process.on("SIGUSR2", () => handlers.onError(new NativeError("recvmsg NETLINK_KOBJECT_UEVENT: Input/output error (injected by the scenario)", 5, "EIO", "recvmsg")));
  connectBus("system").then(async (bus) => {
    const dm = { dmListDevices: () => kernelDm.dmListDevices(), dmTableStatus: (name, table) => kernelDm.dmTableStatus(name, table) };
    const service = new MultipathService({ bus, config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, kernelPollInterval: 0 }, log, multipathd: new MultipathdClient({ warn: (m) => log.warning(m) }), dm, openMonitor });
    process.on("SIGTERM", () => service.stop().then(() => process.exit(0)));
    await service.start();
  });
' >>"$LOG" 2>&1 &
PID=$!
vm_wait 90 vm_name_owned || { vm_fail "$S.setup" "service did not start: $(tail -n 5 "$LOG" | tr '\n' '|')"; exit 1; }
[ "$(kernel_events)" = "b true" ] || { vm_fail "$S.setup" "KernelEventsAvailable $(kernel_events) at start"; exit 1; }

# 1. The socket fails: KernelEventsAvailable false at once, on the bus.
touch "$HOLD"
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
kill -USR2 "$PID"
if line=$(vm_wait_line "$SIG" "'KernelEventsAvailable': <false>" 20 "$n") && [ "$(kernel_events)" = "b false" ]; then
	vm_metric uevent_failure_to_published_ms $((${line%% *} - t0)) ms
	vm_pass "$S.published" "KernelEventsAvailable false $((${line%% *} - t0)) ms after the failure"
else
	vm_fail "$S.published" "KernelEventsAvailable $(kernel_events); signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

# 2. A path fails while nobody listens, and stays failed (its device is offline);
#    reopening fails at least once more meanwhile.
SDA=$(vm_dev_t sda)
MAP=$(multipathd show paths raw format '%d %m' | awk '$1 == "sda" { print $2 }')
n=$(vm_lines "$SIG")
echo offline >/sys/block/sda/device/state
dmsetup message "$MAP" 0 fail_path "$SDA"
vm_wait 30 grep -q 'kernel uevent socket still failing' "$LOG" || vm_log "no failed reopen logged"
missed=$(tail -n +"$((n + 1))" "$SIG" | grep -c "PathFailed (objectpath '$R/paths/sda'" || true)

# 3. Reopening works again: the re-read finds the failure, then Resynchronized.
t1=$(vm_now_ms)
rm -f "$HOLD"
if line=$(vm_wait_line "$SIG" "Manager.Resynchronized \('uevent-reopened'" 60 "$n"); then
	found=$(tail -n +"$((n + 1))" "$SIG" | grep -c "PathFailed (objectpath '$R/paths/sda'" || true)
	st=$(busctl --system get-property "$B" "$R/paths/sda" "$B.Path" DmState 2>&1)
	vm_metric uevent_hold_released_to_resynchronized_ms $((${line%% *} - t1)) ms
	if [ "$missed" = 0 ] && [ "$found" = 1 ] && [ "$st" = 's "failed"' ] && [ "$(kernel_events)" = "b true" ]; then
		vm_pass "$S.resynchronized" "${line#* }; the path failed during the outage was found by the re-read (DmState $st)"
	else
		vm_fail "$S.resynchronized" "PathFailed for sda: $missed during the outage, $found in all; DmState $st; KernelEventsAvailable $(kernel_events)"
	fi
else
	vm_fail "$S.resynchronized" "no Resynchronized(uevent-reopened) within 60 s; log: $(tail -n 5 "$LOG" | tr '\n' '|')"
fi

# 4. The reopened socket is the kernel's: multipathd's checker reinstates the path.
n=$(vm_lines "$SIG")
echo running >/sys/block/sda/device/state
if line=$(vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$R/paths/sda'" 60 "$n"); then
	vm_pass "$S.events-flow" "${line#* }"
else
	vm_fail "$S.events-flow" "no PathReinstated for sda within 60 s; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

kill "$PID"
vm_wait 30 vm_not_running "$PID"
