// polkit on the bus but unable to decide (its backend fails, or it does not answer in time):
// the caller is refused with polkit's own words, and the refusal is not remembered, so the
// next call asks again. A stand-in for polkit on a private bus answers as the test says.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Callers } from '../../../../src/frontends/dbus/bus/callers';
import { connectBus, disconnect, requestName, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { PolkitAuthority } from '../../../../src/frontends/dbus/polkit/authority';
import { startPrivateBus, type PrivateBus } from '../../../helpers/dbus-daemon';

type Answer = 'fail' | 'silent' | 'yes';

let bus: PrivateBus;
let polkit: BusConnection;
let service: BusConnection;
let callers: Callers;
let answer: Answer = 'fail';
let asked = 0;

// The stand-in may own polkit's name and be called, as polkit's own system.d file allows polkitd.
const POLICY = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="${os.userInfo().username}"><allow own="org.freedesktop.PolicyKit1"/></policy>
  <policy context="default"><allow send_destination="org.freedesktop.PolicyKit1"/></policy>
</busconfig>`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-polkit-standin-'));

beforeAll(async () => {
  fs.writeFileSync(path.join(dir, 'polkit.conf'), POLICY);
  bus = await startPrivateBus({ includes: [path.join(dir, 'polkit.conf')] });
  polkit = await connectBus(bus.address);
  polkit.raw.addMethodHandler((m: { member?: string; serial: number; sender: string }) => {
    if (m.member !== 'CheckAuthorization') return false;
    asked++;
    if (answer === 'fail') polkit.sendError(m, 'org.freedesktop.PolicyKit1.Error.Failed', 'the authority backend failed');
    else if (answer === 'yes') polkit.sendReply(m, '(bba{ss})', [[true, false, {}]]);
    return true;
  });
  await requestName(polkit, 'org.freedesktop.PolicyKit1');
  service = await connectBus(bus.address);
  callers = new Callers(service);
  await callers.start();
});
afterAll(async () => {
  await callers?.stop();
  for (const c of [service, polkit]) if (c) disconnect(c);
  await bus?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('polkit that cannot decide', () => {
  it('refuses with what polkit said, asks again next time, and takes the answer once it decides', async () => {
    const authority = new PolkitAuthority(service, callers, { timeoutMs: 500 });
    const caller = { sender: ':1.99', uid: 1000, pid: 1, unit: '' };
    const action = 'manage-paths';

    answer = 'fail';
    expect(await authority.authorize(caller, action, false)).toEqual({ ok: false, reason: expect.stringMatching(/^polkit could not decide: .*the authority backend failed/) });
    answer = 'silent';
    const t0 = Date.now();
    expect(await authority.authorize(caller, action, false)).toEqual({ ok: false, reason: expect.stringMatching(/^polkit could not decide: /) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    answer = 'yes';
    expect(await authority.authorize(caller, action, false)).toEqual({ ok: true, by: 'polkit' });
    // Each undecided call asked polkit again: nothing was remembered as a refusal.
    expect(asked).toBe(3);
  });
});
