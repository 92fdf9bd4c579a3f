#!/bin/bash
# The management methods against real multipathd and dm-multipath, on a real system bus
# with a real polkitd: each method's effect as the kernel shows it (uevents, dmsetup), our
# signal, the published property right after the call, and who may call.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=manage
B=org.kernel.linux.storage.multipath1
R=/org/kernel/linux/storage/multipath1
CLI="node $VM_REPO/bin/multipath-dbus"

prop() { busctl --system get-property "$B" "$1" "$B.$2" "$3" 2>&1; }
call() { busctl --system call "$B" "$@" 2>&1; }
path_obj() { echo "$R/paths/$1"; }
map_obj() { node -e 'process.stdout.write(require(process.argv[1]).mapObjectPath(process.argv[2]))' "$VM_REPO/dist/frontends/dbus/api.js" "$1"; }
# dmsetup status: the group dm-mpath names next (the field after the group count).
next_group() { dmsetup status "$1" | awk '{ h = 5 + $4; g = h + 1 + $h; print $(g + 1) }'; }
ms_since() { echo $(($(vm_now_ms) - $1)); }

# Queueing configured, so that disabling and restoring it both show in the kernel's table.
vm_multipath_conf 'overrides {
	no_path_retry queue
}'
vm_service_up "$S.setup" 2 2 "refresh_interval = 30" add_host=2 vpd_use_hostno=0 max_luns=2 || exit 1
SIG=$VM_SIGNALS
EVENTS=$VM_LOGS/$S.uevents.log
# The kernel's own account, independent of the service: the addon's uevent reader, timestamped.
stdbuf -oL $CLI events --json 2>&1 | while IFS= read -r line; do t=${EPOCHREALTIME/./}; echo "$((t / 1000)) $line"; done >>"$EVENTS" &

# A real polkitd on this system bus: our actions, a rule granting uid 1 (daemon) and denying 65534.
cp "$VM_REPO/dbus/$B.policy" /usr/share/polkit-1/actions/
mkdir -p /etc/polkit-1/rules.d
cat >/etc/polkit-1/rules.d/10-vm-test.rules <<'EOF'
polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.kernel.linux.storage.multipath1.") !== 0) return undefined;
  if (subject.user === "daemon") return polkit.Result.YES;
  if (subject.user === "nobody") return polkit.Result.NO;
  return undefined;
});
EOF
/usr/lib/polkit-1/polkitd --no-debug >>"$VM_LOGS/$S.polkitd.log" 2>&1 &
POLKIT_PID=$!
vm_wait 30 vm_name_owned org.freedesktop.PolicyKit1 || vm_fail "$S.polkit" "polkitd did not own its name: $(tail -n 3 "$VM_LOGS/$S.polkitd.log" | tr '\n' '|')"
# Ready when it decides by our rules: uid 1 is granted the action for a process of its own.
vm_wait 30 setpriv --reuid=1 --regid=1 --clear-groups bash -c 'pkcheck --action-id org.kernel.linux.storage.multipath1.manage-paths --process $$' ||
	vm_fail "$S.polkit" "polkitd did not grant uid 1 by the test's rule"

MAPA=$(map_obj 1Linux_scsi_debug_2000)
SDA=$(vm_dev_t sda)

# 1. Path.Fail: the kernel's PATH_FAILED, then PathFailed, and DmState reads failed on return.
n=$(vm_lines "$SIG"); e=$(vm_lines "$EVENTS"); t0=$(vm_now_ms)
r=$(call "$(path_obj sda)" "$B.Path" Fail a{sv} 0); took=$(ms_since "$t0")
st=$(prop "$(path_obj sda)" Path DmState)
if [ -z "$r" ] && [ "$st" = 's "failed"' ] &&
	ev=$(vm_wait_line "$EVENTS" "\"PathFailed\".*\"pathDevT\":\"$SDA\"" 10 "$e") &&
	seq=$(echo "$ev" | sed -E 's/.*"dmSeqnum":([0-9]+).*/\1/') &&
	sg=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj sda)', '$SDA', uint32 1, uint32 $seq," 10 "$n"); then
	vm_pass "$S.fail" "returned in $took ms with DmState failed; the kernel's PATH_FAILED (DM_SEQNUM $seq) and PathFailed with it: ${sg#* }"
	vm_metric manage_fail_call_ms "$took" ms
