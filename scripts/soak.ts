// Soak: a million kernel path events through the real service on a private dbus-daemon, in
// bursts, with RSS sampled after warm-up and at the end. `npm run soak [-- EVENTS]`.
// Passes when RSS grew less than 5 % between the two samples. The service and the simulator
// are tsc's dist/ (bench/compiled.ts), run with the launcher's young generation and what
// `serve` does after each reading (src/cli/release-memory.ts), so the rate is a figure too.
import { startPrivateBus } from '../src/cli/private-bus';
import { connectBus, createLogger, DEFAULT_CONFIG, disconnect, MultipathdClient, MultipathdSimulator, MultipathService, releaseMemory } from '../bench/compiled';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const BURST = 1000;
const WARMUP = Math.min(100_000, TOTAL / 10);
const GROWTH_LIMIT = 0.05;

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const tick = () => new Promise<void>((r) => setImmediate(r));

async function main(): Promise<void> {
  const bus = await startPrivateBus();
  const socket = `@multipath-dbus-soak-${process.pid}`;
  const sim = new MultipathdSimulator({ socket, topology: { maps: 64, pathsPerMap: 4 } });
  await sim.listen();
  const conn = await connectBus(bus.address);
  const service = new MultipathService({
    bus: conn,
    config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, historySize: 4096 },
    log: createLogger('warning'),
    multipathd: new MultipathdClient({ socket }),
    dm: sim,
    openMonitor: undefined,
    releaseMemory,
  });
  await service.start();
  const devs = sim.maps().flatMap((m) => m.paths.map((p) => p.dev));
  const failed = new Set<string>();
  let sent = 0;
  let rssWarm = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  while (sent < TOTAL) {
    for (let i = 0; i < BURST && sent < TOTAL; i++, sent++) {
      const dev = devs[sent % devs.length];
      const ds = failed.has(dev) ? sim.reinstatePath(dev) : sim.failPath(dev);
      if (failed.has(dev)) failed.delete(dev);
      else failed.add(dev);
      for (const d of ds) service.handleDatagram(d);
    }
    await tick();
    if (process.env.SOAK_TRACE && sent % 50_000 === 0) {
      const m = process.memoryUsage();
      console.log(`  ${sent}: rss ${mb(m.rss)} heap ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`);
    }
    if (rssWarm === 0 && sent >= WARMUP) {
      global.gc?.();
      rssWarm = process.memoryUsage().rss;
    }
  }
  await new Promise((r) => setTimeout(r, 1500));
  global.gc?.();
  const rssEnd = process.memoryUsage().rss;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const growth = (rssEnd - rssWarm) / rssWarm;
  console.log(`events            ${sent}`);
  console.log(`wall time         ${secs.toFixed(1)} s (${Math.round(sent / secs)} events/s)`);
  console.log(`cpu               ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
  console.log(`rss after warm-up ${mb(rssWarm)} (${WARMUP} events)`);
  console.log(`rss at end        ${mb(rssEnd)}`);
  console.log(`rss growth        ${(growth * 100).toFixed(1)} % (limit ${GROWTH_LIMIT * 100} %)`);
  console.log(`heap used         ${mb(process.memoryUsage().heapUsed)}, gc exposed: ${typeof global.gc === 'function'}`);
  console.log(`service stats     ${JSON.stringify(service.stats)}`);
  await service.stop();
  disconnect(conn);
  await sim.close();
  await bus.stop();
  process.exitCode = growth < GROWTH_LIMIT ? 0 : 1;
}

void main();
