#!/usr/bin/env node
// Prints, one per line, the node_modules files the installed program needs at run time:
// those of the closure of package.json's dependencies (an optional one only where the build
// installed it), resolved from package-lock.json the way Node resolves a require. The
// installer (and so the Debian package, which stages with it) copies exactly these from the
// build: no npm, no registry, no network. Of each package only what Node loads (.js .cjs
// .mjs .json) and its licence files: no tests, examples, type declarations, source maps or
// read-mes, which a package for a SAN host has no use for.
//   node scripts/runtime-modules.js [checkout]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages;

/** The lockfile key `name` resolves to when required from the package at key `from`. */
function resolve(from, name) {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock[key]) return key;
    if (!dir) return `node_modules/${name}`;
  }
}

const needed = new Set();
const missing = [];
function visit(key, optional) {
  if (needed.has(key)) return;
  if (!lock[key] || !fs.existsSync(path.join(root, key, 'package.json'))) {
    if (!optional) missing.push(key);
    return;
  }
  needed.add(key);
  const pkg = lock[key];
  for (const name of Object.keys(pkg.dependencies || {})) visit(resolve(key, name), false);
  for (const name of Object.keys(pkg.optionalDependencies || {})) visit(resolve(key, name), true);
}
visit('', false);
needed.delete('');

if (missing.length) {
  console.error(`missing from node_modules (build first: npm ci): ${missing.join(' ')}`);
  process.exit(1);
}
const LOADED = /\.(js|cjs|mjs|json)$/;
const LICENCE = /^(licen[cs]e|copying)/i;
// Directories of tests, examples and benchmarks that packages publish beside their code.
const NOT_RUN = /^(tests?|__tests__|examples?|benchmarks?|bench|perf|docs?|\.github)$/i;
const NOT_RUN_FILE = /^(tests?|examples?)\.[cm]?js$|\.(test|spec)\.[cm]?js$/i;
const files = [];
function walk(dir, commands) {
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    // A nested package is listed on its own if it is needed at all.
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !NOT_RUN.test(e.name)) walk(rel, commands);
    } else if (LICENCE.test(e.name) || (LOADED.test(e.name) && !NOT_RUN_FILE.test(e.name) && !commands.has(rel))) {
      files.push(rel);
    }
  }
}
for (const key of needed) {
  // The commands a package gives npm to link (its "bin"): the service runs none of them.
  const bin = JSON.parse(fs.readFileSync(path.join(root, key, 'package.json'), 'utf8')).bin || {};
  const commands = new Set(Object.values(typeof bin === 'string' ? { bin } : bin).map((f) => path.posix.join(key, f)));
  walk(key, commands);
}
process.stdout.write(files.sort().map((f) => `${f}\n`).join(''));
