#!/bin/bash
# Storms on a real kernel: 32 paths (8 maps x 4) fail together and come back. Every
# transition is delivered, or — where the kernel's netlink buffer overflowed — a
# Resynchronized follows; either way the published state ends equal to multipathd's
# and device-mapper's. The second round starves the service (SIGSTOP) with a small
# receive buffer while the paths flap, to force a real overflow (224 uevents into 64 KiB).
# Sized to take about a quarter of its budget (udev's work per disk dominates the setup),
# so that a day three times slower still passes.
# vm-budget: 240
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=storm
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1

vm_service_up "$S.setup" 8 4 "$(printf 'refresh_interval = 0\nnetlink_buffer = 64K\nhistory_size = 65536')" \
	add_host=4 vpd_use_hostno=0 max_luns=8 || exit 1
SIG=$VM_SIGNALS
DEVS=$(multipathd show paths raw format '%d' | sort)
NDEV=$(echo "$DEVS" | wc -l)

# Published path states equal multipathd's and the kernel's (all maps, all paths). One
# node process a poll (each costs a second under TCG): the published state is read with
# busctl, not with our CLI (the service scenario proves `show --json`).
converged() { # expected state: active|failed
	multipathd show maps json >/tmp/mpd.json
	dmsetup status --target multipath >/tmp/dm-status
	busctl --system --json=short call "$B" "$R" org.freedesktop.DBus.ObjectManager GetManagedObjects >/tmp/pub.json 2>/dev/null || return 1
	node -e '
	  const fs = require("fs");
	  const mpd = JSON.parse(fs.readFileSync("/tmp/mpd.json", "utf8"));
	  const objects = JSON.parse(fs.readFileSync("/tmp/pub.json", "utf8")).data[0];
	  const dm = fs.readFileSync("/tmp/dm-status", "utf8");
	  const want = process.argv[1];
	  const state = new Map(Object.values(objects).flatMap((i) => {
	    const p = i["org.kernel.linux.storage.multipath1.Path"];
	    return p ? [[p.Device.data, { DmState: p.DmState.data }]] : [];
	  }));
	  let n = 0;
	  for (const m of mpd.maps) for (const g of m.path_groups) for (const p of g.paths) {
	    const q = state.get(p.dev); n++;
	    const k = new RegExp(`${p.dev_t} ([AF])`).exec(dm)?.[1];
	    if (!q || q.DmState !== want || p.dm_st !== want || (k === "A") !== (want === "active")) { console.log(`${p.dev}: published ${q?.DmState} multipathd ${p.dm_st} dm ${k}`); process.exit(1); }
	  }
	  console.log(`${n} paths ${want} in multipathd, device-mapper and on D-Bus`);
	' "$1"
}

count() { tail -n +"$(($1 + 1))" "$SIG" | grep -c "Map.$2 (" ; }

# Round 1: all 64 fail together, then come back; the service keeps reading.
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
for d in $DEVS; do echo "fail path $d"; done | vm_mpd >/dev/null
vm_wait 60 converged failed >/dev/null
for d in $DEVS; do echo "reinstate path $d"; done | vm_mpd >/dev/null
vm_wait 60 converged active >/dev/null
resyncs() { tail -n +"$((n + 1))" "$SIG" | grep -c 'Manager.Resynchronized' || true; }
# The state has converged; the signals reach gdbus a moment later.
delivered() { [ "$(count "$n" PathFailed)" -ge "$NDEV" ] && [ "$(count "$n" PathReinstated)" -ge "$NDEV" ] || [ "$(resyncs)" -gt 0 ]; }
vm_wait 30 delivered
f=$(count "$n" PathFailed); r=$(count "$n" PathReinstated); resync=$(resyncs)
vm_metric storm_round_trip_s "$(((($(vm_now_ms) - t0)) / 1000))" s
if out=$(converged active) && { [ "$f" -ge "$NDEV" ] && [ "$r" -ge "$NDEV" ] || [ "$resync" -gt 0 ]; }; then
	vm_pass "$S.all-paths" "$NDEV paths: $f PathFailed, $r PathReinstated, $resync Resynchronized; $out"
else
	vm_fail "$S.all-paths" "$NDEV paths: $f PathFailed, $r PathReinstated, $resync Resynchronized; ${out:-not converged}"
fi

# Round 2: the service cannot read (stopped) while every path flaps three times.
n=$(vm_lines "$SIG")
kill -STOP "$VM_SERVICE_PID"
for round in 1 2 3; do
	for d in $DEVS; do echo "fail path $d"; done
	for d in $DEVS; do echo "reinstate path $d"; done
done | vm_mpd >/dev/null
for d in $DEVS; do echo "fail path $d"; done | vm_mpd >/dev/null
kill -CONT "$VM_SERVICE_PID"
if vm_wait_line "$SIG" "Manager.Resynchronized \('[^']*overflow" 60 "$n" >/dev/null; then
	if vm_wait 60 converged failed >/dev/null; then
		vm_pass "$S.overflow" "netlink overflowed while stopped: Resynchronized(overflow), then $(converged failed)"
	else
		vm_fail "$S.overflow" "Resynchronized but not converged: $(converged failed)"
	fi
else
	vm_fail "$S.overflow" "no Resynchronized(overflow); $(grep -c . "$VM_LOGS/$S.service.log") log lines: $(grep -i overflow "$VM_LOGS/$S.service.log" | head -2 | tr '\n' '|')"
fi
kill -0 "$VM_SERVICE_PID" && vm_pass "$S.still-up" "the service is still running" || vm_fail "$S.still-up" "the service died"
for d in $DEVS; do echo "reinstate path $d"; done | vm_mpd >/dev/null
vm_wait 60 converged active >/dev/null
vm_stop_service
