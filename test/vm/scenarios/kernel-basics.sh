#!/bin/bash
# The kernel side on a real kernel: multipathd builds 2 maps x 2 paths over scsi_debug,
# the addon's device-mapper ioctls agree with dmsetup, and the addon's netlink monitor
# receives dm-mpath's PATH_FAILED / PATH_REINSTATED uevents, whether multipathd fails a
# path on command or its checker finds a SCSI device offline.
# vm-budget: 90
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=kernel-basics
ADDON_JS=$VM_REPO/dist/native/addon.js
ADDON_NODE=$VM_REPO/build/Release/multipath_native.node

if ! vm_multipath_up 2 2 add_host=2 vpd_use_hostno=0 max_luns=2; then
	vm_fail "$S.maps" "multipathd did not build 2 maps x 2 paths"
	exit 1
fi
vm_pass "$S.maps" "$(multipathd show maps raw format '%n:%N' | tr '\n' ' ')"

dmsetup_dump() { # prefix: /tmp/<prefix>-{info,status,table}
	dmsetup status --target multipath >"/tmp/$1-status"
	dmsetup table --target multipath >"/tmp/$1-table"
	dmsetup info -c --noheadings --separator ' ' -o name,uuid,major,minor >"/tmp/$1-info"
	for kind in info status table; do LC_ALL=C sort -o "/tmp/$1-$kind" "/tmp/$1-$kind"; done
}

dmsetup_dump dm
cat /tmp/dm-status /tmp/dm-table >"$VM_LOGS/$S.dmsetup.txt"
vm_log "dmsetup status/table --target multipath:"
cat "$VM_LOGS/$S.dmsetup.txt" >&2

# Every path of both maps active in the kernel: "A" after each path's dev_t.
active=$(grep -oE '[0-9]+:[0-9]+ A' /tmp/dm-status | wc -l)
if [ "$(wc -l </tmp/dm-status)" = 2 ] && [ "$active" = 4 ]; then
	vm_pass "$S.dm-status" "2 multipath targets, 4 active paths"
else
	vm_fail "$S.dm-status" "expected 2 targets with 4 active paths, got: $(tr '\n' '|' </tmp/dm-status)"
fi

if [ ! -f "$ADDON_JS" ] || [ ! -f "$ADDON_NODE" ]; then
	for check in addon-dm uevent-path-failed uevent-path-reinstated uevent-checker-offline uevent-checker-running; do
		vm_fail "$S.$check" "addon not built ($ADDON_JS, $ADDON_NODE): run npm ci / npm run build first"
	done
	exit 1
fi

# --- the addon's device-mapper ioctls against dmsetup ----------------------------------

addon_dump() { # /tmp/addon-{info,status,table}, formatted as dmsetup prints them
	node -e '
const a = require(process.argv[1]);
const out = { info: [], status: [], table: [] };
for (const d of a.dmListDevices()) {
  out.info.push(`${d.name} ${d.uuid} ${d.devT.replace(":", " ")}`);
  for (const [kind, table] of [["status", false], ["table", true]]) {
    for (const t of a.dmTableStatus(d.name, table)) {
      if (t.targetType === "multipath") out[kind].push(`${d.name}: ${t.start} ${t.length} ${t.targetType} ${t.params}`);
    }
  }
}
for (const kind of Object.keys(out)) require("fs").writeFileSync(`/tmp/addon-${kind}`, out[kind].map((l) => l + "\n").join(""));
' "$ADDON_JS" 2>/tmp/addon-error || return 1
	for kind in info status table; do LC_ALL=C sort -o "/tmp/addon-$kind" "/tmp/addon-$kind"; done
}

same_dumps() { # a b: identical info/status/table; diffs to the log
	local kind same=0
	for kind in info status table; do
		diff -u "/tmp/$1-$kind" "/tmp/$2-$kind" >&2 || same=1
	done
	return $same
}

# Right after the maps appear, multipathd may still switch a map's group: compare only
# between two dmsetup readings that agree with each other.
verdict="the kernel's state kept changing under 5 attempts"
for attempt in 1 2 3 4 5; do
	dmsetup_dump before
	if ! addon_dump; then
		verdict="node failed: $(head -c 300 /tmp/addon-error | tr '\n' ' ')"
		break
	fi
	dmsetup_dump after
	same_dumps before after 2>/dev/null || continue
	if same_dumps after addon; then
		verdict=
	else
		verdict="addon differs from dmsetup (diff in logs/$S.log)"
	fi
	break
