// Tests that run our program as another uid cannot run it from the checkout: the checkout
// may sit where that uid cannot reach (root's home is mode 0700). They run a copy made
// for the test instead, in a world-readable temporary directory: bin/, dist/, the addon,
// package.json, and the packages dist/ imports with everything those depend on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');

/** Packages the built program requires by name (not relative paths, not node: built-ins). */
function importedPackages(dir: string, found = new Set<string>()): Set<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) importedPackages(p, found);
    else if (entry.name.endsWith('.js')) {
      for (const [, spec] of fs.readFileSync(p, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!spec.startsWith('node:') && fs.existsSync(path.join(REPO, 'node_modules', name))) found.add(name);
      }
    }
  }
  return found;
}

/** Those packages and, transitively, their dependencies as installed in node_modules/. */
function closure(names: Iterable<string>): Set<string> {
  const all = new Set<string>();
  const visit = (name: string) => {
    if (all.has(name) || !fs.existsSync(path.join(REPO, 'node_modules', name, 'package.json'))) return;
    all.add(name);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  for (const n of names) visit(n);
  return all;
}

/** Everyone may read every file and enter every directory (a root umask of 077 made them private). */
function openUp(p: string): void {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    fs.chmodSync(p, st.mode | 0o755);
    for (const e of fs.readdirSync(p)) openUp(path.join(p, e));
  } else {
    fs.chmodSync(p, st.mode | (st.mode & 0o100 ? 0o555 : 0o444));
  }
}

let copy: string | undefined;

// Registered when a test file imports this helper; vitest ends its workers without 'exit'.
afterAll(() => {
  if (copy) fs.rmSync(copy, { recursive: true, force: true });
  copy = undefined;
});

/** A copy of the program (made once per test file, removed after it) that every uid can run. */
function programCopy(): string {
  if (!copy) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-copy-'));
    // src/ and bench/ as well, for TypeScript clients run through tsx (see tsxArgs).
    for (const p of ['package.json', 'tsconfig.json', 'bin', 'dist', 'src', 'bench', 'build/Release/multipath_native.node']) {
      fs.cpSync(path.join(REPO, p), path.join(root, p), { recursive: true, dereference: true });
    }
    for (const name of closure([...importedPackages(path.join(REPO, 'dist')), 'tsx'])) {
      fs.cpSync(path.join(REPO, 'node_modules', name), path.join(root, 'node_modules', name), { recursive: true, dereference: true });
    }
    openUp(root);
    copy = root;
  }
  return copy;
}

/**
 * Where `relPath` (relative to the checkout, e.g. `bin/multipath-dbus`, or a helper script
 * that requires `../../dist/...`) is in the copy; a file outside the program is copied in
 * on first use, at the same relative place.
 */
export function worldReadable(relPath: string): string {
  const root = programCopy();
  const target = path.join(root, relPath);
  if (!fs.existsSync(target)) {
    fs.cpSync(path.join(REPO, relPath), target, { recursive: true, dereference: true });
    for (let p = target; p !== root; p = path.dirname(p)) openUp(p);
  }
  return target;
}

/** Node arguments that run one of the copy's TypeScript files (e.g. bench/hammer.ts) through tsx. */
export function tsxArgs(rel: string): string[] {
  const root = programCopy();
  return ['-r', path.join(root, 'node_modules', 'tsx', 'dist', 'cjs', 'index.cjs'), path.join(root, rel)];
}
