#!/usr/bin/env node
// Prints, one per line, the node_modules directories the installed program needs at run
// time: the closure of package.json's dependencies (an optional one only where the build
// installed it), resolved from package-lock.json the way Node resolves a require. The
// installer copies exactly these from the build: no npm, no registry, no network.
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
// A nested package travels with the directory of the package it is nested in.
const outermost = [...needed].filter((k) => ![...needed].some((o) => k !== o && k.startsWith(`${o}/`)));
process.stdout.write(outermost.sort().map((k) => `${k}\n`).join(''));
