// The paged read (Manager.GetManagedObjectsPage) as a user types it with busctl.
import { expect } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { runAs } from './dbus-daemon';
import { BUS_NAME, ROOT_PATH, run, type Harness } from './service-harness';

/** The paged read as a user types it with busctl, page after page. */
export async function busctlPages(h: Harness, as?: number): Promise<{ objects: Record<string, unknown>; pages: number }> {
  const objects: Record<string, unknown> = {};
  let after = '';
  let pages = 0;
  do {
    const args = [`--address=${h.bus.address}`, '--json=short', 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', after, '0'];
    const r = as === undefined ? await run('busctl', args) : await runAs(as, 'busctl', args);
    expect(r.code, r.stderr).toBe(0);
    const { data } = JSON.parse(r.stdout) as { data: [Record<string, unknown>, string] };
    for (const p of Object.keys(data[0])) expect(p > after, `${p} comes after ${after}`).toBe(true);
    Object.assign(objects, data[0]);
    after = data[1];
    pages++;
  } while (after !== '');
  return { objects, pages };
}
