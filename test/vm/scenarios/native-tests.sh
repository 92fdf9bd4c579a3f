#!/bin/bash
# The fast tier's native tests again, on a kernel that has device-mapper and lets root
# write sysfs: on a build machine without device-mapper the ones that need it are skipped
# (README, "Tests skipped on purpose"); here they run, and a skip is allowed only where
# that list names it (the one that needs a machine without device-mapper).
# vm-budget: 300
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=native-tests
vm_modprobe dm_mod
vm_modprobe dm_multipath
report=/tmp/native-tests.json
(cd "$VM_REPO" && node node_modules/vitest/vitest.mjs run test/native --reporter=json --outputFile.json="$report") >&2
node "$VM_REPO/.ci/vitest-totals.js" "$report" "$VM_REPO/README.md" --each | while read -r name status detail; do
	vm_result "$S.$name" "$status" "$detail"
done
[ -s "$report" ] || vm_fail "$S.report" "vitest wrote no report (log: logs/$S.log)"
