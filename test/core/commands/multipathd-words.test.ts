// What the service puts into multipathd's command line, against the real service on a
// private bus with the multipathd simulator: a map or path name multipathd's tokenizer
// would read as more than one word (or as a quote, a brace, a comment) is never sent, and
// a command is written for the object as it is once authorization has answered, which
// may be minutes after the call (a password typed into an agent), not as it was before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath } from '../../../src/frontends/dbus/api';
import { callMethod, DBusCallError } from '../../../src/frontends/dbus/bus/connection';
import type { SimMap } from '../../../src/sim/topology';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../../helpers/service-harness';
import type { Authority } from '../../../src/core/ports';

/** Authorizes everyone, but while held keeps each decision back until released (a user at a password prompt). */
class HeldAuthority implements Authority {
  held = false;
  asked = 0;
  private readonly waiting: (() => void)[] = [];

  async identify(sender: string) {
    return { sender, uid: 1000, pid: 0, unit: '' };
  }

  async authorize() {
    this.asked++;
    if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    return { ok: true as const, by: 'polkit' as const };
  }

  release(): void {
    this.held = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

let h: Harness;
const authority = new HeldAuthority();
const ERR = `${BUS_NAME}.Error.`;

/** The error the call ended with ('' for success). */
async function call(object: string, iface: string, member: string, signature = 'a{sv}', args: unknown[] = [{}]): Promise<string> {
  try {
    await callMethod(h.client, BUS_NAME, object, iface, member, signature, args);
    return '';
  } catch (e) {
    if (e instanceof DBusCallError) return `${e.type}: ${e.detail}`;
    throw e;
  }
}

/** Commands that change something, sent to the simulator since `from`. */
const changes = (from: number) => h.sim.requests.slice(from).filter((r) => !/^(show|list) /.test(r));

/** A read that began after the simulated host changed has been published. */
async function reread(): Promise<void> {
  expect(await call(ROOT_PATH, MANAGER_IFACE, 'Refresh', '', [])).toBe('');
}

const published = (wwid: string) => h.service.topology.get(wwid);
const simMap = (i: number): SimMap => h.sim.topology.maps[i];

describe.skipIf(process.getuid?.() !== 0)('names in multipathd commands', () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 3, pathsPerMap: 2, groupsPerMap: 2 }, {}, undefined, { authority });
  });
  afterAll(async () => h?.stop());

  // Blanks and bytes outside ASCII separate words; a quote, a brace and `!`/`#` are tokens of their own.
  const BAD = [' ', '\t', '"', '{', '}', '#', '!', '\n', 'é', ';'];

  it.each(BAD)('a map whose device-mapper name holds %j: SwitchGroup is InvalidArgs and multipathd is sent nothing', async (ch) => {
    const map = simMap(0);
    const name = map.name;
    map.name = `mpath${ch}x`;
    try {
      await reread();
      expect(published(map.wwid)?.name).toBe(map.name);
      const [from, asked] = [h.sim.requests.length, authority.asked];
      const error = await call(mapObjectPath(map.wwid), MAP_IFACE, 'SwitchGroup', 'ua{sv}', [2, {}]);
      expect(error).toBe(
        `org.freedesktop.DBus.Error.InvalidArgs: the device-mapper name of map ${map.wwid} has bytes multipathd would not read as one word (it is sent only ASCII letters, digits and ._:+@=-)`,
      );
      expect(changes(from)).toEqual([]);
      // Refused at the door: nobody was asked to authorize it.
      expect(authority.asked).toBe(asked);
    } finally {
      map.name = name;
      await reread();
    }
  });

  it.each(BAD.filter((ch) => ch !== '\n'))('a path whose kernel name holds %j: Fail is InvalidArgs and multipathd is sent nothing', async (ch) => {
    const path = simMap(1).paths[0];
    const dev = path.dev;
    path.dev = `sd${ch}x`;
    try {
      await reread();
      expect([...published(simMap(1).wwid)!.paths.values()].map((p) => p.device)).toContain(path.dev);
      const from = h.sim.requests.length;
      expect(await call(pathObjectPath(path.dev), PATH_IFACE, 'Fail')).toBe(
        `org.freedesktop.DBus.Error.InvalidArgs: the kernel name of path ${path.devT} has bytes multipathd would not read as one word (it is sent only ASCII letters, digits and ._:+@=-)`,
      );
      expect(changes(from)).toEqual([]);
      expect(path.failed).toBe(false);
    } finally {
      path.dev = dev;
      await reread();
    }
  });

  it('names that are one word are sent as they are', async () => {
    const map = simMap(0);
    const name = map.name;
    map.name = 'Vol_1.a:b+c@d=e-f';
    try {
      await reread();
      const from = h.sim.requests.length;
      expect(await call(mapObjectPath(map.wwid), MAP_IFACE, 'SwitchGroup', 'ua{sv}', [2, {}])).toBe('');
      expect(changes(from)).toEqual(['switchgroup map Vol_1.a:b+c@d=e-f group 2']);
    } finally {
      map.name = name;
      await reread();
    }
  });

  describe('while authorization is being asked', () => {
    /** Start the call, and resolve once it waits for its authorization. */
    async function held(object: string, iface: string, member: string): Promise<{ from: number; result: Promise<string> }> {
      authority.held = true;
      const asked = authority.asked;
      const from = h.sim.requests.length;
      const result = call(object, iface, member);
      await expect.poll(() => authority.asked, { timeout: 10_000 }).toBe(asked + 1);
      return { from, result };
    }

    it('dm-N became another map: the command names the map the caller asked for', async () => {
      const [a, b] = [simMap(0), simMap(1)];
      a.diskSectors += 2048;
      const { from, result } = await held(mapObjectPath(a.wwid), MAP_IFACE, 'Resize');
      // Both maps were re-created meanwhile, each under the other's minor: dm-0 is b now.
      [a.minor, b.minor] = [b.minor, a.minor];
      await reread();
      expect(published(a.wwid)?.sysfsName).toBe(`dm-${a.minor}`);
      authority.release();
      expect(await result).toBe('');
      expect(changes(from)).toEqual([`resize map dm-${a.minor}`]);
      expect(published(a.wwid)?.size).toBe(BigInt(a.diskSectors) * 512n);
      expect(b.sizeSectors).toBe(b.diskSectors);
    });

    it('the kernel name now belongs to another disk: Failed, and multipathd is sent nothing', async () => {
      const [p, q] = [simMap(0).paths[0], simMap(1).paths[0]];
      const dev = p.dev;
      const { from, result } = await held(pathObjectPath(dev), PATH_IFACE, 'Fail');
      // The disk went away and the kernel gave its name to another one (of another map).
      [p.dev, q.dev] = [q.dev, p.dev];
      await reread();
      authority.release();
      expect(await result).toBe(
        `${ERR}Failed: ${pathObjectPath(dev)} names another device (dev_t ${q.devT}) than when the call was made (dev_t ${p.devT}); nothing was done`,
      );
      expect(changes(from)).toEqual([]);
      expect(p.failed || q.failed).toBe(false);
    });

    it('the map went away: NotFound, and multipathd is sent nothing', async () => {
      const map = simMap(2);
      const { from, result } = await held(mapObjectPath(map.wwid), MAP_IFACE, 'Resize');
      h.sim.removeMap(map.name);
      await reread();
      authority.release();
      expect(await result).toBe(`${ERR}NotFound: ${mapObjectPath(map.wwid)} went away while the call was being authorized`);
      expect(changes(from)).toEqual([]);
    });
  });
});
