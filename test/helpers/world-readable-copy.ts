// Tests that run our program as another uid cannot run it from the checkout: the checkout
// may sit where that uid cannot reach (root's home is mode 0700). They run a copy made
// for the test instead, in a world-readable temporary directory: bin/, dist/, the addon,
// package.json, and the packages dist/ imports with everything those depend on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

/** The copy's root (made once per test process, removed at exit); `cli` is its bin/multipath-dbus. */
export function worldReadableCopy(): { root: string; cli: string } {
  if (!copy) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-copy-'));
    for (const p of ['package.json', 'bin', 'dist', 'build/Release/multipath_native.node']) {
      fs.cpSync(path.join(REPO, p), path.join(root, p), { recursive: true, dereference: true });
    }
    for (const name of closure(importedPackages(path.join(REPO, 'dist')))) {
      fs.cpSync(path.join(REPO, 'node_modules', name), path.join(root, 'node_modules', name), { recursive: true, dereference: true });
    }
    openUp(root);
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
    copy = root;
  }
  return { root: copy, cli: path.join(copy, 'bin', 'multipath-dbus') };
}
