#!/bin/bash
# Changes to a multipath map that the kernel sends no path uevent for: a path group switched
# behind the service's back (`multipathd switchgroup`: dm-mpath's switch_group message,
# a table event only) and a failed path whose SCSI device is deleted (multipathd reloads
# the map without it). Both must reach clients within 2 s, from the service's watch of
# device-mapper's event counters, not at the safety-net read (refresh_interval = 60 here).
# The kernel's own account is recorded beside (`multipath-dbus events`), to tell which
# uevents came.
# vm-budget: 240
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=dm-watch
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1
CLI="node $VM_REPO/bin/multipath-dbus"
map_obj() { node -e 'process.stdout.write(require(process.argv[1]).mapObjectPath(process.argv[2]))' "$VM_REPO/dist/frontends/dbus/api.js" "$1"; }
# dmsetup status: the group dm-mpath names next (the field after the group count).
next_group() { dmsetup status "$1" | awk '{ h = 5 + $4; g = h + 1 + $h; print $(g + 1) }'; }
event_nr() { dmsetup info -c --noheadings -o events "$1" | tr -d ' '; }

vm_service_up "$S.setup" 2 2 "refresh_interval = 60" add_host=2 vpd_use_hostno=0 max_luns=2 || exit 1
SIG=$VM_SIGNALS
EVENTS=$VM_LOGS/$S.uevents.log
stdbuf -oL $CLI events --json 2>&1 | while IFS= read -r line; do t=${EPOCHREALTIME/./}; echo "$((t / 1000)) $line"; done >>"$EVENTS" &
vm_listening "$EVENTS" 'listening for multipath uevents' || vm_fail "$S.setup" "multipath-dbus events did not start"
vm_log "service: $(grep -m1 'serving' "$VM_LOGS/$S.service.log")"

# 1. multipathd switchgroup: PolicyChanged(ActiveGroup) within 2 s, with no uevent for it.
MAPA=$(map_obj "$(dmsetup info -c --noheadings -o uuid mpatha | sed 's/^mpath-//')")
cur=$(next_group mpatha); to=$((cur == 1 ? 2 : 1)); ev0=$(event_nr mpatha)
n=$(vm_lines "$SIG"); e=$(vm_lines "$EVENTS"); t0=$(vm_now_ms)
r=$(vm_mpd "switchgroup map mpatha group $to"); done_ms=$(($(vm_now_ms) - t0))
if line=$(vm_wait_line "$SIG" "$MAPA: $B.Map.PolicyChanged \(\[.*'ActiveGroup'.*\]" 10 "$n"); then
	ms=$((${line%% *} - t0))
	vm_metric dm_watch_switchgroup_to_signal_ms "$ms" ms
	vm_result "$S.switchgroup" "$([ "$ms" -le 2000 ] && echo PASS || echo FAIL)" \
		"multipathd switchgroup $cur -> $to ('$r' after $done_ms ms; event_nr $ev0 -> $(event_nr mpatha), next group $(next_group mpatha)): PolicyChanged(ActiveGroup) after $ms ms (goal 2000); uevents for it: $(tail -n +"$((e + 1))" "$EVENTS" | wc -l)"
else
	vm_fail "$S.switchgroup" "reply '$r'; next group $(next_group mpatha); no PolicyChanged(ActiveGroup) within 10 s; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

# 2. A failed path's SCSI device deleted: multipathd reloads mpathb without it; its object goes within 2 s.
read -r B1 _ < <(ls "/sys/block/$(basename "$(readlink -f /dev/mapper/mpathb)")/slaves" | sort | tr '\n' ' ')
P=$R/paths/$B1
n=$(vm_lines "$SIG")
vm_mpd "fail path $B1" >/dev/null
vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$P'" 20 "$n" >/dev/null || vm_fail "$S.delete-failed-path" "no PathFailed for $B1 before the deletion"
ev0=$(event_nr mpathb); loads0=$(multipathd show maps raw format '%n %2' | awk '$1 == "mpathb" { print $2 }')
n=$(vm_lines "$SIG"); e=$(vm_lines "$EVENTS"); t0=$(vm_now_ms)
echo 1 >"/sys/block/$B1/device/delete"
if line=$(vm_wait_line "$SIG" "InterfacesRemoved \(objectpath '$P'" 10 "$n"); then
	ms=$((${line%% *} - t0))
	vm_metric dm_watch_delete_to_removed_ms "$ms" ms
	# What the kernel said meanwhile: a change event on the map (the reload's resume) or none.
	said=$(tail -n +"$((e + 1))" "$EVENTS" | cut -d' ' -f2- | cut -c1-160 | tr '\n' '|')
	vm_result "$S.delete-failed-path" "$([ "$ms" -le 2000 ] && echo PASS || echo FAIL)" \
		"$B1 deleted: its Path object removed after $ms ms (goal 2000); mpathb event_nr $ev0 -> $(event_nr mpathb), map loads $loads0 -> $(multipathd show maps raw format '%n %2' | awk '$1 == "mpathb" { print $2 }'); uevents: ${said:-none}"
else
	vm_fail "$S.delete-failed-path" "no InterfacesRemoved for $P within 10 s; dmsetup table: $(dmsetup table mpathb); signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi
