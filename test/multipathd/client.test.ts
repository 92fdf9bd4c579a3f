// The multipathd client against the simulator, which binds its abstract name with the exact
// length as multipathd does (Node's own net could not reach it).
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MultipathdClient, MultipathdError } from '../../src/multipathd/client';
import { decodeFrame, encodeFrame } from '../../src/multipathd/framing';
import { parseShowMaps } from '../../src/multipathd/maps-json';
import { defaultSocketCandidates } from '../../src/multipathd/socket-address';
import { MultipathdSimulator, type SimTopologyOptions } from '../../src/sim/simulator';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

const name = () => `@mpdbus-client-test-${process.pid}-${Math.random().toString(36).slice(2)}`;

async function setup(topology: SimTopologyOptions | 'small' = 'small', timeoutMs = 1000, maxReplyBytes?: number) {
  const sim = new MultipathdSimulator({ socket: name(), topology });
  await sim.listen();
  const client = new MultipathdClient({ socket: sim.socket, timeoutMs, maxReplyBytes });
  cleanup.push(() => client.close(), () => sim.close());
  return { sim, client };
}

const kindOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof MultipathdError ? e.kind : `other: ${(e as Error).message}`;
  }
};

describe('framing', () => {
  it('is a little-endian size_t counting the NUL, then the text and the NUL', () => {
    const f = encodeFrame('show maps json');
    expect(f.readBigUInt64LE(0)).toBe(15n);
    expect(f.subarray(8).toString()).toBe('show maps json\0');
    expect(decodeFrame(f, 100)).toMatchObject({ kind: 'frame', text: 'show maps json' });
    expect(decodeFrame(f.subarray(0, 10), 100).kind).toBe('need-more');
    expect(decodeFrame(f, 5).kind).toBe('too-large');
    expect(decodeFrame(Buffer.alloc(8), 5).kind).toBe('malformed');
  });

  it('defaults to the socket file, then the abstract name; MULTIPATH_SOCKET_NAME overrides', () => {
    expect(defaultSocketCandidates({})).toEqual(['/run/multipathd.socket', '@/org/kernel/linux/storage/multipathd']);
    expect(defaultSocketCandidates({ MULTIPATH_SOCKET_NAME: '/my/name' })).toEqual(['@/my/name']);
  });
});

describe('client against the simulator', () => {
  it('reads show maps json and sees a fail path take effect', async () => {
    const { sim, client } = await setup();
    const first = parseShowMaps(await client.request('show maps json'));
    expect(first.ok && first.value.maps.map((m) => m.name)).toEqual(['mpatha', 'mpathb']);
    expect(await client.request('fail path sda')).toBe('ok\n');
    const after = parseShowMaps(await client.request('show maps json'));
    expect(after.ok && after.value.maps[0].groups[0].paths[0]).toMatchObject({ dev: 'sda', dmState: 'failed', checkerState: 'faulty' });
    expect(sim.emitted).toHaveLength(1);
    expect(await client.request('fail path sdzz')).toBe('fail\n');
  });

  it('receives a multi-megabyte reply whole (1000 maps x 4 paths)', async () => {
    const { client } = await setup({ maps: 1000, pathsPerMap: 4 });
    const text = await client.request('show maps json');
    expect(text.length).toBeGreaterThan(2_000_000);
    const parsed = parseShowMaps(text);
    expect(parsed.ok && parsed.value.maps).toHaveLength(1000);
    expect(parsed.ok && parsed.value.repaired).toBe(false);
  });

  it('answers concurrent requests in order over one connection', async () => {
    const { client } = await setup();
    const replies = await Promise.all(['show version', 'show status', 'fail path sdb', 'show status'].map((c) => client.request(c)));
    expect(replies[0]).toMatch(/multipathd v0\.9\.4/);
    expect(replies[1]).toMatch(/paths: 4/);
    expect(replies[2]).toBe('ok\n');
    expect(replies[3]).toMatch(/faulty\s+1/);
  });

  it('times out on a hung multipathd, then recovers when it answers again', async () => {
    const { sim, client } = await setup('small', 300);
    sim.stall(true);
    expect(await kindOf(client.request('show maps json'))).toBe('timeout');
    sim.stall(false);
    expect(await client.request('show version')).toMatch(/multipathd/);
  });

  it('says multipathd is not running, naming the address', async () => {
    const client = new MultipathdClient({ socket: '@mpdbus-nobody-here' });
    const err = await client.request('show maps json').catch((e) => e as MultipathdError);
    expect(err).toBeInstanceOf(MultipathdError);
    expect(err.kind).toBe('not-running');
    expect(err.message).toContain('@mpdbus-nobody-here');
  });

  it('survives a restart mid-session: the next request reconnects', async () => {
    const { sim, client } = await setup();
    expect(await client.request('show version')).toMatch(/multipathd/);
    sim.stall(true);
    const inFlight = kindOf(client.request('show maps json'));
    await new Promise((r) => setTimeout(r, 50));
    await sim.die();
    expect(await inFlight).toBe('closed');
    expect(await kindOf(client.request('show version'))).toBe('not-running');
    sim.stall(false);
    await sim.listen();
    expect(await client.request('show version')).toMatch(/multipathd/);
  });

  it('refuses a reply over the cap and drops the connection', async () => {
    const { client } = await setup({ maps: 50, pathsPerMap: 4 }, 1000, 10_000);
    expect(await kindOf(client.request('show maps json'))).toBe('too-large');
    expect(await client.request('show version')).toMatch(/multipathd/);
  });

  it('prints invalid JSON for an unescaped product, as multipathd 0.9.4 does, and the parser copes', async () => {
    const { sim, client } = await setup();
    sim.setVendorProduct('ACME', 'Disk "Q\\1');
    const text = await client.request('show maps json');
    expect(() => JSON.parse(text)).toThrow();
    const parsed = parseShowMaps(text);
    expect(parsed.ok && parsed.value.repaired).toBe(true);
    expect(parsed.ok && parsed.value.maps.map((m) => m.product)).toEqual(['Disk "Q\\1', 'Disk "Q\\1']);
  });

  it('the simulator is bound with the exact length: Node\'s padded connect cannot reach it', async () => {
    const { sim } = await setup();
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect(`\0${sim.socket.slice(1)}`);
      s.on('connect', () => {
        s.destroy();
        resolve(undefined);
      });
      s.on('error', (e) => resolve(e));
    });
    expect(err?.code).toBe('ECONNREFUSED');
  });
});

describe('simulator consistency', () => {
  it("its uevent, dm status and JSON agree after a failure", async () => {
    const { sim } = await setup();
    const [d] = sim.failPath('sdc');
    const text = d.toString('latin1');
    expect(text.startsWith('change@/devices/virtual/block/dm-')).toBe(true);
    expect(text).toContain('\0DM_ACTION=PATH_FAILED\0');
    const map = sim.maps().find((m) => m.paths.some((p) => p.dev === 'sdc'))!;
    const dev = map.paths.find((p) => p.dev === 'sdc')!;
    expect(text).toContain(`\0DM_PATH=${dev.devT}\0DM_NR_VALID_PATHS=${map.paths.length - 1}\0`);
    const [status] = sim.dmTableStatus(map.name, false);
    expect(status.params).toContain(`${dev.devT} F 1`);
    expect(sim.failPath('sdc')).toEqual([]);
  });
});
