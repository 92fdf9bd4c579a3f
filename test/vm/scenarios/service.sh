#!/bin/bash
# The service as it runs on a server: a real system dbus-daemon with our policy, the
# config file enabled, multipathd over scsi_debug on dm-multipath — judged by independent
# clients (gdbus monitor, busctl) against multipathd's and device-mapper's own view.
# vm-budget: 360
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=service
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1
CLI="node $VM_REPO/bin/multipath-dbus"

prop() { busctl --system get-property "$B" "$1" "$B.$2" "$3" 2>&1; }
path_obj() { echo "$R/paths/$1"; }
map_obj() { echo "$R/maps/$(node -e 'process.stdout.write(require(process.argv[1]).escapePathElement(process.argv[2]))' "$VM_REPO/dist/frontends/dbus/api.js" "$1")"; }

vm_service_up "$S.setup" 2 2 "refresh_interval = 30" add_host=2 vpd_use_hostno=0 max_luns=2 || exit 1
SIG=$VM_SIGNALS

# 1. Coldplug: what the service publishes equals multipathd's and the kernel's view.
if out=$(node "$VM_REPO/test/vm/coldplug.js" 2 2>&1); then
	vm_pass "$S.coldplug" "$out"
else
	vm_fail "$S.coldplug" "$out"
fi

# Which disks multipathd put in mpatha is not fixed (udev's order): read it off the kernel.
MPATHA_DM=$(basename "$(readlink -f /dev/mapper/mpatha)")
read -r A1 A2 _ < <(ls "/sys/block/$MPATHA_DM/slaves" | sort | tr '\n' ' ')
MAPA=$(map_obj "$(dmsetup info -c --noheadings -o uuid mpatha | sed 's/^mpath-//')")
SDA=$(vm_dev_t "$A1")

# 2. multipathd fail path / reinstate path -> PathFailed / PathReinstated.
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
vm_mpd "fail path $A1" >/dev/null
SEQ=
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj $A1)', '$SDA', uint32 1, uint32 [0-9]+, uint64 [0-9]+\)" 20 "$n"); then
	vm_metric fail_path_to_signal_ms $((${line%% *} - t0)) ms
	SEQ=$(echo "$line" | sed -E 's/.*uint32 ([0-9]+), uint64.*/\1/')
	st=$(prop "$(path_obj $A1)" Path DmState)
	if [ "$st" = 's "failed"' ]; then vm_pass "$S.fail-path" "${line#* }"; else vm_fail "$S.fail-path" "signal ok but DmState $st"; fi
else
	vm_fail "$S.fail-path" "no PathFailed for $A1; signals: $(tail -n 5 "$SIG" | tr '\n' '|')"
fi
n=$(vm_lines "$SIG")
vm_mpd "reinstate path $A1" >/dev/null
# dm-mpath numbers each map's uevents: the reinstate is the fail's DM_SEQNUM + 1.
if line=$(vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$(path_obj $A1)', '$SDA', uint32 2, uint32 $((${SEQ:-0} + 1)), " 20 "$n"); then
	vm_pass "$S.reinstate-path" "${line#* }"
else
	vm_fail "$S.reinstate-path" "no PathReinstated for $A1 with 2 valid paths and seqnum $((${SEQ:-0} + 1)); signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

# 3. Checker-driven: an offline SCSI device fails within the checker interval.
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
echo offline >/sys/block/$A2/device/state
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj $A2)'" 30 "$n"); then
	vm_metric offline_to_signal_ms $((${line%% *} - t0)) ms
	vm_pass "$S.checker-offline" "${line#* }"
else
	vm_fail "$S.checker-offline" "no PathFailed for $A2 within 30 s"
fi
n=$(vm_lines "$SIG")
echo running >/sys/block/$A2/device/state
if vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$(path_obj $A2)'" 30 "$n" >/dev/null; then
	vm_pass "$S.checker-running" "$A2 reinstated by the checker"
else
	vm_fail "$S.checker-running" "no PathReinstated for $A2 within 30 s"
fi

# 4. All paths of mpatha fail -> Failed, Health failed; one returns -> Restored.
n=$(vm_lines "$SIG")
vm_mpd "fail path $A1" "fail path $A2" >/dev/null
if vm_wait_line "$SIG" "$MAPA: $B.Map.Failed \(uint64" 20 "$n" >/dev/null; then
	mh=$(prop "$MAPA" Map Health); gh=$(prop "$R" Manager Health)
	if [ "$mh" = 's "failed"' ] && [ "$gh" = 's "failed"' ]; then vm_pass "$S.map-failed" "Failed; map and manager Health failed"; else vm_fail "$S.map-failed" "Health map $mh manager $gh"; fi
else
	vm_fail "$S.map-failed" "no Failed signal"
fi
n=$(vm_lines "$SIG")
vm_mpd "reinstate path $A1" >/dev/null
if vm_wait_line "$SIG" "$MAPA: $B.Map.Restored \(uint64" 20 "$n" >/dev/null; then
	vm_pass "$S.map-restored" "Restored; Health $(prop "$MAPA" Map Health)"
else
	vm_fail "$S.map-restored" "no Restored signal"
fi
vm_mpd "reinstate path $A2" >/dev/null

