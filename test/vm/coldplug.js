// In the VM: compares what the service publishes on the system bus (`multipath-dbus show
// --json`) with multipathd's own view (`multipathd show maps json`) and the kernel's
// (`dmsetup status --target multipath`): the same maps, names, paths and dev_t's, sizes,
// per-path states, every map optimal with PATHS paths. Prints a one-line summary; exits 1
// with the differences.   node test/vm/coldplug.js PATHS
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const read = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8' });
const mpd = JSON.parse(read('multipathd', 'show', 'maps', 'json'));
const dm = read('dmsetup', 'status', '--target', 'multipath');
const pub = JSON.parse(read(process.execPath, path.join(__dirname, '..', '..', 'bin', 'multipath-dbus'), 'show', '--json', '--bus', 'system'));
const want = Number(process.argv[2]);
const bad = [];
if (pub.length !== mpd.maps.length) bad.push(`maps ${pub.length} != ${mpd.maps.length}`);
for (const m of mpd.maps) {
  const p = pub.find((x) => x.Wwid === m.uuid);
  if (!p) {
    bad.push(`missing ${m.uuid}`);
    continue;
  }
  if (p.Name !== m.name || p.SysfsName !== m.sysfs) bad.push(`${m.name}: name/sysfs ${p.Name}/${p.SysfsName}`);
  const mpaths = m.path_groups.flatMap((g) => g.paths.map((x) => `${x.dev}=${x.dev_t}`)).sort().join();
  const ppaths = p.PathGroups.flatMap((g) => g.Paths.map((x) => `${x.Device}=${x.DevT}`)).sort().join();
  if (mpaths !== ppaths) bad.push(`${m.name}: paths ${ppaths} != ${mpaths}`);
  const line = dm.split('\n').find((l) => l.startsWith(`${m.name}:`));
  if (!line) {
    bad.push(`${m.name}: not in dmsetup status`);
    continue;
  }
  const sectors = Number(line.split(' ')[2]);
  if (p.Size !== sectors * 512) bad.push(`${m.name}: Size ${p.Size} != ${sectors * 512}`);
  for (const g of p.PathGroups) {
    for (const x of g.Paths) {
      const k = new RegExp(`${x.DevT} ([AF])`).exec(line)?.[1];
      if ((k === 'A') !== (x.DmState === 'active')) bad.push(`${x.Device}: DmState ${x.DmState} vs dm ${k}`);
    }
  }
  if (p.NumPaths !== want || p.ValidPaths !== want || p.Health !== 'optimal') bad.push(`${m.name}: ${p.ValidPaths}/${p.NumPaths} ${p.Health}`);
}
if (bad.length) {
  console.log(bad.join('; '));
  process.exit(1);
}
console.log(`${pub.length} maps, ${pub.reduce((n, m) => n + m.NumPaths, 0)} paths equal multipathd and dmsetup`);
