// `multipath-dbus demo`: the real service on a private bus, fed by the multipathd simulator,
// by simulated kernel datagrams that enter exactly where real ones do, and by a simulated NVMe
// sysfs tree whose ANA states change silently, as the kernel changes them.
import { connectBus, disconnect } from '../frontends/dbus/bus/connection';
import { DEFAULT_CONFIG } from '../config/config-file';
import { MultipathdClient } from '../sources/multipathd/client';
import { MultipathService } from './service';
import { MultipathdSimulator } from '../sim/simulator';
import { NvmeSysfsSim } from '../sim/nvme-sysfs';
import { createLogger } from '../util/log';
import { monitor } from './monitor';
import { startPrivateBus } from './private-bus';
import { stopRequested } from './stop-signal';
import { BUS_NAME, ROOT_PATH } from '../frontends/dbus/api';

/** The next simulated change: fail a path, or bring one back, now and then a whole map or an NVMe path. */
function* script(sim: MultipathdSimulator, nvme: NvmeSysfsSim): Generator<{ say: string; datagrams: () => Buffer[] }> {
  // The kernel raises no uevent for an ANA change: the service's poll finds it.
  const ana = (state: string) => () => {
    nvme.setPortAnaState(1, 1, state);
    return [];
  };
  for (;;) {
    yield { say: 'NVMe target port 1 reports ANA group 1 inaccessible (no uevent)', datagrams: ana('inaccessible') };
    yield { say: 'NVMe target port 1 reports ANA group 1 non-optimized again', datagrams: ana('non-optimized') };
    for (const map of sim.maps()) {
      const [first, ...rest] = map.paths;
      yield { say: `fail path ${first.dev} of ${map.name}`, datagrams: () => sim.failPath(first.dev) };
      yield { say: `reinstate path ${first.dev} of ${map.name}`, datagrams: () => sim.reinstatePath(first.dev) };
      if (map === sim.maps()[sim.maps().length - 1]) {
        yield { say: `fail every path of ${map.name}`, datagrams: () => map.paths.flatMap((p) => sim.failPath(p.dev)) };
        yield { say: `reinstate every path of ${map.name}`, datagrams: () => [first, ...rest].flatMap((p) => sim.reinstatePath(p.dev)) };
      }
    }
  }
}

export async function demo(opts: { intervalSeconds: number }): Promise<number> {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const stopping = stopRequested();
  say('multipath-dbus demo: THIS IS A SIMULATION. No multipath hardware, no system bus, nothing on this host is touched.');
  say('A private dbus-daemon, a simulated multipathd, simulated kernel events and a simulated NVMe sysfs tree drive the real service.\n');

  const bus = await startPrivateBus({ ownerUid: process.getuid?.() });
  const socket = `@multipath-dbus-demo-${process.pid}`;
  const sim = new MultipathdSimulator({ socket, topology: { maps: 3, pathsPerMap: 4, groupsPerMap: 2 } });
  await sim.listen();
  // One subsystem through two target ports, two namespaces in two ANA groups.
  const nvme = new NvmeSysfsSim({ namespaces: 2, ports: 2, anaGroups: 2 });
  const conn = await connectBus(bus.address);
  const log = createLogger('notice');
  const service = new MultipathService({
    bus: conn,
    config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 30 },
    log,
    // The simulator is ours, so it runs as whoever runs the demo.
    multipathd: new MultipathdClient({ socket, expectedUid: process.getuid?.(), warn: (m) => log.warning(m) }),
    dm: sim,
    nvme: { root: nvme.root, pollIntervalMs: 1000 },
    openMonitor: undefined,
  });
  await service.start();

  const a = `--address=${bus.address}`;
  const firstMap = sim.maps()[0];
  say('Explore it from another terminal while this runs:');
  say(`  busctl ${a} tree ${BUS_NAME}`);
  say(`  busctl ${a} introspect ${BUS_NAME} ${ROOT_PATH}`);
  say(`  busctl ${a} get-property ${BUS_NAME} ${ROOT_PATH} ${BUS_NAME}.Manager Health`);
  say(`  busctl ${a} call ${BUS_NAME} ${ROOT_PATH} org.freedesktop.DBus.ObjectManager GetManagedObjects`);
  say(`  busctl ${a} monitor ${BUS_NAME}`);
  say(`  gdbus introspect --address ${bus.address} --dest ${BUS_NAME} --object-path ${ROOT_PATH} --recurse`);
  say(`  node ${process.argv[1]} show --bus ${bus.address} ${firstMap.name}`);
  say(`  node ${process.argv[1]} monitor --bus ${bus.address} --since 0`);

  const monitorLine = (l: string) => process.stdout.write(`  monitor | ${l}`);
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  // Its connection closes on the same signal, before the bus it is connected to goes.
  const watching = monitor({ bus: bus.address, json: false, out: monitorLine, until: stopping, onReady: ready }).catch((e: Error) => {
    monitorLine(`# stopped: ${e.message}\n`);
    return 1;
  });
  await Promise.race([listening, watching, stopping]);
  say(`\nEvery ${opts.intervalSeconds} s a path fails or comes back. Ctrl-C stops and cleans up.\n`);

  const steps = script(sim, nvme);
  const timer = setInterval(() => {
    const step = steps.next().value!;
    say(`simulate: ${step.say}`);
    for (const d of step.datagrams()) service.handleDatagram(d);
  }, opts.intervalSeconds * 1000);

  await stopping;
  clearInterval(timer);
  say('\nstopping: service, simulator, private bus');
  // Ctrl-C signals the whole process group, our dbus-daemon too, so the bus may be gone
  // already: a call on a lost connection fails at once, and ReleaseName waits 0.5 s at most.
  await watching;
  await service.stop();
  disconnect(conn);
  await sim.close();
  nvme.destroy();
  await bus.stop();
  return 0;
}
