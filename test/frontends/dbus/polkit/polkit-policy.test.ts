// Our polkit action file as a real polkitd reads it (test/helpers/polkit.ts), and the
// helper's rules deciding for a granted and a denied uid, asked through pkaction and pkcheck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_CONFIGURE, ACTION_MANAGE_PATHS, BUS_NAME } from '../../../../src/frontends/dbus/api';
import { startPrivateBus, type PrivateBus } from '../../../../src/cli/private-bus';
import { NOBODY, spawnAs } from '../../../helpers/dbus-daemon';
import { GRANTED_UID as GRANTED, POLKIT_BUS_POLICY, rulesFor, startPolkit, type Polkit } from '../../../helpers/polkit';
import { run } from '../../../helpers/service-harness';

let bus: PrivateBus;
let polkit: Polkit;
const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: bus.address });

describe.skipIf(process.getuid?.() !== 0)('our actions in a real polkitd', () => {
  beforeAll(async () => {
    bus = await startPrivateBus({ includes: [POLKIT_BUS_POLICY] });
    polkit = await startPolkit(bus.address, { rules: { '10-test.rules': rulesFor(`${BUS_NAME}.`, [GRANTED], [NOBODY]) } });
  });
  afterAll(async () => {
    await polkit?.stop();
    await bus?.stop();
  });

  it.each([
    [ACTION_MANAGE_PATHS, 'no', 'no', 'auth_admin_keep'],
    [ACTION_CONFIGURE, 'auth_admin', 'auth_admin', 'auth_admin'],
  ])('%s has the documented defaults', async (action, any, inactive, active) => {
    const r = await run('pkaction', ['--verbose', '--action-id', action], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`implicit any:\\s+${any}\\n\\s+implicit inactive:\\s+${inactive}\\n\\s+implicit active:\\s+${active}\\n`));
  });

  it.each([
    [GRANTED, 0],
    [NOBODY, 1],
  ])('the rules decide for uid %i: pkcheck exits %i', async (uid, code) => {
    const sleeper = spawnAs(uid, 'sleep', ['30']);
    try {
      await new Promise((r) => sleeper.once('spawn', r));
      for (const action of [ACTION_MANAGE_PATHS, ACTION_CONFIGURE]) {
        const r = await run('pkcheck', ['--action-id', action, '--process', String(sleeper.pid)], { env: env() });
        expect(r.code, `${action}: ${r.stderr}`).toBe(code);
      }
      expect(polkit.output()).toContain(`test rule: ${code === 0 ? 'YES' : 'NO'} ${ACTION_CONFIGURE}`);
    } finally {
      sleeper.kill();
    }
  });
});
