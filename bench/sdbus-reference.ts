// The sd-bus (C) references the benchmarks measure us against: what they need (a C compiler
// and libsystemd's headers), building them, and the reference object server fed with the
// objects our service publishes, so both answer GetManagedObjects from the same data.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANAGER, MAP, PATH, PATH_GROUP } from '../src/frontends/dbus/api';
import type { getManagedObjects } from '../src/frontends/dbus/bus/connection';

const BIN = path.join(__dirname, 'results', 'bin');
const NEEDS = 'apt-get install -y gcc pkg-config libsystemd-dev';
/** The name the reference object server owns; REFERENCE_POLICY lets it, on a private bus. */
export const REFERENCE_NAME = 'org.kernel.linux.storage.multipath1.Reference';

/** A policy file for startPrivateBus({ includes }): the reference may own its name and be called. */
export function referencePolicy(): string {
  fs.mkdirSync(BIN, { recursive: true });
  const file = path.join(BIN, 'reference.conf');
  fs.writeFileSync(
    file,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy context="default"><allow own="${REFERENCE_NAME}"/><allow send_destination="${REFERENCE_NAME}"/></policy></busconfig>
`,
  );
  return file;
}

function missing(): string[] {
  const lacks: string[] = [];
  const ok = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!ok('gcc', ['--version'])) lacks.push('gcc');
  if (!ok('pkg-config', ['--exists', 'libsystemd'])) lacks.push('libsystemd-dev (pkg-config libsystemd)');
  return lacks;
}

/**
 * Every comparison needs the C references: without them the figures would be ratios of
 * nothing. Install them when asked to (BENCH_INSTALL=1, as root), else say how and stop.
 */
export function requireReferences(): void {
  let lacks = missing();
  if (lacks.length > 0 && process.env.BENCH_INSTALL === '1' && process.getuid?.() === 0) {
    process.stdout.write(`installing the sd-bus references' build tools: ${NEEDS}\n`);
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    execFileSync('apt-get', NEEDS.split(' ').slice(1), { stdio: 'inherit' });
    lacks = missing();
  }
  if (lacks.length === 0) return;
  process.stderr.write(
    `npm run bench measures every figure against sd-bus (C), and cannot build it: missing ${lacks.join(', ')}.\n` +
      `Install them (${NEEDS}), or run BENCH_INSTALL=1 npm run bench as root to have it done.\n`,
  );
  process.exit(2);
}

/** Compile bench/NAME.c against libsystemd (once per run); the executable's path. */
export function buildReference(name: string): string {
  fs.mkdirSync(BIN, { recursive: true });
  const exe = path.join(BIN, name);
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libsystemd'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  execFileSync('gcc', ['-O2', '-o', exe, path.join(__dirname, `${name}.c`), ...flags], { stdio: ['ignore', 'inherit', 'inherit'] });
  return exe;
}

const SIGNATURES = new Map([MANAGER, MAP, PATH_GROUP, PATH].map((i) => [i.name, new Map(i.properties.map((p) => [p.name, p.type]))]));

/** A value as bench/sdbus-objects.c reads it (see its header). */
function text(sig: string, v: unknown): string {
  if (sig === 'b') return v ? '1' : '0';
  if (sig === 'ao') return (v as string[]).join('\x1f');
  if (sig === 'a(ss)') return (v as [string, string][]).map(([a, b]) => `${a}\x1e${b}`).join('\x1f');
  const s = String(v);
  if (/[\t\n\x1e\x1f]/.test(s)) throw new Error(`a value the reference's file cannot carry: ${JSON.stringify(s)}`);
  return s;
}

export interface ReferenceServer {
  child: ChildProcess;
  /** The name it owns: call it there. */
  name: string;
  /** Where its ObjectManager is (the parent of our root, so that it lists the root too). */
  managerPath: string;
  objects: number;
  stop(): Promise<void>;
}

export type Objects = Awaited<ReturnType<typeof getManagedObjects>>;

/** Start the C object server on `address` with exactly `objects`, as read from our service under `root`. */
export async function startReferenceServer(exe: string, objects: Objects, address: string, root: string): Promise<ReferenceServer> {
  const lines: string[] = [];
  for (const [objectPath, ifaces] of objects) {
    lines.push(`O\t${objectPath}`);
    for (const [iface, props] of ifaces) {
      const sigs = SIGNATURES.get(iface);
      if (!sigs) continue;
      lines.push(`I\t${iface}`);
      for (const [name, value] of Object.entries(props)) {
        const sig = sigs.get(name);
        const v = value && typeof value === 'object' && 'signature' in value ? (value as unknown as { value: unknown }).value : value;
        if (sig) lines.push(`P\t${name}\t${sig}\t${text(sig, v)}`);
      }
    }
  }
  const file = path.join(BIN, `objects-${process.pid}.txt`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const managerPath = path.posix.dirname(root);
  const child = spawn(exe, [address, file, managerPath, REFERENCE_NAME], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('READY\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sdbus-objects exited ${code}`)));
  });
  return {
    child,
    name: REFERENCE_NAME,
    managerPath,
    objects: objects.size,
    async stop() {
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      fs.rmSync(file, { force: true });
    },
  };
}

/**
 * Objects, our API's interfaces and their values in one order, to compare two servers'
 * answers (sd-bus also lists the standard interfaces every object has, with no properties).
 */
export function canonical(objects: Map<string, Map<string, Record<string, unknown>>>): string {
  const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : 1);
  const rows = [...objects].sort(byKey).map(([p, ifaces]) => [
    p,
    [...ifaces].filter(([i]) => SIGNATURES.has(i)).sort(byKey).map(([i, props]) => [i, Object.entries(props).sort(byKey)]),
  ]);
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