# 5. del map / add map -> InterfacesRemoved / InterfacesAdded.
MAPB=$(map_obj "$(dmsetup info -c --noheadings -o uuid mpathb | sed 's/^mpath-//')")
n=$(vm_lines "$SIG")
vm_mpd "del map mpathb" >/dev/null
if vm_wait_line "$SIG" "ObjectManager.InterfacesRemoved \(objectpath '$MAPB'" 20 "$n" >/dev/null; then
	vm_pass "$S.del-map" "InterfacesRemoved for mpathb"
else
	vm_fail "$S.del-map" "no InterfacesRemoved for $MAPB"
fi
n=$(vm_lines "$SIG")
vm_mpd "add map mpathb" >/dev/null
if vm_wait_line "$SIG" "ObjectManager.InterfacesAdded \(objectpath '$MAPB'" 30 "$n" >/dev/null; then
	vm_pass "$S.add-map" "InterfacesAdded for mpathb"
else
	vm_fail "$S.add-map" "no InterfacesAdded for $MAPB"
fi

# 9. snapshot and events against the real kernel.
if $CLI snapshot --json >/tmp/snap.json 2>/tmp/snap.err && node -e '
  const s = require("/tmp/snap.json"); const m = JSON.parse(require("fs").readFileSync("/tmp/mpd2.json", "utf8"));
  process.exit(s.length === m.maps.length && s.every((x) => m.maps.some((y) => y.uuid === x.Wwid && y.name === x.Name)) ? 0 : 1)' 2>/dev/null < <(multipathd show maps json >/tmp/mpd2.json); then
	vm_pass "$S.snapshot" "$(node -e 'console.log(require("/tmp/snap.json").map((m) => `${m.Name}:${m.ValidPaths}/${m.NumPaths}`).join(" "))')"
else
	vm_fail "$S.snapshot" "snapshot differs from multipathd: $(head -c 300 /tmp/snap.json) $(cat /tmp/snap.err)"
fi
$CLI events --json >/tmp/events.out 2>&1 &
EV=$!
vm_listening /tmp/events.out 'listening for multipath uevents'
vm_mpd "fail path sdb" >/dev/null
vm_wait 15 grep -q '"type":"PathFailed"' /tmp/events.out
kill -INT $EV; wait $EV; evrc=$?
if grep -q "\"pathDevT\":\"$(vm_dev_t sdb)\"" /tmp/events.out && [ $evrc = 0 ]; then
	vm_pass "$S.events" "$(grep -m1 PathFailed /tmp/events.out | cut -c1-160)"
else
	vm_fail "$S.events" "rc $evrc: $(head -c 300 /tmp/events.out)"
fi
vm_mpd "reinstate path sdb" >/dev/null

# 6. multipathd killed: maps stay, kernel events still signal; back: Resynchronized.
vm_stop_multipathd
busctl --system call "$B" "$R" "$B.Manager" Refresh >/dev/null 2>&1
av=$(prop "$R" Manager MultipathdAvailable); maps=$(prop "$R" Manager Maps)
n=$(vm_lines "$SIG"); t0=$(vm_now_ms)
dmsetup message mpatha 0 fail_path "$SDA"
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj $A1)'" 20 "$n") && [ "$av" = "b false" ] && [[ $maps == "ao 2 "* ]]; then
	vm_metric dmsetup_fail_path_to_signal_ms $((${line%% *} - t0)) ms
	vm_pass "$S.multipathd-down" "MultipathdAvailable false, $maps, PathFailed from the kernel alone"
else
	vm_fail "$S.multipathd-down" "available=$av maps=$maps signal=${line:-none}"
fi
dmsetup message mpatha 0 reinstate_path "$SDA"
n=$(vm_lines "$SIG")
vm_start_multipathd
vm_wait_maps 2 2 60
busctl --system call "$B" "$R" "$B.Manager" Refresh >/dev/null 2>&1
if vm_wait_line "$SIG" "Manager.Resynchronized \('[^']*multipathd-restart" 30 "$n" >/dev/null && [ "$(prop "$R" Manager MultipathdAvailable)" = "b true" ]; then
	vm_pass "$S.multipathd-back" "MultipathdAvailable true, Resynchronized"
else
	vm_fail "$S.multipathd-back" "available=$(prop "$R" Manager MultipathdAvailable); $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

# 8. Policy on the real system bus, as uid 65534.
r1=$(vm_as_nobody busctl --system get-property "$B" "$R" "$B.Manager" Health 2>&1)
r2=$(vm_as_nobody busctl --system call "$B" "$R" org.freedesktop.DBus.ObjectManager GetManagedObjects 2>&1 | head -c 40)
r3=$(vm_as_nobody busctl --system set-property "$B" "$R" "$B.Manager" Health s optimal 2>&1)
# gdbus, not our client: uid 65534 may not reach the checkout (a root-only clone).
r4=$(vm_as_nobody gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
	--method org.freedesktop.DBus.RequestName "$B" 4 2>&1)
if [[ $r1 == 's "'* ]] && [[ $r2 == "a{oa{sa{sv}}}"* ]] && [[ $r3 == *"ccess denied"* ]] && [[ $r4 == *AccessDenied* ]]; then
	vm_pass "$S.policy" "nobody reads ($r1), cannot Set, cannot own the name"
else
	vm_fail "$S.policy" "get=$r1 | gmo=$r2 | set=$r3 | own=$r4"
fi

vm_stop_service