else
	vm_fail "$S.fail" "reply '$r' DmState $st; uevent '${ev:-none}' signal '${sg:-none}'"
fi

# 2. Path.Reinstate, through the CLI.
n=$(vm_lines "$SIG"); e=$(vm_lines "$EVENTS"); t0=$(vm_now_ms)
r=$($CLI reinstate sda --bus system 2>&1); took=$(ms_since "$t0")
st=$(prop "$(path_obj sda)" Path DmState)
if [ "$r" = "sda: reinstated" ] && [ "$st" = 's "active"' ] &&
	vm_wait_line "$EVENTS" "\"PathReinstated\".*\"pathDevT\":\"$SDA\"" 10 "$e" >/dev/null &&
	sg=$(vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$(path_obj sda)'" 10 "$n"); then
	vm_pass "$S.reinstate" "multipath-dbus reinstate sda: '$r' in $took ms (PathReinstated at +$((${sg%% *} - t0)) ms); PATH_REINSTATED, DmState active"
else
	vm_fail "$S.reinstate" "CLI '$r' DmState $st"
fi

# 3. Map.SwitchGroup to the group not in use: PolicyChanged(ActiveGroup), dmsetup names it.
before=$(dmsetup status mpatha)
cur=$(next_group mpatha)
to=$((cur == 1 ? 2 : 1))
n=$(vm_lines "$SIG"); e=$(vm_lines "$EVENTS"); t0=$(vm_now_ms)
r=$(call "$MAPA" "$B.Map" SwitchGroup ua{sv} "$to" 0); took=$(ms_since "$t0")
after=$(dmsetup status mpatha)
vm_log "switchgroup $cur -> $to; dmsetup status before: $before"
vm_log "after: $after; uevents since: $(tail -n +"$((e + 1))" "$EVENTS" | tr '\n' '|')"
if [ -z "$r" ] && [ "$(next_group mpatha)" = "$to" ] &&
	sg=$(vm_wait_line "$SIG" "$MAPA: $B.Map.PolicyChanged \(\[.*'ActiveGroup'.*\]" 10 "$n"); then
	vm_pass "$S.switch-group" "group $cur -> $to in $took ms; dmsetup status next group $to; ${sg#* }"
	vm_metric manage_switch_group_call_ms "$took" ms
else
	vm_fail "$S.switch-group" "reply '$r'; dmsetup status: $after; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi

# 4. Map.SetQueueing off, then on: the kernel's table features, multipathd's queueing, our property.
q0=$(prop "$MAPA" Map Queueing)
r1=$(call "$MAPA" "$B.Map" SetQueueing ba{sv} false 0)
q1=$(prop "$MAPA" Map Queueing); f1=$(dmsetup table mpatha | awk '{ print $4, $5 }')
r2=$(call "$MAPA" "$B.Map" SetQueueing ba{sv} true 0)
q2=$(prop "$MAPA" Map Queueing); f2=$(dmsetup table mpatha | awk '{ print $4, $5 }')
if [ -z "$r1$r2" ] && [ "$q1" = 's "off"' ] && [ "${f1%% *}" = 0 ] && [ "$q2" = "$q0" ] && [ "$f2" = "1 queue_if_no_path" ]; then
	vm_pass "$S.queueing" "off: Queueing $q1, table features '${f1%% *}'; on: Queueing $q2, features '$f2'"
else
	vm_fail "$S.queueing" "replies '$r1' '$r2'; Queueing $q0 -> $q1 -> $q2; features '$f1' -> '$f2'"
fi

# 5. Map.Resize after the LUNs grew: the new size in dmsetup and in Size on return.
echo 1 >/sys/bus/pseudo/drivers/scsi_debug/virtual_gb
for d in $(multipathd show paths raw format '%d'); do echo 1 >"/sys/block/$d/device/rescan"; done
want=$(blockdev --getsize64 /dev/sda)
t0=$(vm_now_ms)
r=$(call "$MAPA" "$B.Map" Resize a{sv} 0); took=$(ms_since "$t0")
size=$(prop "$MAPA" Map Size); sectors=$(dmsetup table mpatha | awk '{ print $2 }')
if [ -z "$r" ] && [ "$size" = "t $want" ] && [ "$((sectors * 512))" = "$want" ]; then
	vm_pass "$S.resize" "Size $size = dmsetup $sectors sectors, in $took ms"
else
	vm_fail "$S.resize" "reply '$r'; Size $size, dmsetup $sectors sectors, disks $want bytes"
fi

# 6. Manager.Reconfigure: multipathd reconfigures; the maps are still published.
t0=$(vm_now_ms)
r=$(call "$R" "$B.Manager" Reconfigure a{sv} 0); took=$(ms_since "$t0")
maps=$(prop "$R" Manager Maps)
if [ -z "$r" ] && vm_wait 30 multipathd show daemon && [ "${maps:0:6}" = 'ao 2 "' ]; then
	vm_pass "$S.reconfigure" "returned in $took ms; $maps"
else
	vm_fail "$S.reconfigure" "reply '$r'; Maps $maps"
fi

# 7. Who may: uid 1 as polkit's rules grant, 65534 denied (and nothing changes), and root
#    only, once polkitd is gone.
as() { setpriv --reuid="$1" --regid="$1" --clear-groups -- "${@:2}"; }
g=$(as 1 busctl --system call "$B" "$(path_obj sdb)" "$B.Path" Fail a{sv} 0 2>&1)
gs=$(prop "$(path_obj sdb)" Path DmState)
d=$(as 65534 gdbus call --system --dest "$B" --object-path "$(path_obj sdc)" --method "$B.Path.Fail" '{}' 2>&1)
ds=$(prop "$(path_obj sdc)" Path DmState)
if [ -z "$g" ] && [ "$gs" = 's "failed"' ] && [[ "$d" == *"$B.Error.NotAuthorized"*"polkit denied"* ]] && [ "$ds" = 's "active"' ]; then
	vm_pass "$S.polkit" "uid 1 granted (sdb $gs); uid 65534: ${d#*NotAuthorized: }, sdc still $ds"
else
	vm_fail "$S.polkit" "uid 1: '$g' sdb $gs; uid 65534: '$d' sdc $ds"
fi
call "$(path_obj sdb)" "$B.Path" Reinstate a{sv} 0 >/dev/null
# The bus would start polkitd again on the next call (D-Bus activation): take that away first.
ACTIVATION=/usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service
[ -f "$ACTIVATION" ] && mv "$ACTIVATION" /tmp/polkit-activation.service
busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
pk=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.freedesktop.PolicyKit1 | cut -d' ' -f2)
kill "$pk"; vm_wait 30 vm_not_running "$pk"
vm_wait 10 sh -c '! busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.PolicyKit1 | grep -q true'
g=$(as 1 gdbus call --system --dest "$B" --object-path "$(path_obj sdb)" --method "$B.Path.Fail" '{}' 2>&1)
rt=$(call "$(path_obj sdb)" "$B.Path" Fail a{sv} 0)
if [[ "$g" == *"NotAuthorized"*"not running, so only root"* ]] && [ -z "$rt" ] && [ "$(prop "$(path_obj sdb)" Path DmState)" = 's "failed"' ]; then
	vm_pass "$S.polkit-absent" "uid 1 refused (${g#*NotAuthorized: }); root still acts"
else
	vm_fail "$S.polkit-absent" "uid 1: '$g'; root: '$rt'"
fi

# 8. Each action was logged with the caller's uid, pid and unit fields.
if line=$(grep -m1 'Path.Fail on .* by uid 1: done' "$VM_LOGS/$S.service.log") && [[ "$line" == *"OBJECT_PID="*"MULTIPATH_CALLER_UID=1"* ]]; then
	vm_pass "$S.audit" "${line#*: notice: }"
else
	vm_fail "$S.audit" "no audit line for uid 1's Path.Fail: $(grep -m2 'Path.Fail on' "$VM_LOGS/$S.service.log" | tr '\n' '|')"
fi

# What this scenario added to the (overlay) root stays out of the next ones.
rm -f "/usr/share/polkit-1/actions/$B.policy" /etc/polkit-1/rules.d/10-vm-test.rules
[ -f /tmp/polkit-activation.service ] && mv /tmp/polkit-activation.service "$ACTIVATION"
