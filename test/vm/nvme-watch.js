// The NVMe reader and its silent-state poll on the guest's real /sys, for scenarios: prints
// one line per reading and per change, each after its Date.now() ms (vm_now_ms's clock).
//   node nvme-watch.js DIST [SYSFS]
//   <ms> READ multipath=Y|N|- subsystems=N <subsys> <nqn> <ns>[<path>:<ctrl>:<ctrl state>:<ana state>:<group> ...] problems=N
//   <ms> LISTENING                      (the first reading is out; the poll runs every 1 s)
//   <ms> CHANGE ana-state <path> <previous> <current>
//   <ms> CHANGE controller-state <ctrl> <previous> <current>   ("deleting (no IO)" as deleting_(no_IO))
//   <ms> GONE <device>                  (then the tree is read again on the next 3 polls, as the
//                                        uevents of the removal would make the service do; a
//                                        READ line is printed when the reading differs)
'use strict';
const dist = process.argv[2];
const root = process.argv[3] || '/sys';
const { readNvme } = require(`${dist}/sources/nvme/reader`);
const { SilentStatePoll } = require(`${dist}/sources/nvme/silent-poll`);

const word = (s) => String(s).replace(/ /g, '_');
const out = (line) => process.stdout.write(`${Date.now()} ${line}\n`);

let last = '';
function read() {
  const r = readNvme(root);
  const parts = [`multipath=${r.nativeMultipath === undefined ? '-' : r.nativeMultipath ? 'Y' : 'N'}`, `subsystems=${r.subsystems.length}`];
  for (const s of r.subsystems) {
    const state = new Map(s.controllers.map((c) => [c.name, word(c.state)]));
    parts.push(s.name, s.nqn);
    for (const ns of s.namespaces) {
      parts.push(`${ns.name}[${ns.paths.map((p) => `${p.name}:${p.controller}:${state.get(p.controller)}:${p.anaState}:${p.anaGroup}`).join(' ')}]`);
    }
  }
  parts.push(`problems=${r.problems.length}`);
  const line = `READ ${parts.join(' ')}`;
  if (line !== last) {
    out(line);
    for (const p of r.problems) out(`PROBLEM ${p}`);
  }
  last = line;
  return new SilentStatePoll(r, root);
}

let poll = read();
let rereads = 0;
out('LISTENING');
setInterval(() => {
  const changes = poll.poll();
  for (const c of changes) {
    if (c.kind === 'gone') out(`GONE ${c.device}`);
    else out(`CHANGE ${c.kind} ${c.kind === 'ana-state' ? c.path : c.controller} ${word(c.previous)} ${word(c.current)}`);
  }
  if (changes.some((c) => c.kind === 'gone')) rereads = 3;
  if (rereads > 0) {
    rereads--;
    // The old poll's kept files are closed (a gone device's were already).
    poll.close();
    poll = read();
  }
}, 1000);
