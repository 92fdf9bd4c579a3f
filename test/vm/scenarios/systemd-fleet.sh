#!/bin/bash
# vm-boot: systemd
# The fleet view from the installed, hardened unit with systemd as PID 1: a real path
# failure is one structured entry in the system journal (journalctl MESSAGE_ID=... -o json,
# with its fields; journalctl -x explains it from the installed catalog), and with the
# shipped metrics drop-in the endpoint and the textfile count it. The same for an NVMe path
# (native multipath over NVMe/TCP on 127.0.0.1, nvme-lib.sh) whose port reports its ANA group
# inaccessible.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"
# shellcheck source=../nvme-lib.sh
. "$VM_REPO/test/vm/nvme-lib.sh"

S=systemd-fleet
U=multipath-dbus.service
PORT=9664
TEXTFILE=/var/lib/prometheus/node-exporter
# The scenarios after this one in the same boot must find the unit as installed.
cleanup() {
	systemctl stop "$U" 2>/dev/null
	rm -rf "/etc/systemd/system/$U.d" "$TEXTFILE"
	systemctl daemon-reload
	nvme_down
}
trap cleanup EXIT

vm_multipath_up 2 2 add_host=2 vpd_use_hostno=0 max_luns=2 || {
	vm_fail "$S.setup" "multipathd.service did not build 2 maps x 2 paths"
	exit 1
}
# Connected before the unit starts: it finds the namespace beside the dm maps.
nvme_target_up optimized non-optimized && nvme_connect_both || vm_fail "$S.setup" "no NVMe/TCP target with two connected paths (see the log)"
if ! out=$(cd "$VM_REPO" && bash scripts/install-system.sh 2>&1); then
	vm_fail "$S.setup" "install-system: $(echo "$out" | tail -n 3 | tr '\n' '|')"
	exit 1
fi
printf 'enable = yes\nmetrics_listen = 127.0.0.1:%s\nmetrics_textfile = %s\n' "$PORT" "$TEXTFILE" >"$VM_SERVICE_CONF"
mkdir -p "$TEXTFILE" /etc/systemd/system/$U.d
cp "$VM_REPO/contrib/systemd/metrics.conf" /etc/systemd/system/$U.d/
systemctl daemon-reload
if ! systemctl start "$U"; then
	vm_fail "$S.start" "$(journalctl -b --no-pager -u "$U" | tail -n 5 | tr '\n' '|')"
	exit 1
fi
complaints=$(journalctl -b --no-pager -o cat _PID=1 | grep -F "$U.d/metrics.conf:")
if [ -z "$complaints" ]; then vm_pass "$S.drop-in" "systemd took every line of contrib/systemd/metrics.conf"; else vm_fail "$S.drop-in" "$complaints"; fi

id_of() { node -e 'process.stdout.write(require(process.argv[1]).JOURNAL_KINDS[process.argv[2]].id)' "$VM_REPO/dist/outputs/journal/entries.js" "$1"; }
sample() { curl -sf -m 10 "http://127.0.0.1:$PORT/metrics" | grep -E "^$1\{[^}]*$2[^}]*\} " | awk '{print $2}'; }
sample_is() { [ "$(sample "$1" "$2")" = "$3" ]; }
text_is() { [ "$(grep -E "^$1\{[^}]*$2[^}]*\} " "$TEXTFILE/multipath-dbus.prom" 2>/dev/null | awk '{print $2}')" = "$3" ]; }
DOWN=$(id_of PathFailed)
SDA=$(vm_dev_t sda)
MAP=$(multipathd show paths raw format '%d %m' | awk '$1 == "sda" {print $2}')
WWID=$(multipathd show maps raw format '%n %w' | awk -v m="$MAP" '$1 == m {print $2}')
vm_wait 60 sample_is multipath_path_up 'device="sda"' 1 || vm_fail "$S.scrape" "no metrics at 127.0.0.1:$PORT: $(journalctl -b --no-pager -u "$U" | tail -n 3 | tr '\n' '|')"

