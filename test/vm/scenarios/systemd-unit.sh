#!/bin/bash
# vm-boot: systemd
# The unit as an administrator runs it, with systemd as PID 1: `npm run install-system`
# (the VM has no network), then `systemctl start` and D-Bus activation each bring the
# service up with every hardening directive in force; it is judged as the service
# scenario judges it (coldplug equals multipathd and device-mapper, a real path failure
# signals PathFailed) and `systemctl stop` releases the name. systemd-directives.sh shows
# what the directives the unit leaves out would break.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=systemd-unit
B=$VM_SERVICE_NAME
R=/org/kernel/linux/storage/multipath1
U=multipath-dbus.service
UNIT_FILE=/etc/systemd/system/$U
# The bounding set: CAP_NET_ADMIN (bit 12) and CAP_SYS_ADMIN (bit 21), nothing else.
CAPS=0000000000201000

path_obj() { echo "$R/paths/$1"; }

last_mount() { # mountinfo mountpoint: the line of what is mounted there on top
	awk -v m="$2" '$5 == m' "$1" | tail -n 1
}

hardened() { # result-name: the unit's main process runs with every directive in force
	local name=$1 pid st mi bad=() f rb
	pid=$(vm_unit_pid "$U") || {
		vm_fail "$name" "$U has no main process"
		return 1
	}
	st=/proc/$pid/status mi=/proc/$pid/mountinfo
	for f in CapBnd CapPrm CapEff; do
		grep -qE "^$f:\s+$CAPS$" "$st" || bad+=("$(grep "^$f:" "$st")")
	done
	grep -qE '^NoNewPrivs:\s+1$' "$st" || bad+=("NoNewPrivs off")
	grep -qE '^Seccomp:\s+2$' "$st" || bad+=("no seccomp filter")
	grep -qE '^Umask:\s+0077$' "$st" || bad+=("$(grep '^Umask:' "$st")")
	last_mount "$mi" /proc | grep -q 'hidepid=invisible' || bad+=("/proc without hidepid=invisible")
	last_mount "$mi" /proc | grep -q 'subset=pid' || bad+=("/proc without subset=pid")
	last_mount "$mi" / | awk '{ print $6 }' | grep -q '^ro' || bad+=("/ mounted writable")
	for f in /etc/.probe /usr/local/lib/multipath-dbus/.probe; do # ProtectSystem=strict, seen from inside
		! nsenter -t "$pid" -m -- touch "$f" 2>/dev/null || bad+=("$f writable")
	done
	[ -n "$(last_mount "$mi" /tmp)" ] || bad+=("no private /tmp")
	[ -n "$(last_mount "$mi" /root)" ] || bad+=("/root not hidden")
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ] || bad+=("host mount namespace")
	grep -q "^0::/system.slice/$U$" "/proc/$pid/cgroup" || bad+=("cgroup $(cat "/proc/$pid/cgroup")")
	# SO_RCVBUFFORCE took effect (the kernel doubles it): CAP_NET_ADMIN is there when needed.
	rb=$(ss -f netlink -m -p -O | grep "uevent:node/$pid " | sed -nE 's/.*skmem:\(r[0-9]+,rb([0-9]+),.*/\1/p' | head -n 1)
	[ "${rb:-0}" -ge 16777216 ] || bad+=("uevent socket buffer ${rb:-none}")
	if [ ${#bad[@]} -eq 0 ]; then
		vm_pass "$name" "pid $pid: CapBnd=CapEff=$CAPS (CAP_SYS_ADMIN CAP_NET_ADMIN), NoNewPrivs 1, Seccomp 2, Umask 0077, /proc hidepid=invisible subset=pid, / and /usr read-only, /etc and its own files not writable, own /tmp and mount namespace, /root hidden, uevent buffer $rb"
	else
		vm_fail "$name" "pid $pid: $(printf '%s; ' "${bad[@]}")"
	fi
}

vm_multipath_up 2 2 add_host=2 vpd_use_hostno=0 max_luns=2 || {
	vm_fail "$S.setup" "multipathd.service did not build 2 maps x 2 paths"
	exit 1
}

# 1. Install as the README says, with no network (the VM has only lo). What npm and node
# alone cost here, for scale: TCG, and every file read crosses 9p.
t0=$EPOCHREALTIME
node -e 0 && vm_metric node_start "$(vm_elapsed_s "$t0")" s
t0=$EPOCHREALTIME
npm --version >/dev/null && vm_metric npm_start "$(vm_elapsed_s "$t0")" s
t0=$EPOCHREALTIME
if out=$(cd "$VM_REPO" && npm run --silent install-system 2>&1); then
	vm_metric install_system "$(vm_elapsed_s "$t0")" s
	vm_pass "$S.install" "$(echo "$out" | tail -n 1) (network interfaces: $(ls /sys/class/net | tr '\n' ' '))"
else
	vm_fail "$S.install" "$(echo "$out" | tail -n 5 | tr '\n' '|')"
	exit 1
fi
sed -i 's/^enable = no$/enable = yes/' "$VM_SERVICE_CONF"

# 2. systemd reads every line of the unit (no "Unknown key", no "Ignoring"), and scores it.
complaints=$(journalctl -b --no-pager -o cat _PID=1 | grep -F "$UNIT_FILE:")
if [ -z "$complaints" ]; then vm_pass "$S.unit-loads" "systemd took every directive of $UNIT_FILE"; else vm_fail "$S.unit-loads" "$complaints"; fi
exposure=$(systemd-analyze security --no-pager "$U" 2>&1 | sed -nE 's/.*Overall exposure level for .*: ([0-9.]+) .*/\1/p')
vm_metric unit_exposure "${exposure:-none}" score
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	vm_pass "$S.exposure" "systemd-analyze security $U: $exposure (goal 2.0 or lower)"
else
	vm_fail "$S.exposure" "systemd-analyze security $U: ${exposure:-no figure}"
fi

# 3. systemctl start: up with every directive, and it works as the service scenario demands.
t0=$EPOCHREALTIME
if systemctl start "$U" && vm_name_owned; then
	vm_pass "$S.start" "systemctl start: $B owned in $(vm_elapsed_s "$t0") s"
else
	vm_fail "$S.start" "$(systemctl status --no-pager "$U" 2>&1 | tail -n 8 | tr '\n' '|')"
	exit 1
fi
hardened "$S.start-hardened"
if line=$(vm_journal_wait 20 '"MESSAGE":"serving ' _SYSTEMD_UNIT="$U" PRIORITY=6); then
	line=${line%%$'\n'*}
	msg=$(echo "$line" | sed -nE 's/.*"MESSAGE":"([^"]*)".*/\1/p')
	case "$msg" in
	*"multipathd available, kernel events on, device-mapper on, NVMe on") vm_pass "$S.journal" "journal, priority info: $msg" ;;
	*) vm_fail "$S.journal" "$msg" ;;
	esac
