// The layering of src/ (README, Architecture), enforced by test/architecture/layering.test.ts.
// A rule's name is what a failing `npm test` prints.
const layer = (name) => `^src/${name}/`;
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no module depends on itself through others', from: {}, to: { circular: true } },
    {
      name: 'model-imports-only-model-and-util',
      severity: 'error',
      comment: 'the model imports no source, no front end, no output, no bus code, not even the core',
      from: { path: layer('model') },
      to: { path: '^src/(core|sources|frontends|outputs|cli|native|config|sim)/' },
    },
    {
      name: 'core-knows-no-transport',
      severity: 'error',
      comment: 'the core depends on the model and its own ports; sources, front ends and outputs plug into it',
      from: { path: layer('core') },
      to: { path: '^src/(sources|frontends|outputs|cli|native|sim)/' },
    },
    {
      name: 'sources-import-no-front-end',
      severity: 'error',
      comment: 'a source feeds the core: it knows no front end and no output',
      from: { path: layer('sources') },
      to: { path: '^src/(frontends|outputs|cli|sim)/' },
    },
    {
      name: 'front-ends-import-no-output',
      severity: 'error',
      comment: 'front ends and outputs both read the core, never each other',
      from: { path: layer('frontends') },
      to: { path: '^src/(outputs|sources|cli|sim)/' },
    },
    {
      name: 'outputs-import-no-front-end',
      severity: 'error',
      comment: 'front ends and outputs both read the core, never each other',
      from: { path: layer('outputs') },
      to: { path: '^src/(frontends|sources|cli|sim)/' },
    },
    {
      name: 'front-ends-import-no-other-front-end',
      severity: 'error',
      comment: 'each front end is one folder under frontends/, on its own',
      from: { path: '^src/frontends/([^/]+)/' },
      to: { path: '^src/frontends/', pathNot: '^src/frontends/$1/' },
    },
    {
      name: 'only-the-launcher-imports-cli',
      severity: 'error',
      comment: 'cli/ is the composition root and the commands: nothing below it imports it',
      from: { pathNot: layer('cli') },
      to: { path: layer('cli') },
    },
    {
      name: 'dbus-next-only-in-the-bus-layer',
      severity: 'error',
      comment: 'dbus-next is reached through frontends/dbus/bus/ only',
      from: { pathNot: '^src/frontends/dbus/bus/' },
      to: { path: 'node_modules/dbus-next/' },
    },
    {
      name: 'dbus-next-internals-in-one-file',
      severity: 'error',
      comment: "what dbus-next keeps private is reached only in dbus-next-internals.ts, whose test fails if a version moves it",
      from: { pathNot: '^src/frontends/dbus/bus/dbus-next-internals[.]ts$' },
      to: { path: 'node_modules/dbus-next/lib/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