t0=$(vm_now_ms)
vm_mpd "fail path sda" >/dev/null
if entry=$(vm_journal_wait 30 '"MULTIPATH_DEVICE":"sda"' MESSAGE_ID="$DOWN" _SYSTEMD_UNIT="$U"); then
	vm_metric systemd_fail_path_to_journal_ms $(($(vm_now_ms) - t0)) ms
	if out=$(echo "$entry" | head -n 1 | node -e '
		const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
		const [map, wwid, devt] = process.argv.slice(1);
		const want = { MULTIPATH_MAP: map, MULTIPATH_WWID: wwid, MULTIPATH_DEVICE: "sda", MULTIPATH_DEVT: devt, MULTIPATH_VALID_PATHS: "1",
			PRIORITY: "4", SYSLOG_IDENTIFIER: "multipath-dbus", _TRANSPORT: "journal", MULTIPATH_SYNTHESIZED: "0" };
		const bad = Object.entries(want).filter(([k, v]) => e[k] !== v).map(([k, v]) => `${k}=${e[k]} (want ${v})`);
		for (const k of ["MULTIPATH_SERIAL", "MULTIPATH_DM_SEQNUM"]) if (!/^[1-9][0-9]*$/.test(e[k] ?? "")) bad.push(`${k}=${e[k]}`);
		if (bad.length) { console.log(bad.join("; ")); process.exit(1); }
		console.log(`${e.MESSAGE} [MULTIPATH_SERIAL=${e.MULTIPATH_SERIAL} MULTIPATH_DM_SEQNUM=${e.MULTIPATH_DM_SEQNUM} _SYSTEMD_UNIT=${e._SYSTEMD_UNIT}]`);
	' "$MAP" "$WWID" "$SDA" 2>&1); then vm_pass "$S.journal-path-failed" "$out"; else vm_fail "$S.journal-path-failed" "$out"; fi
else
	vm_fail "$S.journal-path-failed" "no MESSAGE_ID=$DOWN entry for sda from $U; its journal: $(journalctl -b --no-pager -u "$U" | tail -n 3 | tr '\n' '|')"
fi
if x=$(journalctl -b --no-pager -x MESSAGE_ID="$DOWN" MULTIPATH_DEVICE=sda 2>&1) && echo "$x" | grep -q "Subject: Multipath path sda of $MAP failed"; then
	vm_pass "$S.catalog" "journalctl -x: $(echo "$x" | grep -m1 'Subject:' | sed 's/^[ -]*//')"
else
	vm_fail "$S.catalog" "$(echo "$x" | tail -n 4 | tr '\n' '|')"
fi
if vm_wait 30 sample_is multipath_path_failures_total 'device="sda"' 1 && sample_is multipath_path_up 'device="sda"' 0 &&
	vm_wait 30 text_is multipath_path_failures_total 'device="sda"' 1; then
	vm_pass "$S.metrics" "under the hardened unit + drop-in: endpoint and textfile ($(stat -c %a "$TEXTFILE/multipath-dbus.prom")) show sda down, 1 failure"
else
	vm_fail "$S.metrics" "endpoint: $(sample multipath_path_failures_total 'device="sda"'); textfile: $(ls -l "$TEXTFILE" | tr '\n' '|')"
fi
vm_mpd "reinstate path sda" >/dev/null

# An NVMe path fails the same way to the journal and the metrics: with its kind, ANA state and
# controller in the entry (no dev_t, no dm seqnum; synthesized, as the poll's read found it and
# no kernel event announced it), counted under its name.
NVME_WWID=$(cat /sys/block/nvme0n1/wwid 2>/dev/null)
vm_wait 30 sample_is multipath_path_up 'device="nvme0c1n1"' 1 || vm_fail "$S.nvme-scrape" "nvme0c1n1 not in the metrics: $(curl -sf -m 10 "http://127.0.0.1:$PORT/metrics" | grep -c nvme) nvme lines"
t0=$(vm_now_ms)
nvme_port_ana 2 inaccessible
if entry=$(vm_journal_wait 30 '"MULTIPATH_DEVICE":"nvme0c1n1"' MESSAGE_ID="$DOWN" _SYSTEMD_UNIT="$U"); then
	vm_metric systemd_nvme_ana_inaccessible_to_journal_ms $(($(vm_now_ms) - t0)) ms
	if out=$(echo "$entry" | head -n 1 | node -e '
		const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
		const [wwid, nqn] = process.argv.slice(1);
		const want = { MULTIPATH_KIND: "nvme", MULTIPATH_ANA_STATE: "inaccessible", MULTIPATH_CONTROLLER: "nvme1", MULTIPATH_CONTROLLER_STATE: "live",
			MULTIPATH_SUBSYSTEM_NQN: nqn, MULTIPATH_MAP: "nvme0n1", MULTIPATH_WWID: wwid, MULTIPATH_VALID_PATHS: "1", PRIORITY: "4",
			SYSLOG_IDENTIFIER: "multipath-dbus", _TRANSPORT: "journal", MULTIPATH_SYNTHESIZED: "1" };
		const bad = Object.entries(want).filter(([k, v]) => e[k] !== v).map(([k, v]) => `${k}=${e[k]} (want ${v})`);
		for (const k of ["MULTIPATH_DEVT", "MULTIPATH_DM_SEQNUM"]) if (k in e) bad.push(`${k}=${e[k]} (want none)`);
		if (!/^[1-9][0-9]*$/.test(e.MULTIPATH_SERIAL ?? "")) bad.push(`MULTIPATH_SERIAL=${e.MULTIPATH_SERIAL}`);
		if (bad.length) { console.log(bad.join("; ")); process.exit(1); }
		console.log(`${e.MESSAGE} [MULTIPATH_KIND=${e.MULTIPATH_KIND} MULTIPATH_ANA_STATE=${e.MULTIPATH_ANA_STATE} MULTIPATH_CONTROLLER=${e.MULTIPATH_CONTROLLER} MULTIPATH_SERIAL=${e.MULTIPATH_SERIAL}]`);
	' "$NVME_WWID" "$NVME_NQN" 2>&1); then vm_pass "$S.nvme-journal-path-failed" "$out"; else vm_fail "$S.nvme-journal-path-failed" "$out"; fi
else
	vm_fail "$S.nvme-journal-path-failed" "no MESSAGE_ID=$DOWN entry for nvme0c1n1 from $U; its journal: $(journalctl -b --no-pager -u "$U" | tail -n 3 | tr '\n' '|')"
fi
labels="map=\"nvme0n1\",wwid=\"$NVME_WWID\",device=\"nvme0c1n1\""
if vm_wait 30 sample_is multipath_path_failures_total "$labels" 1 && sample_is multipath_path_up "$labels" 0 &&
	vm_wait 30 text_is multipath_path_failures_total "$labels" 1; then
	vm_pass "$S.nvme-metrics" "endpoint and textfile: multipath_path_failures_total{$labels} 1, multipath_path_up 0"
else
	vm_fail "$S.nvme-metrics" "endpoint: failures $(sample multipath_path_failures_total 'device="nvme0c1n1"') up $(sample multipath_path_up 'device="nvme0c1n1"'); textfile: $(grep -c nvme0c1n1 "$TEXTFILE/multipath-dbus.prom" 2>&1)"
fi
