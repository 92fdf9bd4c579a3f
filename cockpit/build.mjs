// Builds the Cockpit page into cockpit/dist/, the directory that is installed as
// /usr/share/cockpit/multipath-dbus/: esbuild bundles React, PatternFly and the page
// (no CDN, fonts included), manifest.json and index.html are copied beside it.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(here, 'dist');
fs.rmSync(out, { recursive: true, force: true });
const built = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'index.tsx')],
  bundle: true,
  outdir: out,
  minify: true,
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  loader: { '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file', '.jpg': 'file' },
  assetNames: 'assets/[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'external',
  logLevel: 'warning',
  metafile: true,
});
// The npm modules in the bundle, one a line: debian/copyright must list each one's licence
// (test/integration/package.test.ts). Beside dist/, not in it: nothing the page loads.
const modules = new Set();
for (const input of Object.keys(built.metafile.inputs)) {
  const m = input.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) modules.add(m[1]);
}
fs.writeFileSync(path.join(here, 'bundled-modules.txt'), [...modules].sort().map((m) => `${m}\n`).join(''));
for (const f of ['manifest.json', 'index.html']) fs.copyFileSync(path.join(here, f), path.join(out, f));
