# Library for scenario scripts running inside the test VM (sourced; bash). Every
# scenario starts from a clean kernel: no scsi_debug, no dm maps, no daemons.
#
# Under TCG a small process starts in ~0.05 s, node in ~1 s, and every multipathd
# client pays its own connection: prefer bash builtins, one `multipathd -k` for many
# commands (vm_mpd), and long-lived node processes.
#
# Environment set by guest-init.sh: VM_SCENARIO (file name without .sh), VM_REPO (the
# checkout, read-only), VM_RESULTS, VM_LOGS (writable, brought back to the host).

VM_SERVICE_NAME=org.kernel.linux.storage.multipath1
VM_SERVICE_CONF=/etc/multipath-dbus.conf

# --- results ---------------------------------------------------------------------------

vm_log() { # message...: to the scenario log with the guest's uptime
	local up _
	read -r up _ </proc/uptime
	printf '[%8s] %s\n' "$up" "$*" >&2
}

vm_result() { # name PASS|FAIL detail...
	local name=$1 status=$2
	shift 2
	local line="SCENARIO $name $status $*"
	echo "$line" >>"$VM_RESULTS"
	echo "$line" >&2
}
vm_pass() { vm_result "$1" PASS "${@:2}"; }
vm_fail() { vm_result "$1" FAIL "${@:2}"; }

vm_check() { # name detail command...: PASS if the command succeeds, else FAIL with its output
	local name=$1 detail=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		vm_pass "$name" "$detail"
	else
		vm_fail "$name" "$detail: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
		return 1
	fi
}

vm_metric() { # name value unit
	echo "METRIC $1 $2 $3" >>"$VM_RESULTS"
	echo "METRIC $1 $2 $3" >&2
}

