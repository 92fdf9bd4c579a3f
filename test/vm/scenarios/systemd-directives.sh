#!/bin/bash
# vm-boot: systemd
# The hardening of dbus/multipath-dbus.service directive by directive, on transient units
# (systemd-run) with systemd as PID 1: under the unit's own directives a probe may do what
# the service does and nothing it must not; and each directive the unit leaves out is
# shown breaking what the service needs.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=systemd-directives
UNIT=$VM_REPO/dbus/multipath-dbus.service

run_with() { # property... -- command...: exit status of the command in a transient unit
	local props=()
	while [ "$1" != -- ]; do
		props+=(-p "$1")
		shift
	done
	shift
	systemd-run --quiet --wait --pipe --collect "${props[@]}" "$@"
}

# 1. The unit's own hardening, every line of it, on a probe.
mapfile -t HARDENING < <(sed -n '/^\[Service\]/,/^\[/p' "$UNIT" | grep -E '^[A-Za-z]+=' | grep -vE '^(Type|BusName|ExecStart|Restart|RestartSec)=')
PROBE='
const fs = require("fs"), net = require("net"), out = [];
const tryIt = (what, f) => { try { f(); out.push(what + ": allowed"); } catch (e) { out.push(what + ": " + e.code); } };
tryIt("write /etc", () => fs.writeFileSync("/etc/probe", "x"));
tryIt("read /proc/PID of another user", () => fs.readFileSync(`/proc/${process.argv[1]}/status`));
tryIt("read /proc/meminfo", () => fs.readFileSync("/proc/meminfo"));
tryIt("read /proc/self/status", () => fs.readFileSync("/proc/self/status"));
tryIt("open /dev/mapper/control", () => fs.closeSync(fs.openSync("/dev/mapper/control", "r+")));
tryIt("open /dev/mem", () => fs.closeSync(fs.openSync("/dev/mem", "r")));
tryIt("mkdir /tmp/probe", () => fs.mkdirSync("/tmp/probe"));
const s = net.createServer().on("error", (e) => { out.push("listen on 127.0.0.1: " + e.code); console.log(out.join("; ")); })
  .listen(0, "127.0.0.1", () => { out.push("listen on 127.0.0.1: allowed"); s.close(); console.log(out.join("; ")); });
'
# dbus-daemon runs as messagebus: ProtectProc=invisible hides processes of other users.
out=$(run_with "${HARDENING[@]}" -- node -e "$PROBE" "$(vm_unit_pid dbus.service)" 2>&1)
want='write /etc: EROFS; read /proc/PID of another user: ENOENT; read /proc/meminfo: ENOENT; read /proc/self/status: allowed; open /dev/mapper/control: allowed; open /dev/mem: EPERM; mkdir /tmp/probe: allowed; listen on 127.0.0.1: EAFNOSUPPORT'
if [ "$out" = "$want" ]; then
	vm_pass "$S.probe" "${#HARDENING[@]} directives of the unit: $out"
else
	vm_fail "$S.probe" "got: $out | want: $want"
fi

# 2. The directives left out, each alone: what it would break (the control run must pass).
without() { # name property why command...
	local name=$1 prop=$2 why=$3
	shift 3
	if ! run_with -- "$@" >/dev/null 2>&1; then
		vm_fail "$name" "control run failed: $*"
	elif run_with "$prop" -- "$@" >/dev/null 2>&1; then
		vm_fail "$name" "$prop did not break: $*"
	else
		vm_pass "$name" "$prop breaks it: $why"
	fi
}
without "$S.why-no-MemoryDenyWriteExecute" MemoryDenyWriteExecute=yes "V8 needs writable+executable memory (node -e 0 dies)" node -e 0
without "$S.why-no-PrivateDevices" PrivateDevices=yes "/dev/mapper/control disappears (dmsetup status fails)" dmsetup status
without "$S.why-no-PrivateUsers" PrivateUsers=yes "capabilities inside a user namespace do not reach device-mapper (dmsetup status fails)" dmsetup status
without "$S.why-no-PrivateNetwork" PrivateNetwork=yes "multipathd's socket is abstract, and abstract names are per network namespace (multipathd show daemon fails)" multipathd show daemon
without "$S.why-CAP_SYS_ADMIN" CapabilityBoundingSet=CAP_NET_ADMIN "the dm ioctls need CAP_SYS_ADMIN (dmsetup status fails without it)" dmsetup status
# The filter denies @resources, and Node raises its open-files limit (setrlimit) at start:
# with SystemCallErrorNumber=EPERM that call fails and Node carries on; without, SIGSYS.
FILTER=(SystemCallFilter=@system-service "SystemCallFilter=~@privileged @resources")
if ! run_with "${FILTER[@]}" SystemCallErrorNumber=EPERM -- node -e 0 >/dev/null 2>&1; then
	vm_fail "$S.why-SystemCallErrorNumber" "node does not start under the unit's filter"
elif run_with "${FILTER[@]}" -- node -e 0 >/dev/null 2>&1; then
	vm_fail "$S.why-SystemCallErrorNumber" "node starts under the filter even when a filtered call kills"
else
	vm_pass "$S.why-SystemCallErrorNumber" "under the filter node starts with SystemCallErrorNumber=EPERM and is killed without it"
fi
