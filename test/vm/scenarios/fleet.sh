#!/bin/bash
# The fleet view on a real kernel: multipathd fails a real dm-multipath path; a real
# systemd-journald receives the structured entry (journalctl MESSAGE_ID=... -o json shows
# it with its fields) and the metrics endpoint counts the failure, also for a flap faster
# than any scrape. journald runs standalone here (the guest's PID 1 is guest-init).
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=fleet
PORT=9664
ip link set lo up
# journald wants its cgroup, which guest-init (not systemd) does not mount.
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup

/lib/systemd/systemd-journald >>"$VM_LOGS/$S.journald.log" 2>&1 &
vm_wait 30 test -S /run/systemd/journal/socket || { vm_fail "$S.setup" "journald did not start"; exit 1; }
vm_service_up "$S.setup" 2 2 "metrics_listen = 127.0.0.1:$PORT" add_host=2 vpd_use_hostno=0 max_luns=2 || exit 1

id_of() { node -e 'process.stdout.write(require(process.argv[1]).JOURNAL_KINDS[process.argv[2]].id)' "$VM_REPO/dist/outputs/journal/entries.js" "$1"; }
scrape() { curl -sf -m 10 "http://127.0.0.1:$PORT/metrics"; }
# metric{labels} value, as the scrape shows it
sample() { scrape | grep -E "^$1\{[^}]*$2[^}]*\} " | awk '{print $2}'; }
sample_is() { [ "$(sample "$1" "$2")" = "$3" ]; }
# The newest entry with that MESSAGE_ID for that device, as JSON.
entry() { journalctl --no-pager -o json "MESSAGE_ID=$1" "MULTIPATH_DEVICE=$2" | tail -n 1; }
entries_are() { [ "$(journalctl --no-pager -o json "MESSAGE_ID=$1" "MULTIPATH_DEVICE=$2" | wc -l)" = "$3" ]; }
DOWN=$(id_of PathFailed)
UP=$(id_of PathReinstated)
SDA=$(vm_dev_t sda)
MAP=$(multipathd show paths raw format '%d %m' | awk '$1 == "sda" {print $2}')
WWID=$(multipathd show maps raw format '%n %w' | awk -v m="$MAP" '$1 == m {print $2}')

if out=$(scrape >/tmp/scrape.txt && promtool check metrics </tmp/scrape.txt 2>&1) && sample_is multipath_path_up 'device="sda"' 1; then
	vm_pass "$S.scrape" "promtool accepts it; $(grep -c '^multipath_path_up{' /tmp/scrape.txt) paths up"
else
	vm_fail "$S.scrape" "$out $(head -c 300 /tmp/scrape.txt)"
fi

# 1. A real path failure: one journal entry with its fields, and the metrics.
t0=$(vm_now_ms)
vm_mpd "fail path sda" >/dev/null
if vm_wait 30 entries_are "$DOWN" sda 1; then
	vm_metric fail_path_to_journal_ms $(($(vm_now_ms) - t0)) ms
	if out=$(entry "$DOWN" sda | node -e '
		const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
		const [map, wwid, devt] = process.argv.slice(1);
		const want = { MULTIPATH_MAP: map, MULTIPATH_WWID: wwid, MULTIPATH_DEVICE: "sda", MULTIPATH_DEVT: devt,
			MULTIPATH_VALID_PATHS: "1", PRIORITY: "4", SYSLOG_IDENTIFIER: "multipath-dbus", _TRANSPORT: "journal", MULTIPATH_SYNTHESIZED: "0" };
		const bad = Object.entries(want).filter(([k, v]) => e[k] !== v).map(([k, v]) => `${k}=${e[k]} (want ${v})`);
		for (const k of ["MULTIPATH_SERIAL", "MULTIPATH_DM_SEQNUM"]) if (!/^[1-9][0-9]*$/.test(e[k] ?? "")) bad.push(`${k}=${e[k]}`);
		if (bad.length) { console.log(bad.join("; ")); process.exit(1); }
		console.log(`${e.MESSAGE} [serial ${e.MULTIPATH_SERIAL}, DM_SEQNUM ${e.MULTIPATH_DM_SEQNUM}]`);
	' "$MAP" "$WWID" "$SDA" 2>&1); then vm_pass "$S.journal-path-failed" "$out"; else vm_fail "$S.journal-path-failed" "$out"; fi
else
	vm_fail "$S.journal-path-failed" "no entry MESSAGE_ID=$DOWN MULTIPATH_DEVICE=sda within 30 s; journal: $(journalctl --no-pager -n 5 | tr '\n' '|')"
fi
if vm_wait 30 sample_is multipath_path_up 'device="sda"' 0 && sample_is multipath_path_failures_total 'device="sda"' 1 &&
	sample_is multipath_map_health "map=\"$MAP\",wwid=\"$WWID\",health=\"degraded\"" 1; then
	vm_pass "$S.metrics-path-failed" "path_up 0, failures_total 1, map degraded"
else
	vm_fail "$S.metrics-path-failed" "$(scrape | grep -E 'device="sda"|health="degraded"' | tr '\n' '|')"
fi

vm_mpd "reinstate path sda" >/dev/null
if vm_wait 30 entries_are "$UP" sda 1 && vm_wait 30 sample_is multipath_path_up 'device="sda"' 1; then
	vm_pass "$S.reinstated" "journal entry $UP; path_up 1"
else
	vm_fail "$S.reinstated" "$(scrape | grep 'device="sda"' | tr '\n' '|')"
fi

# 2. Failed and reinstated faster than any scrape: the counter still shows it.
vm_mpd "fail path sda" "reinstate path sda" >/dev/null
if vm_wait 30 sample_is multipath_path_failures_total 'device="sda"' 2 && vm_wait 30 sample_is multipath_path_reinstatements_total 'device="sda"' 2 &&
	sample_is multipath_path_up 'device="sda"' 1 && vm_wait 30 entries_are "$DOWN" sda 2; then
	vm_pass "$S.flap-counted" "failures_total 2, reinstatements_total 2, path_up 1, two path-down entries"
else
	vm_fail "$S.flap-counted" "$(scrape | grep 'device="sda"' | tr '\n' '|')"
fi