done
if [ -z "$verdict" ]; then
	vm_pass "$S.addon-dm" "dmListDevices/dmTableStatus equal dmsetup info/status/table (attempt $attempt)"
else
	vm_fail "$S.addon-dm" "$verdict"
fi

# --- uevents through the addon's netlink monitor ---------------------------------------

# One node process for all events: it prints READY, then one line per dm-mpath event
# "<Date.now()> DM_ACTION=... DM_PATH=... ...", until its stdin closes.
coproc WATCH {
	node -e '
const a = require(process.argv[1]);
const keys = ["DM_ACTION", "DM_PATH", "DM_NR_VALID_PATHS", "DM_NAME", "DM_SEQNUM", "DM_UUID", "DM_TARGET"];
const m = a.openUeventMonitor({}, {
  onDatagram(b) {
    const now = Date.now();
    const kv = new Map(b.toString("latin1").split("\0").slice(1).map((f) => [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)]));
    if (!kv.has("DM_ACTION")) return;
    process.stdout.write(`${now} ${keys.filter((k) => kv.has(k)).map((k) => `${k}=${kv.get(k)}`).join(" ")}\n`);
  },
  onOverflow() { process.stdout.write(`${Date.now()} OVERFLOW\n`); },
  onError(e) { process.stdout.write(`${Date.now()} ERROR ${e.code} ${e.message}\n`); },
});
process.stdout.write("READY\n");
process.stdin.resume();
process.stdin.on("end", () => { m.close(); process.exit(0); });
' "$ADDON_JS" 2>>"$VM_LOGS/$S.watch.log"
}

wait_event() { # action dev_t valid_paths timeout_s -> prints the event line; 1 on timeout
	local line deadline=$((${EPOCHREALTIME%.*} + $4))
	while [ "${EPOCHREALTIME%.*}" -lt "$deadline" ]; do
		read -r -t 1 -u "${WATCH[0]}" line || continue
		echo "$line" >>"$VM_LOGS/$S.events.txt"
		case " $line " in *" DM_ACTION=$1 "*) ;; *) continue ;; esac
		case " $line " in *" DM_PATH=$2 "*) ;; *) continue ;; esac
		case " $line " in *" DM_NR_VALID_PATHS=$3 "*) ;; *) continue ;; esac
		echo "$line"
		return 0
	done
	return 1
}

expect_event() { # check action dev_t valid_paths timeout_s metric command...
	local check=$1 action=$2 devt=$3 valid=$4 timeout=$5 metric=$6 t0 line
	shift 6
	t0=$(vm_now_ms)
	"$@" >>"$VM_LOGS/$S.commands.log" 2>&1
	if line=$(wait_event "$action" "$devt" "$valid" "$timeout"); then
		vm_pass "$S.$check" "${line#* }"
		vm_metric "$metric" $((${line%% *} - t0)) ms
	else
		vm_fail "$S.$check" "no $action for $devt ($valid valid paths) within ${timeout}s after: $* (all events: logs/$S.events.txt)"
	fi
}

read -r -t 60 -u "${WATCH[0]}" ready
if [ "$ready" != READY ]; then
	vm_fail "$S.uevent-monitor" "the node monitor did not start: $(tail -c 300 "$VM_LOGS/$S.watch.log" | tr '\n' ' ')"
	exit 1
fi

sda=$(vm_dev_t sda)
sdc=$(vm_dev_t sdc)
# The time includes starting the multipathd client (one process under TCG).
expect_event uevent-path-failed PATH_FAILED "$sda" 1 30 fail_path_to_uevent_ms \
	multipathd fail path sda
expect_event uevent-path-reinstated PATH_REINSTATED "$sda" 2 30 reinstate_path_to_uevent_ms \
	multipathd reinstate path sda
# Checker-driven: nothing tells multipathd; its checker (polling_interval 2) must notice.
expect_event uevent-checker-offline PATH_FAILED "$sdc" 1 60 offline_to_uevent_ms \
	eval 'echo offline >/sys/block/sdc/device/state'
expect_event uevent-checker-running PATH_REINSTATED "$sdc" 2 60 running_to_uevent_ms \
	eval 'echo running >/sys/block/sdc/device/state'

# Closing its stdin ends the monitor; it must exit cleanly.
watch_pid=$WATCH_PID
eval "exec ${WATCH[1]}>&-"
wait "$watch_pid"
vm_check "$S.uevent-monitor-close" "the monitor closed and node exited 0" test $? = 0
