// The README's "Clients" snippets, taken from README.md itself (so the text cannot drift from
// what is tested) and run unchanged against the real service on a private bus: the system bus
// is wherever DBUS_SYSTEM_BUS_ADDRESS says, for busctl, gdbus, GLib in C and in Python alike.
// Each one is watching when the simulator fails a path, and must say so.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { pathObjectPath } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { openCockpit } from '../helpers/cockpit';
import { startGroup, type GroupRun } from '../helpers/process-group';
import { startHarness, type Harness } from '../helpers/service-harness';

const REPO = path.resolve(__dirname, '..', '..');

/** The fenced block after `<!-- snippet: NAME -->` in README.md. */
function snippet(name: string): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const m = readme.split(`<!-- snippet: ${name} -->\n`)[1]?.match(/^```\w*\n([\s\S]*?)^```$/m);
  if (!m) throw new Error(`README.md has no snippet "${name}"`);
  return m[1];
}

let h: Harness;
let dir: string;
let running: GroupRun | undefined;
beforeAll(async () => {
  h = await startHarness('small');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpd-readme-'));
});
afterEach(async () => {
  // Ctrl-C, as its user would stop it; then the path the test failed comes back.
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.signal('SIGINT');
    await running.exited;
  }
  running = undefined;
  const sda = h.sim.maps()[0].paths[0];
  if (sda.failed) {
    h.kernel(h.sim.reinstatePath(sda.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
  }
  h.signals.length = 0;
});
afterAll(async () => {
  await h?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run a shell script as its reader would, in `dir`, on the private bus, with line-buffered stdio (as on a terminal). */
const start = (script: string) =>
  (running = startGroup('stdbuf', ['-oL', 'sh', '-ec', script], { cwd: dir, env: { DBUS_SYSTEM_BUS_ADDRESS: h.bus.address } }));

/** Within the test's own time limit, so that a miss says what was printed instead. */
const SAYS_MS = 10_000;

const sda = () => h.sim.maps()[0].paths[0];
const failSda = () => h.kernel(h.sim.failPath(sda().dev));

it('busctl: reads the Manager, fails and reinstates a path, then watches the signals', async () => {
  const g = start(snippet('busctl'));
  const maps = h.sim.maps().length;
  await g.waitFor(new RegExp(`^s "optimal"\\nao ${maps} "/org/kernel/linux/storage/multipath1/maps/`, 'm'), SAYS_MS);
  await g.waitFor(/^s "failed"$/m, SAYS_MS);
  await g.waitFor(/Monitoring bus message stream\./, SAYS_MS);
  expect(h.signals.filter((s) => s.member === 'PathFailed').map((s) => s.args[0])).toEqual([pathObjectPath('sdb')]);
  failSda();
  await g.waitFor(new RegExp(`Member=PathFailed[\\s\\S]*OBJECT_PATH "${pathObjectPath('sda')}"`), SAYS_MS);
});

/**
 * Until a connection has asked the bus for `owner`'s signals: gdbus monitor prints "… is owned
 * by :1.N" and only then subscribes, so its output cannot say when it is listening; the bus can.
 */
async function subscribedTo(owner: string): Promise<void> {
  const end = Date.now() + SAYS_MS;
  for (;;) {
    const [rules] = (await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Debug.Stats', 'GetAllMatchRules', '', [])) as [
      Record<string, string[]>,
    ];
    if (Object.values(rules).some((r) => r.some((rule) => rule.includes(`sender='${owner}'`)))) return;
    if (Date.now() > end) throw new Error(`nobody subscribed to ${owner}'s signals: ${JSON.stringify(rules)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('gdbus: prints every object with its properties, then watches the signals', async () => {
  const g = start(snippet('gdbus'));
  await subscribedTo((await g.waitFor(/is owned by (:[\d.]+)/, SAYS_MS)).match(/is owned by (:[\d.]+)/)![1]);
  const out = g.output();
  for (const m of h.sim.maps()) expect(out).toContain(`readonly s Name = '${m.name}';`);
  expect(out.match(/readonly s Health = 'optimal';/g)).toHaveLength(1 + h.sim.maps().length);
  failSda();
  await g.waitFor(new RegExp(`Map\\.PathFailed \\(objectpath '${pathObjectPath('sda')}', '${sda().devT}', uint32 1,`), SAYS_MS);
});

it('C: the generated client builds with the commands given, lists the maps and reports a failure', async () => {
  fs.writeFileSync(path.join(dir, 'mpd-watch.c'), snippet('mpd-watch.c'));
  fs.symlinkSync(path.join(REPO, 'dbus'), path.join(dir, 'dbus'));
  const g = start(snippet('build-c'));
  for (const m of h.sim.maps()) await g.waitFor(new RegExp(`^${m.name} optimal ${m.paths.length}/${m.paths.length} paths$`, 'm'), 30_000);
  failSda();
  await g.waitFor(new RegExp(`^${h.sim.maps()[0].name} lost ${pathObjectPath('sda')}: 1 valid paths left$`, 'm'), SAYS_MS);
});

it('Python with GLib: lists the maps and reports a failure and its reinstatement', async () => {
  fs.writeFileSync(path.join(dir, 'multipath-watch.py'), snippet('multipath-watch.py'));
  // Debian's python3-gi is for Debian's python3 (not one first on PATH from elsewhere, e.g. pyenv).
  const g = start('exec /usr/bin/python3 multipath-watch.py');
  for (const m of h.sim.maps()) await g.waitFor(new RegExp(`^${m.name} optimal ${m.paths.length}/${m.paths.length} paths$`, 'm'), SAYS_MS);
  failSda();
  await g.waitFor(new RegExp(`^PathFailed ${pathObjectPath('sda')} 1 valid paths$`, 'm'), SAYS_MS);
  h.kernel(h.sim.reinstatePath(sda().dev));
  await g.waitFor(new RegExp(`^PathReinstated ${pathObjectPath('sda')} 2 valid paths$`, 'm'), SAYS_MS);
});

it("Cockpit: the page script reads the Manager, builds proxies() for every map and path, and hears a path fail", async () => {
  // In the built page (which loads Cockpit's own base1/cockpit.js), in Debian's cockpit-ws and Chromium.
  const cockpit = await openCockpit(h.bus.address);
  try {
    const logged: string[] = [];
    cockpit.page.on('console', (m) => logged.push(m.text()));
    await cockpit.page.goto(cockpit.ws.pageUrl);
    await cockpit.page.evaluate(`{${snippet('cockpit')}}`);
    const says = async (re: RegExp) => expect.poll(() => logged.find((l) => re.test(l)), { timeout: SAYS_MS }).toBeDefined();
    await says(new RegExp(`^health optimal ${h.sim.maps().length} maps$`));
    // cockpit.js refuses an interface that uses one name for two members ("Cannot redefine property").
    await says(new RegExp(`^${h.sim.maps().length} map proxies$`));
    failSda();
    await says(new RegExp(`lost ${pathObjectPath('sda')}$`));
    await says(/^sda is failed$/);
  } finally {
    await cockpit.stop();
  }
}, 45_000);