vm_now_ms() { # wall clock in ms, same clock as node's Date.now()
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

vm_elapsed_s() { # start ($EPOCHREALTIME) -> seconds since, 2 decimals
	local now=${EPOCHREALTIME/./} then=${1/./}
	local ms=$(((now - then) / 1000))
	printf '%d.%02d\n' $((ms / 1000)) $((ms % 1000 / 10))
}

vm_wait() { # timeout_s command...: poll until it succeeds (0.2 s apart)
	local deadline=$((${EPOCHREALTIME%.*} + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# --- kernel and multipathd ---------------------------------------------------------------

vm_start_udevd() {
	local udevd=/lib/systemd/systemd-udevd
	[ -x "$udevd" ] || udevd=/usr/lib/systemd/systemd-udevd
	"$udevd" --daemon 2>>"$VM_LOGS/$VM_SCENARIO.udevd.log"
	udevadm trigger --action=add --type=subsystems >/dev/null 2>&1
	udevadm settle --timeout=60
}

vm_modprobe() { # module...
	local m
	for m in "$@"; do
		modprobe "$m" || {
			vm_log "modprobe $m failed"
			return 1
		}
	done
}

vm_scsi_debug() { # param=value...: create the scsi_debug devices, wait until udev is done
	local before after
	before=$(vm_count_disks)
	modprobe scsi_debug "$@" || return 1
	udevadm settle --timeout=120
	after=$(vm_count_disks)
	vm_log "scsi_debug $*: $((after - before)) new disks"
}

vm_count_disks() {
	local d n=0
	for d in /sys/block/sd*; do [ -e "$d" ] && n=$((n + 1)); done
	echo "$n"
}

vm_dev_t() { # sdX -> major:minor
	local v
	read -r v <"/sys/block/$1/dev" && echo "$v"
}

vm_multipath_conf() { # [extra config text]: /etc/multipath.conf for scsi_debug paths
	cat >/etc/multipath.conf <<EOF
defaults {
	user_friendly_names yes
	find_multipaths no
	polling_interval 2
}
blacklist {
	devnode "^(vd|fd|sr|loop|ram)"
}
${1:-}
EOF
}

vm_start_multipathd() { # [extra multipathd args]: foreground daemon in the background, log kept
	[ -f /etc/multipath.conf ] || vm_multipath_conf
	multipathd -d -s "$@" >>"$VM_LOGS/$VM_SCENARIO.multipathd.log" 2>&1 &
	VM_MULTIPATHD_PID=$!
	vm_wait 60 multipathd show daemon || {
		vm_log "multipathd did not answer within 60 s"
		return 1
	}
}

vm_stop_multipathd() { # SIGTERM, and wait until it is gone
	local pid=${VM_MULTIPATHD_PID:-$(pidof multipathd)}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	vm_wait 30 vm_not_running "$pid"
	VM_MULTIPATHD_PID=
}

vm_not_running() { ! kill -0 "$1" 2>/dev/null; }

vm_mpd() { # command...: every argument (or every stdin line, if none) through ONE multipathd -k
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | multipathd -k
	else
		multipathd -k
	fi
}

vm_maps_ready() { # maps paths_each: multipathd lists that many maps, each with that many paths
	local want_maps=$1 want_paths=$2 n=0 name paths
	while read -r name paths; do
		[ "$paths" = "$want_paths" ] && n=$((n + 1))
	done < <(multipathd show maps raw format '%n %N' 2>/dev/null)
	[ "$n" -ge "$want_maps" ]
}

vm_wait_maps() { # maps paths_each [timeout_s=120]
	vm_wait "${3:-120}" vm_maps_ready "$1" "$2" || {
		vm_log "expected $1 maps x $2 paths; multipathd shows:"
		multipathd show maps raw format '%n %N' >&2
		return 1
	}
}

vm_multipath_up() { # maps paths_each scsi_debug-params...: udevd, modules, devices, multipathd, maps
	local maps=$1 paths=$2
	shift 2
	vm_start_udevd &&
		vm_modprobe dm-multipath dm-service-time dm-round-robin scsi_dh_alua sd_mod &&
		vm_scsi_debug "$@" &&
		vm_start_multipathd &&
		vm_wait_maps "$maps" "$paths"
}

# --- D-Bus and the service -------------------------------------------------------------

vm_start_system_bus() { # [policy file]: a real system dbus-daemon with our policy installed
	local policy=${1:-$VM_REPO/dbus/$VM_SERVICE_NAME.conf}
	[ -f "$policy" ] || {
		vm_log "policy file $policy missing"
		return 1
	}
	mkdir -p /etc/dbus-1/system.d /run/dbus
	cp "$policy" "/etc/dbus-1/system.d/$VM_SERVICE_NAME.conf"
	[ -s /etc/machine-id ] || dbus-uuidgen --ensure=/etc/machine-id
	dbus-daemon --system --fork --nopidfile --nosyslog \
		2>>"$VM_LOGS/$VM_SCENARIO.dbus-daemon.log" || return 1
	vm_wait 30 test -S /run/dbus/system_bus_socket
}

vm_service_conf() { # [extra lines]: /etc/multipath-dbus.conf, enabled
	printf 'enable = yes\n%s\n' "${1:-}" >"$VM_SERVICE_CONF"
}

vm_start_service() { # [serve args...]: the service on the system bus, as root, log kept
	[ -f "$VM_SERVICE_CONF" ] || vm_service_conf
	node "$VM_REPO/bin/multipath-dbus" serve --config "$VM_SERVICE_CONF" --bus system "$@" \
		>>"$VM_LOGS/$VM_SCENARIO.service.log" 2>&1 &
	VM_SERVICE_PID=$!
	vm_wait 90 vm_name_owned || {
		vm_log "the service did not own $VM_SERVICE_NAME within 90 s; its log:"
		tail -n 20 "$VM_LOGS/$VM_SCENARIO.service.log" >&2
		return 1
	}
}

vm_service_up() { # setup-name maps paths_each config-lines scsi_debug-params...: the whole stack,
	# multipathd to the service on a system bus, with `gdbus monitor` logging to $VM_SIGNALS;
	# records a FAIL for setup-name and returns 1 if any step fails
	local name=$1 maps=$2 paths=$3 conf=$4
	shift 4
	if ! vm_multipath_up "$maps" "$paths" "$@"; then
		vm_fail "$name" "multipathd did not build $maps maps x $paths paths"
		return 1
	fi
	vm_start_system_bus || { vm_fail "$name" "no system dbus-daemon"; return 1; }
	vm_service_conf "$conf"
	VM_SIGNALS=$(vm_watch_signals)
	vm_start_service || { vm_fail "$name" "service did not start: $(tail -n 5 "$VM_LOGS/$VM_SCENARIO.service.log" | tr '\n' '|')"; return 1; }
}

vm_name_owned() { # [name]: the name has an owner on the system bus
	[ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "${1:-$VM_SERVICE_NAME}" 2>/dev/null)" = "b true" ]
}

vm_stop_service() {
	[ -n "${VM_SERVICE_PID:-}" ] || return 0
	kill "$VM_SERVICE_PID" 2>/dev/null
	vm_wait 30 vm_not_running "$VM_SERVICE_PID"
	VM_SERVICE_PID=
}

vm_watch_signals() { # [dest=service name]: `gdbus monitor` on the system bus, each line
	# prefixed by its arrival time in ms (vm_now_ms clock); returns once it listens (gdbus
	# says "Monitoring signals" after subscribing); prints the log file's path
	local dest=${1:-$VM_SERVICE_NAME}
	local log=$VM_LOGS/$VM_SCENARIO.signals-$dest.log
	: >"$log"
	stdbuf -oL gdbus monitor --system --dest "$dest" 2>>"$log" |
		while IFS= read -r line; do
			t=${EPOCHREALTIME/./}
			echo "$((t / 1000)) $line"
		done >>"$log" &
	vm_listening "$log" 'Monitoring signals'
	echo "$log"
}

vm_listening() { # file ERE [timeout_s=60]: a background command's log says it listens
	# (its readiness line); use it instead of a sleep before making the kernel act
	vm_wait "${3:-60}" grep -qE -- "$2" "$1" || {
		vm_log "no '$2' in $1 within ${3:-60} s: $(tail -n 3 "$1" 2>/dev/null | tr '\n' '|')"
		return 1
	}
}

vm_lines() { # file: its current number of lines (a starting point for vm_wait_line)
	local n=0
	[ -f "$1" ] && n=$(wc -l <"$1")
	echo "$n"
}

vm_wait_line() { # file ERE timeout_s [after_line=0]: prints the first matching line after that line
	local file=$1 re=$2 after=${4:-0} line
	local deadline=$((${EPOCHREALTIME%.*} + $3))
	while :; do
		line=$(tail -n +"$((after + 1))" "$file" 2>/dev/null | grep -m1 -E -- "$re") && {
			echo "$line"
			return 0
		}
		[ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

vm_after() { # file ERE timeout_s command...: runs the command, then waits for the first line
	# matching ERE written after it started; prints "<ms from the start to the line> <the line
	# without its ms prefix>" (for logs whose lines start with their ms, as vm_watch_signals writes)
	local file=$1 re=$2 timeout=$3 from t0 line
	from=$(vm_lines "$file")
	t0=$(vm_now_ms)
	"${@:4}" >&2
	line=$(vm_wait_line "$file" "$re" "$timeout" "$from") || return 1
	echo "$((${line%% *} - t0)) ${line#* }"
}

vm_as_nobody() { # command...: run as an unprivileged uid (65534) with no groups
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# --- between scenarios (guest-init.sh) -------------------------------------------------

vm_teardown() { # back to a clean kernel: no processes but PID 1, no dm maps, no scsi_debug
	local i
	kill -TERM -1 2>/dev/null
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -z "$(vm_other_processes)" ] && break
		sleep 0.5
	done
	kill -KILL -1 2>/dev/null
	# Maps left queueing with no paths would hang their removal.
	for i in $(dmsetup ls --target multipath 2>/dev/null | cut -f1); do
		dmsetup message "$i" 0 fail_if_no_path 2>/dev/null
	done
	dmsetup remove_all --force >/dev/null 2>&1
	modprobe -r scsi_debug 2>/dev/null || vm_log "teardown: scsi_debug still in use"
	rm -f /etc/multipath.conf "$VM_SERVICE_CONF"
	rm -rf /etc/multipath /run/* 2>/dev/null
	# /tmp, but never the checkout itself when it lives there (CI may clone into /tmp).
	local keep=${VM_REPO#/tmp/}
	keep=/tmp/${keep%%/*}
	for i in /tmp/* /tmp/.[!.]*; do
		[ -e "$i" ] && [ "$i" != "$keep" ] && rm -rf "$i"
	done
	mkdir -p /run/lock
}

vm_other_processes() { # user processes other than PID 1 (kernel threads have no cmdline)
	local p cmd
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = 1 ] && continue
		[ "${p#/proc/}" = "$BASHPID" ] && continue
		read -r -d '' cmd <"$p/cmdline" 2>/dev/null
		[ -n "$cmd" ] && echo "${p#/proc/}"
	done
}

vm_poweroff() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 10
}

# A systemd boot (vm-boot: systemd, see systemd/) brings its daemons up as units.
if [ "${VM_BOOT:-}" = systemd ]; then
	# shellcheck source=systemd/lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/systemd/lib.sh"
fi
