# Sourced by lib.sh in a systemd boot (VM_BOOT=systemd): systemd is PID 1, journald,
# udevd, the system bus and multipathd run as units. The helpers that start daemons by
# hand become the same steps through systemd, so the scenario helpers of lib.sh
# (vm_multipath_up, vm_service_up, ...) work unchanged; between scenarios the boot goes
# back to its baseline units instead of killing every process.

VM_SD_UNIT_TYPES='service|socket|timer|path|target'

vm_sd_active_units() { # the active units of the kinds a scenario may start, one per line, sorted
	systemctl list-units --state=active --plain --no-legend --no-pager 2>/dev/null |
		awk -v re="\\.($VM_SD_UNIT_TYPES)\$" '$1 ~ re { print $1 }' | sort
}

# What is up once the boot is done (the system bus activated): teardown returns to it.
if [ -z "${VM_SD_BASELINE:-}" ]; then
	busctl --system status >/dev/null 2>&1
	VM_SD_BASELINE=$(vm_sd_active_units)
fi

vm_start_udevd() { # the boot's systemd-udevd: wait until it has handled every event
	udevadm trigger --action=add --type=subsystems >/dev/null 2>&1
	udevadm settle --timeout=60
}

vm_start_multipathd() { # [ignored]: multipathd.service, restarted to read /etc/multipath.conf
	[ -f /etc/multipath.conf ] || vm_multipath_conf
	systemctl restart multipathd.service || return 1
	vm_wait 60 multipathd show daemon || {
		vm_log "multipathd.service did not answer within 60 s"
		return 1
	}
	VM_MULTIPATHD_PID=$(systemctl show -p MainPID --value multipathd.service)
}

vm_stop_multipathd() { # the socket too, or the next client would start it again
	systemctl stop multipathd.socket multipathd.service
	VM_MULTIPATHD_PID=
}

vm_start_system_bus() { # [policy file]: the boot's system bus, with our policy added
	local policy=${1:-$VM_REPO/dbus/$VM_SERVICE_NAME.conf}
	mkdir -p /etc/dbus-1/system.d
	cp "$policy" "/etc/dbus-1/system.d/$VM_SERVICE_NAME.conf" || return 1
	busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
}

vm_unit_pid() { # unit: its main process, once it has one
	local pid
	pid=$(systemctl show -p MainPID --value "$1")
	[ -n "$pid" ] && [ "$pid" != 0 ] && echo "$pid"
}

vm_journal_wait() { # timeout_s ERE journalctl-matches...: until this boot's journal has an
	# entry for the matches whose JSON (journalctl -o json, one a line) matches ERE; prints them
	local deadline=$((${EPOCHREALTIME%.*} + $1)) re=$2 out
	shift 2
	while :; do
		out=$(journalctl -b --no-pager -o json "$@" 2>/dev/null | grep -E -- "$re") && {
			echo "$out"
			return 0
		}
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

vm_teardown() { # back to the boot's baseline, then a clean kernel
	local u leftover
	journalctl -b --no-pager -o short-monotonic >"$VM_LOGS/$VM_SCENARIO.journal.log" 2>&1
	# What the scenario installed and started, as the uninstaller and dpkg know it.
	bash "$VM_REPO/scripts/install-system.sh" --purge >/dev/null 2>&1
	dpkg --purge multipath-dbus-cockpit multipath-dbus >/dev/null 2>&1
	leftover=$(comm -13 <(echo "$VM_SD_BASELINE") <(vm_sd_active_units))
	# shellcheck disable=SC2086 # one unit name per word
	[ -z "$leftover" ] || systemctl stop $leftover
	# Background jobs of the scenario live in our own cgroup.
	for u in $(cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cgroup.procs"); do
		[ "$u" = "$$" ] || [ "$u" = "$BASHPID" ] || kill -KILL "$u" 2>/dev/null
	done
	systemctl stop multipathd.socket multipathd.service
	for u in $(dmsetup ls --target multipath 2>/dev/null | cut -f1); do
		dmsetup message "$u" 0 fail_if_no_path 2>/dev/null
	done
	dmsetup remove_all --force >/dev/null 2>&1
	modprobe -r scsi_debug 2>/dev/null || vm_log "teardown: scsi_debug still in use"
	rm -f /etc/multipath.conf "$VM_SERVICE_CONF" "/etc/dbus-1/system.d/$VM_SERVICE_NAME.conf"
	rm -rf /etc/multipath
	local keep=${VM_REPO#/tmp/}
	keep=/tmp/${keep%%/*}
	for u in /tmp/* /tmp/.[!.]*; do
		case "$u" in "$keep" | /tmp/systemd-private-*) continue ;; esac
		[ -e "$u" ] && rm -rf "$u"
	done
	systemctl daemon-reload
	systemctl reset-failed
	leftover=$(comm -23 <(echo "$VM_SD_BASELINE") <(vm_sd_active_units))
	# shellcheck disable=SC2086
	[ -z "$leftover" ] || systemctl start $leftover
}
