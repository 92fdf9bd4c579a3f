// Unix file descriptors in calls to the service, from an unprivileged user. The service never
// negotiates descriptor passing, so the bus refuses a call that carries descriptors; but the
// bus does not check 'h' indexes, so a call with 'h' values and no descriptors reaches the
// service. dbus-next threw on it where nothing could catch it, and the real `serve` exited:
// one Peer.Ping with signature "h" from uid 65534 took the service off the bus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../../../src/cli/private-bus';
import { killGroup, startGroup, type GroupRun } from '../../../helpers/process-group';
import { NOBODY, RawBusClient, type RawCall } from '../../../helpers/raw-bus-client';
import { BUS_NAME, CLI, ROOT_PATH } from '../../../helpers/service-harness';

const ping = (more: Partial<RawCall> = {}): RawCall => ({ destination: BUS_NAME, path: ROOT_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping', ...more });

describe.skipIf(process.getuid?.() !== 0)('calls with unix fds, from uid 65534, to the real serve', () => {
  let bus: PrivateBus;
  let serve: GroupRun;
  let nobody: RawBusClient;
  beforeAll(async () => {
    bus = await startPrivateBus();
    // As the unit runs it, less the kernel's events (root's netlink socket) and multipathd.
    serve = startGroup(CLI, ['serve', '--enable', '--no-kernel', '--config', '/nonexistent', '--bus', bus.address, '--socket', `@multipath-dbus-nobody-listens-${process.pid}`]);
    await serve.waitFor(/serving \d+ maps on/);
    nobody = await RawBusClient.connect(bus.socketPath, NOBODY);
  });
  afterAll(async () => {
    await nobody?.close();
    if (serve) killGroup(serve);
    await bus?.stop();
  });

  it("'h' values without descriptors: the service answers InvalidArgs and stays", async () => {
    const owner = (await nobody.call(ping()))!.sender;
    const reply = await nobody.call(ping({ signature: 'hh', body: [0, 7], attachFds: false }));
    expect(reply).toMatchObject({ sender: owner, error: 'org.freedesktop.DBus.Error.InvalidArgs' });
    expect(await nobody.call(ping())).toMatchObject({ sender: owner, error: undefined });
    expect(serve.child.exitCode, serve.output()).toBeNull();
  });

  it('descriptors attached: the bus refuses the call, the service is not disturbed', async () => {
    const owner = (await nobody.call(ping()))!.sender;
    const reply = await nobody.call(ping({ signature: 'h', body: [0] }));
    expect(reply).toMatchObject({ sender: 'org.freedesktop.DBus', error: 'org.freedesktop.DBus.Error.NotSupported' });
    expect(await nobody.call(ping())).toMatchObject({ sender: owner, error: undefined });
  });
});
