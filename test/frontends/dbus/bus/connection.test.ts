// A call never waits for ever: dbus-next leaves a call pending when its connection goes,
// so stopping a command whose bus died with it used to hang (issue: one Ctrl-C).
import { describe, expect, it } from 'vitest';
import { BUS_NAME } from '../../../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, requestName, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { startPrivateBus } from '../../../../src/cli/private-bus';
import { killGroup, startGroup, type GroupRun } from '../../../helpers/process-group';
import { CLI } from '../../../helpers/service-harness';

/** A service that owns the name, then stops (SIGSTOP): calls reach it and are never answered. */
async function silentPeer(address: string): Promise<GroupRun> {
  const g = startGroup(CLI, ['serve', '--enable', '--no-kernel', '--config', '/nonexistent', '--socket', '@nobody-listens', '--bus', address]);
  await g.waitFor(/serving \d+ maps on/);
  g.signal('SIGSTOP');
  return g;
}

const ask = (bus: BusConnection, timeoutMs?: number) => callMethod(bus, BUS_NAME, '/', 'org.freedesktop.DBus.Peer', 'Ping', '', [], { timeoutMs });

describe('a call whose reply does not come', () => {
  it('fails with Disconnected when the bus goes away (dbus-daemon killed)', async () => {
    const bus = await startPrivateBus();
    const client = await connectBus(bus.address);
    const peer = await silentPeer(bus.address);
    const outcome = ask(client).then(
      () => 'answered',
      (e: Error & { type?: string }) => e.type,
    );
    await bus.stop();
    expect(await outcome).toBe('org.freedesktop.DBus.Error.Disconnected');
    killGroup(peer);
  });

  it('fails with Disconnected when we close the connection ourselves, and at once afterwards', async () => {
    const bus = await startPrivateBus();
    try {
      const client = await connectBus(bus.address);
      const peer = await silentPeer(bus.address);
      const pending = ask(client).catch((e: { type?: string }) => e.type);
      disconnect(client);
      expect(await pending).toBe('org.freedesktop.DBus.Error.Disconnected');
      await expect(ask(client)).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.Disconnected' });
      killGroup(peer);
    } finally {
      await bus.stop();
    }
  });

  it('fails with NoReply after its timeout; the connection stays usable', async () => {
    const bus = await startPrivateBus();
    try {
      const client = await connectBus(bus.address);
      const peer = await silentPeer(bus.address);
      const t0 = Date.now();
      await expect(ask(client, 200)).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.NoReply' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      killGroup(peer);
      // The connection is still good: the name the stopped peer held can be taken now.
      await waitUntil(async () => requestName(client, BUS_NAME).then(() => true, () => false));
      disconnect(client);
    } finally {
      await bus.stop();
    }
  });
});

async function waitUntil(cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}