else
	vm_fail "$S.journal" "no 'serving' entry at priority 6 from $U in the journal"
fi
if out=$(node "$VM_REPO/test/vm/coldplug.js" 2 2>&1); then vm_pass "$S.coldplug" "$out"; else vm_fail "$S.coldplug" "$out"; fi
# Desktop disk tools find the map through udisks: the map's UDisksBlock is udisks' own
# object for its dm-N (udisksd is activated by the first call), and both name one device.
MAPA_UDISKS=$(busctl --system get-property "$B" "$R/maps/1Linux_5fscsi_5fdebug_5f2000" "$B.Map" UDisksBlock | sed -E 's/^o "(.*)"$/\1/')
SYSFS=$(busctl --system get-property "$B" "$R/maps/1Linux_5fscsi_5fdebug_5f2000" "$B.Map" SysfsName | sed -E 's/^s "(.*)"$/\1/')
if out=$(busctl --system --timeout=60 --json=short get-property org.freedesktop.UDisks2 "$MAPA_UDISKS" org.freedesktop.UDisks2.Block Device 2>&1) &&
	[ "$(node -e 'process.stdout.write(Buffer.from(JSON.parse(process.argv[1]).data).toString().replace(/\0$/, ""))' "$out")" = "/dev/$SYSFS" ]; then
	vm_pass "$S.udisks" "the map's UDisksBlock $MAPA_UDISKS is udisksd's block device for /dev/$SYSFS"
else
	vm_fail "$S.udisks" "UDisksBlock $MAPA_UDISKS of $SYSFS, udisksd says: $out"
fi
# The installed bus policy is in force: uid 65534 reads, and the bus refuses it a method
# that does not exist.
if ! out=$(vm_as_nobody busctl --system get-property "$B" "$R" "$B.Manager" Health 2>&1); then
	vm_fail "$S.policy" "uid 65534 cannot read Health: $out"
