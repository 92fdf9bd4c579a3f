// Debian's real cockpit-ws and cockpit-bridge serving the built page (cockpit/dist) against
// a private bus, and Debian's Chromium driven by playwright-core, as an admin would open it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';

export const PACKAGE = 'multipath-dbus';
export const PAGE_DIR = path.resolve(__dirname, '..', '..', 'cockpit', 'dist');
export const COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws';
export const CHROMIUM = '/usr/lib/chromium/chromium';

export interface CockpitWs {
  port: number;
  /** The page on its own, as /cockpit/@localhost/<pkg>/index.html. */
  pageUrl: string;
  /** The shell at /, logged in as the bridge's user. */
  shellUrl: string;
  /** Processes still running that cockpit-ws started (the bridge…), as "pid command line". */
  leftovers(): string[];
  stop(): Promise<void>;
}

/** Processes whose environment holds `marker` (children inherit it; readable to root). */
function processesWithEnv(marker: string): string[] {
  const found: string[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(marker)) {
        found.push(`${d} ${fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').join(' ').trim()}`);
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port, or rejects when `child` exits. */
function listening(port: number, child: ChildProcess, stderr: () => string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const exited = () => reject(new Error(`cockpit-ws exited (${child.exitCode}): ${stderr()}`));
    child.once('exit', exited);
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        child.off('exit', exited);
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > end) return reject(new Error(`cockpit-ws did not listen on ${port}: ${stderr()}`));
        setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/**
 * cockpit-ws on 127.0.0.1 with a local session (no login): its bridge talks to `systemBus`
 * as the system bus, and to a private session bus of its own (without one the bridge
 * starts a session dbus-daemon that outlives cockpit-ws). XDG_DATA_DIRS puts our package
 * first and keeps /usr/share for base1 and the shell. `uid` runs it (and so the bridge)
 * as another user, through setpriv as a reader of the test would type it.
 */
export async function startCockpitWs(systemBus: string, opts: { uid?: number } = {}): Promise<CockpitWs> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-cockpit-'));
  fs.chmodSync(data, 0o755);
  fs.mkdirSync(path.join(data, 'cockpit'));
  // A copy, not a link: another uid must read it wherever the checkout lives.
  fs.cpSync(PAGE_DIR, path.join(data, 'cockpit', PACKAGE), { recursive: true });
  fs.chmodSync(path.join(data, 'cockpit'), 0o755);
  // The bridge's runtime directory is its user's.
  if (opts.uid !== undefined) fs.chownSync(data, opts.uid, opts.uid);
  const session: PrivateBus = await startPrivateBus();
  const port = await freePort();
  const args = ['-p', String(port), '-a', '127.0.0.1', '--local-session=cockpit-bridge'];
  const env = {
    ...process.env,
    DBUS_SYSTEM_BUS_ADDRESS: systemBus,
    DBUS_SESSION_BUS_ADDRESS: session.address,
    XDG_DATA_DIRS: `${data}:/usr/share`,
    XDG_RUNTIME_DIR: data,
    HOME: opts.uid === undefined ? process.env.HOME : '/nonexistent',
  };
  // Its own process group: the bridge starts an ssh-agent that outlives cockpit-ws's SIGTERM
  // (systemd's cgroup would reap it on a real host), so stop() signals the whole group.
  const [cmd, cmdArgs] =
    opts.uid === undefined ? [COCKPIT_WS, args] : ['setpriv', [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', '--', COCKPIT_WS, ...args]];
  const child = spawn(cmd, cmdArgs, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stderr += d));
  await listening(port, child, () => stderr);
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    pageUrl: `${base}/cockpit/@localhost/${PACKAGE}/index.html`,
    shellUrl: base,
    leftovers: () => processesWithEnv(`XDG_DATA_DIRS=${env.XDG_DATA_DIRS}`),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // the group is empty already
      }
      await session.stop();
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A page for a harness's bus: cockpit-ws on it, Chromium, one tab. `stop` closes them all. */
export interface CockpitSession {
  ws: CockpitWs;
  browser: Browser;
  page: Page;
  stop(): Promise<void>;
}

export async function openCockpit(systemBus: string): Promise<CockpitSession> {
  const [ws, browser] = await Promise.all([startCockpitWs(systemBus), launchChromium()]);
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  return {
    ws,
    browser,
    page,
    async stop() {
      await browser.close();
      await ws.stop();
    },
  };
}

/** axe-core's serious and critical findings on what the page shows now, as "rule: target". */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated, not added as a script: Cockpit's Content-Security-Policy (rightly) refuses inline scripts.
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

/**
 * Milliseconds from `cause()` until the page shows an element for every one of `selectors`,
 * taken in the page by a MutationObserver armed before the cause (Playwright's own polling
 * would add up to half a second).
 */
export async function msUntilShown(page: Page, selectors: string[], cause: () => void): Promise<number> {
  await page.evaluate((selectors) => {
    const shown = () => selectors.every((s) => document.querySelector(s));
    (window as unknown as { shownAt: Promise<number> }).shownAt = new Promise((resolve) => {
      const obs = new MutationObserver(() => {
        if (!shown()) return;
        obs.disconnect();
        resolve(Date.now());
      });
      obs.observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  }, selectors);
  const t0 = Date.now();
  cause();
  return (await page.evaluate(() => (window as unknown as { shownAt: Promise<number> }).shownAt)) - t0;
}
