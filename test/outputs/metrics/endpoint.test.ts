// The metrics endpoint as a user turns it on: `serve --metrics-listen` or the config key,
// scraped over HTTP; only GET /metrics is answered; a real Prometheus scrapes it during a flap.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../../src/outputs/metrics/http-server';
import { MetricsSink } from '../../../src/outputs/metrics/metrics-sink';
import { MultipathdSimulator } from '../../../src/sim/simulator';
import { startPrivateBus, type PrivateBus } from '../../../src/cli/private-bus';
import { createLogger } from '../../../src/util/log';
import { promtoolCheckMetrics, sampleValue, startPrometheus } from '../../helpers/prometheus';
import { CLI, run, startHarness } from '../../helpers/service-harness';
import { startSlowClients } from '../../helpers/slow-http-clients';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-metrics-'));

/** `serve` with extra arguments, once it logs where its metrics are. */
async function serveWithMetrics(bus: PrivateBus, socket: string, args: string[]) {
  const child = spawn(CLI, ['serve', '--enable', '--bus', bus.address, '--no-kernel', '--socket', socket, '--config', path.join(tmp, 'absent.conf'), ...args]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const end = Date.now() + 15_000;
  let m: RegExpExecArray | null;
  while (!(m = /metrics on (http:\/\/\S+)/.exec(stderr))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`no metrics endpoint: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: m[1], child, exited, stderr: () => stderr };
}

/** One raw HTTP exchange, so requests no client library would send can be sent. */
function rawHttp(url: string, request: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    let reply = '';
    s.on('data', (d) => (reply += d));
    s.on('error', reject);
    s.on('close', () => resolve(reply));
    s.end(request);
  });
}

describe('metrics endpoint of serve', () => {
  let bus: PrivateBus;
  let sim: MultipathdSimulator;
  const socket = `@multipath-dbus-metrics-${process.pid}`;
  beforeAll(async () => {
    bus = await startPrivateBus();
    sim = new MultipathdSimulator({ socket });
    await sim.listen();
  });
  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await sim.close();
    await bus.stop();
  });

  it('--metrics-listen serves GET /metrics, which promtool accepts; SIGTERM closes it', async () => {
    const s = await serveWithMetrics(bus, socket, ['--metrics-listen', '127.0.0.1:0']);
    const url = `${s.url}`;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    let text = '';
    const end = Date.now() + 10_000;
    // The first scrape may come before the first read: wait for the maps.
    while (sampleValue(text, 'multipath_map_paths', { map: sim.maps()[0].name }) !== 2) {
      if (Date.now() > end) throw new Error(text);
      const r = await fetch(url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await r.text();
    }
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('answers nothing but GET /metrics: other paths 404, other methods 405, a body 400, huge headers 431', async () => {
    const s = await serveWithMetrics(bus, socket, ['--metrics-listen', '127.0.0.1:0']);
    const base = s.url.replace(/\/metrics$/, '');
    try {
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/metrics/../debug`)).status).toBe(404);
      expect((await fetch(`${base}/metricsx`)).status).toBe(404);
      const post = await fetch(s.url, { method: 'POST', body: 'x' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      expect(await rawHttp(s.url, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc')).toMatch(/^HTTP\/1\.1 400/);
      expect(await rawHttp(s.url, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
      const head = await fetch(s.url, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('a local user holding 64 connections that never finish their headers, reopened at once, does not keep a scrape out', async () => {
    const s = await serveWithMetrics(bus, socket, ['--metrics-listen', '127.0.0.1:0']);
    const u = new URL(s.url);
    const slow = await startSlowClients(u.hostname, Number(u.port), 64);
    try {
      const closedBefore = slow.closed;
      const seconds: number[] = [];
      for (let i = 0; i < 5; i++) {
        // A fresh connection each time, as a scraper after its keep-alive lapsed.
        const r = await run('curl', ['-sS', '-o', '/dev/null', '-m', '10', '-w', '%{http_code} %{time_total}', s.url]);
        const [code, time] = r.stdout.split(' ');
        expect(code, r.stderr).toBe('200');
        seconds.push(Number(time));
      }
      console.log(`scrapes under 64 slow connections: ${seconds.map((t) => t.toFixed(3)).join(', ')} s; the slow clients were closed ${slow.closed - closedBefore} times meanwhile`);
      // 2 s is the goal; 5 s leaves room for a slower machine.
      expect(Math.max(...seconds)).toBeLessThan(5);
      expect(slow.closed).toBeGreaterThan(closedBefore);
    } finally {
      await slow.stop();
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('a connection that never finishes its headers is answered 408 and closed after 5 s, not 30', async () => {
    const s = await serveWithMetrics(bus, socket, ['--metrics-listen', '127.0.0.1:0']);
    const u = new URL(s.url);
    try {
      const t0 = Date.now();
      const c = net.connect(Number(u.port), u.hostname);
      c.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      let reply = '';
      c.on('data', (d) => (reply += d));
      c.on('error', () => undefined);
      const closed = await Promise.race([
        new Promise<number>((r) => c.on('close', () => r(Date.now() - t0))),
        new Promise<undefined>((r) => setTimeout(r, 15_000).unref()),
      ]);
      c.destroy();
      console.log(`a connection with unfinished headers: ${closed === undefined ? 'still open after 15 s' : `closed after ${closed} ms`}`);
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      // 5 s allowed for the headers, checked every second; room for a slower machine.
      expect(closed).toBeGreaterThanOrEqual(5_000);
      expect(closed).toBeLessThan(9_000);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('the config key metrics_listen turns it on; a bad address is a config error naming the line', async () => {
    const good = path.join(tmp, 'good.conf');
    fs.writeFileSync(good, `enable = yes\nsocket = ${socket}\nmetrics_listen = 127.0.0.1:0\n`);
    const child = spawn(CLI, ['serve', '--config', good, '--bus', bus.address, '--no-kernel']);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const end = Date.now() + 15_000;
    while (!/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/.test(stderr)) {
      if (Date.now() > end) throw new Error(stderr);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    for (const bad of ['localhost:9100', '0.0.0.0', '[::1:9100', '127.0.0.1:70000']) {
      const file = path.join(tmp, 'bad.conf');
      fs.writeFileSync(file, `enable = yes\nmetrics_listen = ${bad}\n`);
      const r = await run(CLI, ['serve', '--config', file, '--bus', bus.address, '--no-kernel']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`${file}:2: metrics_listen`);
    }
    const cli = await run(CLI, ['serve', '--enable', '--metrics-listen', 'example.com:80', '--bus', bus.address, '--no-kernel']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/IP address/);
  });

  it('a port already taken: serve says so and exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = await run(CLI, ['serve', '--enable', '--metrics-listen', `127.0.0.1:${port}`, '--bus', bus.address, '--no-kernel', '--socket', socket]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      taken.close();
    }
  });
});

describe('a real Prometheus scraping every second', () => {
  let server: MetricsServer | undefined;
  afterAll(async () => server?.close());

  it('sees a path go down and the failure counted, and a flap between two scrapes counted too', async () => {
    const metrics = new MetricsSink();
    const h = await startHarness('small', {}, undefined, { sinks: [metrics] });
    server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics.withProcess, createLogger('error'));
    const prom = await startPrometheus(`127.0.0.1:${server.address.port}`);
    const dev = h.sim.maps()[0].paths[0].dev;
    const sel = `{device="${dev}"}`;
    const until = async (promql: string, what: string) => {
      const end = Date.now() + 30_000;
      for (;;) {
        if ((await prom.query(promql)).length > 0) return;
        if (Date.now() > end) throw new Error(`Prometheus never saw ${what} (${promql})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await until(`multipath_path_up${sel} == 1`, 'the path up');
      h.kernel(h.sim.failPath(dev));
      await until(`multipath_path_up${sel} == 0`, 'the path down');
      await until(`multipath_map_health{health="degraded"} == 1`, 'the map degraded');
      h.kernel(h.sim.reinstatePath(dev));
      await until(`multipath_path_up${sel} == 1 and multipath_path_failures_total${sel} == 1`, 'the path back, one failure counted');
      // Down and up again within one scrape interval: the gauge never shows it, the counter does.
      h.kernel([...h.sim.failPath(dev), ...h.sim.reinstatePath(dev)]);
      await until(`multipath_path_failures_total${sel} == 2 and multipath_path_reinstatements_total${sel} == 2`, 'the quick flap counted');
      expect(await prom.query(`up{job="multipath"} == 1`)).toHaveLength(1);
    } finally {
      await prom.stop();
      await h.stop();
    }
  }, 90_000);
});