elif out=$(vm_as_nobody busctl --system call "$B" "$R" "$B.Manager" Frobnicate 2>&1) || [[ $out != *"Access denied"* ]]; then
	vm_fail "$S.policy" "uid 65534 calling Frobnicate: $out"
else
	vm_pass "$S.policy" "uid 65534 reads Health; Manager.Frobnicate (no such method): $out"
fi

SIG=$(vm_watch_signals)
vm_wait 10 test -s "$SIG" # gdbus monitor prints its banner once subscribed
SDA=$(vm_dev_t sda)
n=$(vm_lines "$SIG") t0=$(vm_now_ms)
vm_mpd "fail path sda" >/dev/null
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj sda)', '$SDA', uint32 1, " 20 "$n"); then
	vm_pass "$S.path-failed" "multipathd fail path sda: ${line#* }"
	vm_metric systemd_fail_path_to_signal_ms $((${line%% *} - t0)) ms
else
	vm_fail "$S.path-failed" "no PathFailed for sda; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi
vm_mpd "reinstate path sda" >/dev/null
vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$(path_obj sda)'" 20 "$n" >/dev/null

# 4. systemctl stop releases the name and ends cleanly.
t0=$EPOCHREALTIME
systemctl stop "$U"
if ! vm_name_owned && [ "$(systemctl show -p Result --value "$U")" = success ]; then
	vm_pass "$S.stop" "systemctl stop: name released in $(vm_elapsed_s "$t0") s, Result=success, ExecMainStatus=$(systemctl show -p ExecMainStatus --value "$U")"
else
	vm_fail "$S.stop" "owned: $(vm_name_owned && echo yes || echo no); $(systemctl show -p Result -p ExecMainStatus "$U" | tr '\n' ' ')"
fi

# 5. D-Bus activation: the first call starts the unit through systemd, hardened the same.
t0=$EPOCHREALTIME
# dbus-daemon gives systemd 25 s (service_start_timeout) to bring the name up.
if out=$(busctl --system --timeout=60 get-property "$B" "$R" "$B.Manager" Health 2>&1) && [ "$out" = 's "optimal"' ] &&
	[ "$(systemctl is-active "$U")" = active ]; then
	vm_pass "$S.activation" "first busctl call answered $out in $(vm_elapsed_s "$t0") s; $U active"
else
	vm_fail "$S.activation" "busctl: $out; $U $(systemctl is-active "$U")"
fi
if vm_journal_wait 10 "Activating via systemd: service name='$B' unit='$U'" _SYSTEMD_UNIT=dbus.service >/dev/null; then
	vm_pass "$S.activation-via-systemd" "dbus-daemon: Activating via systemd: service name='$B' unit='$U'"
else
	vm_fail "$S.activation-via-systemd" "dbus-daemon did not ask systemd for $U"
fi
hardened "$S.activation-hardened"
# A kernel-side failure this time: dm-mpath fails the path itself.
n=$(vm_lines "$SIG")
MAP=$(multipathd show paths raw format '%d %m' | awk '$1 == "sda" { print $2 }')
dmsetup message "$MAP" 0 fail_path "$SDA"
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$(path_obj sda)', '$SDA'" 20 "$n"); then
	vm_pass "$S.activated-path-failed" "dmsetup message $MAP fail_path $SDA: ${line#* }"
else
	vm_fail "$S.activated-path-failed" "no PathFailed; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi
dmsetup message "$MAP" 0 reinstate_path "$SDA"
systemctl stop "$U"
if vm_name_owned; then vm_fail "$S.activated-stop" "name still owned after systemctl stop"; else vm_pass "$S.activated-stop" "systemctl stop released the activated instance's name"; fi

# 6. Uninstall: the unit and the activation file are gone, so a call activates nothing.
# (npm run uninstall-system runs this same script; npm's start is the slow part here.)
if bash "$VM_REPO/scripts/install-system.sh" --remove >/dev/null 2>&1 && [ ! -e "$UNIT_FILE" ] &&
	! out=$(busctl --system get-property "$B" "$R" "$B.Manager" Health 2>&1); then
	vm_pass "$S.uninstall" "unit removed; a call now gets: $out"
else
	vm_fail "$S.uninstall" "$(ls -l "$UNIT_FILE" 2>&1); busctl: $out"
fi
