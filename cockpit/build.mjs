// Builds the Cockpit page into cockpit/dist/, the directory that is installed as
// /usr/share/cockpit/multipath-dbus/: esbuild bundles React, PatternFly and the page (no
// CDN); PatternFly's fonts are Cockpit's own (src/fonts.css, served from ../../static), so
// PatternFly's @font-face rules are dropped here; manifest.json and index.html are copied
// beside it, po/multipath-dbus.pot is extracted and every po/LANG.po compiled (po.mjs).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build as buildTranslations } from './po.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(here, 'dist');

/** PatternFly's stylesheet without its @font-face rules (text fonts, and icon fonts the React icons do not use). */
const withoutFontFaces = {
  name: 'patternfly-without-font-faces',
  setup(b) {
    b.onLoad({ filter: /@patternfly[\\/]patternfly[\\/]patternfly\.css$/ }, (args) => ({
      contents: fs.readFileSync(args.path, 'utf8').replace(/@font-face\s*\{[^}]*\}/g, ''),
      loader: 'css',
      resolveDir: path.dirname(args.path),
    }));
  },
};

fs.rmSync(out, { recursive: true, force: true });
const built = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'index.tsx')],
  bundle: true,
  outdir: out,
  minify: true,
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  loader: { '.svg': 'file', '.png': 'file', '.jpg': 'file' },
  external: ['../../static/*'],
  plugins: [withoutFontFaces],
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
buildTranslations(here, out);
