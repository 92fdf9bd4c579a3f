// The uid and pid behind a caller, asked of a real dbus-daemon once per unique name, forgotten when
// the name leaves the bus — as the bus driver says, not as another connection says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Callers } from '../../../../src/frontends/dbus/bus/callers';
import { connectBus, disconnect, onSignal, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { startPrivateBus, type PrivateBus } from '../../../helpers/dbus-daemon';
import { forgeLeaving } from '../../../../bench/hammer';

let bus: PrivateBus;
let service: BusConnection;
let callers: Callers;
beforeAll(async () => {
  bus = await startPrivateBus();
  service = await connectBus(bus.address);
  callers = new Callers(service);
  await callers.start();
});
afterAll(async () => {
  await callers?.stop();
  if (service) disconnect(service);
  await bus?.stop();
});

describe('callers', () => {
  it('knows a caller’s uid, asks once, and forgets it when its connection closes', async () => {
    const client = await connectBus(bus.address);
    const name = client.uniqueName;
    expect(callers.size).toBe(0);
    expect(await callers.uid(name)).toBe(process.getuid!());
    expect(await callers.credentials(name)).toEqual({ uid: process.getuid!(), pid: process.pid });
    expect(callers.size).toBe(1);
    disconnect(client);
    const end = Date.now() + 5000;
    while (callers.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(callers.size).toBe(0);
  });

  it('a name that is already gone has no uid and is not remembered', async () => {
    expect(await callers.uid(':1.999999')).toBeUndefined();
    expect(callers.size).toBe(0);
  });

  it('keeps a caller that another connection says has left (a forged NameOwnerChanged)', async () => {
    const client = await connectBus(bus.address);
    const forger = await connectBus(bus.address);
    try {
      expect(await callers.uid(client.uniqueName)).toBe(process.getuid!());
      // A signal the forger sends after the forged one: the bus keeps one sender's messages in order.
      let marked!: () => void;
      const marker = new Promise<void>((r) => (marked = r));
      const unsubscribe = await onSignal(service, { sender: forger.uniqueName, iface: 'org.example.Test', member: 'After' }, () => marked());
      forgeLeaving(forger, service.uniqueName, client.uniqueName);
      forger.sendSignal('/', 'org.example.Test', 'After', '', []);
      await marker;
      await unsubscribe();
      expect(callers.size).toBe(1);
    } finally {
      disconnect(client);
      disconnect(forger);
    }
  });
});
