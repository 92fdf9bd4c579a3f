// A method call that asks for no reply (NO_REPLY_EXPECTED) and has an effect is still carried
// out, whether or not it names its interface (D-Bus lets a call leave it out when the object
// has one method of that name). Found by the surface fuzzer: root's interface-less Path.Fail
// with the flag was dropped without a word, while the same call naming Path was carried out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATH_IFACE, pathObjectPath } from '../../../../src/frontends/dbus/api';
import { NO_REPLY_EXPECTED, RawBusClient } from '../../../helpers/raw-bus-client';
import { BUS_NAME, startHarness, type Harness } from '../../../helpers/service-harness';

describe('a call that asks for no reply', () => {
  let h: Harness;
  let root: RawBusClient;
  beforeAll(async () => {
    h = await startHarness('small');
    root = await RawBusClient.connect(h.bus.socketPath, 0);
  });
  afterAll(async () => {
    await root?.close();
    await h?.stop();
  });

  it.each([
    ['naming its interface', PATH_IFACE],
    ['without an interface', undefined],
  ])('%s: Path.Fail reaches multipathd', async (_how, iface) => {
    const dev = h.sim.maps()[0].paths[iface ? 0 : 1].dev;
    const call = { destination: BUS_NAME, path: pathObjectPath(dev), interface: iface, member: 'Fail', signature: 'a{sv}', body: [[]] };
    expect(await root.call({ ...call, flags: NO_REPLY_EXPECTED })).toBeUndefined();
    await h.waitFor(() => h.sim.requests.includes(`fail path ${dev}`), `fail path ${dev}`);
  });
});
