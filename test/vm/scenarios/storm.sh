#!/bin/bash
# Storms on a real kernel: 32 paths (8 maps x 4) fail together and come back. With the
# default netlink buffer (16 MiB) nothing may be lost: each path's PathFailed then
# PathReinstated, by path, and no Resynchronized. Round 2 restarts the service with a
# 64 KiB receive buffer and stops it (SIGSTOP) while the paths flap: a real overflow (224
# uevents into 64 KiB), the one place a Resynchronized("overflow") must follow; the state
# then equals multipathd's and device-mapper's. 190 s on a 2.4x slower day (node start
# 2.6 s; ~57 s of it udev's work on 32 disks); a 3x day needs ~250 s with the restart.
# The budget must stay in the first 10 lines (run.sh reads only those).
# vm-budget: 600
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=storm
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1

CONF=$(printf 'refresh_interval = 0\nhistory_size = 65536')
vm_service_up "$S.setup" 8 4 "$CONF" \
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

# The paths that have no PathFailed followed by a PathReinstated after line $1 of the
# signal log, by the path object each signal names (one awk for all: a poll under TCG).
paths_missing() {
	tail -n +"$(($1 + 1))" "$SIG" | awk -v devs="$DEVS" -v q="'" '
		/Map\.Path(Failed|Reinstated) \(objectpath / {
			i = index($0, "/paths/"); if (!i) next
			p = substr($0, i + 7); p = substr(p, 1, index(p, q) - 1)
			if ($0 ~ /Map\.PathFailed /) failed[p] = 1; else if (p in failed) back[p] = 1
		}
		END { n = split(devs, d, /[ \n]+/); for (i = 1; i <= n; i++) if (d[i] != "" && !(d[i] in back)) out = out " " d[i]; print substr(out, 2) }'
}
count() { tail -n +"$(($1 + 1))" "$SIG" | grep -c "Map.$2 (" ; }
resyncs() { tail -n +"$(($1 + 1))" "$SIG" | grep -c 'Manager.Resynchronized' || true; }

# Round 1: all fail together, then come back; the service keeps reading, its buffer the default.
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
for d in $DEVS; do echo "fail path $d"; done | vm_mpd >/dev/null
vm_wait 60 converged failed >/dev/null
for d in $DEVS; do echo "reinstate path $d"; done | vm_mpd >/dev/null
vm_wait 60 converged active >/dev/null
# The state has converged; the signals reach gdbus a moment later.
all_delivered() { [ -z "$(paths_missing "$n")" ]; }
vm_wait 30 all_delivered
missing=$(paths_missing "$n"); f=$(count "$n" PathFailed); r=$(count "$n" PathReinstated); resync=$(resyncs "$n")
vm_metric storm_round_trip_s "$(((($(vm_now_ms) - t0)) / 1000))" s
detail="$NDEV paths: $f PathFailed, $r PathReinstated, $resync Resynchronized"
if ! out=$(converged active); then
	vm_fail "$S.all-paths" "$detail; ${out:-not converged}"
elif [ -n "$missing" ]; then
	vm_fail "$S.all-paths" "$detail; no PathFailed then PathReinstated for: $missing"
elif [ "$resync" -ne 0 ]; then
	vm_fail "$S.all-paths" "$detail; a Resynchronized with nothing lost: $(tail -n +"$((n + 1))" "$SIG" | grep -m2 'Manager.Resynchronized' | tr '\n' '|')"
else
	vm_pass "$S.all-paths" "$detail, every path failed and reinstated by name; $out"
fi

# Round 2: the service, restarted with a 64 KiB receive buffer, cannot read (stopped)
# while every path flaps three times.
vm_stop_service
vm_service_conf "$(printf '%s\nnetlink_buffer = 64K' "$CONF")"
vm_start_service || { vm_fail "$S.overflow" "the service did not start again: $(tail -n 5 "$VM_LOGS/$S.service.log" | tr '\n' '|')"; exit 1; }
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
