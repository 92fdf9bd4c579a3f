// The invariant of the published object graph: every `o` and `ao` value names an exported
// object, and every exported object is reachable from the Manager's Maps and Paths (a map's
// groups through its PathGroups). UDisksBlock names udisks' objects, not ours.
import { expect } from 'vitest';
import { MANAGER, MANAGER_IFACE, MAP, MAP_IFACE, PATH, PATH_GROUP, ROOT_PATH } from '../../src/frontends/dbus/api';

type Objects = Map<string, Map<string, Record<string, unknown>>>;

const REFERENCES = new Map(
  [MANAGER, MAP, PATH_GROUP, PATH].map((spec) => [
    spec.name,
    spec.properties.filter((p) => (p.type === 'o' || p.type === 'ao') && p.name !== 'UDisksBlock').map((p) => p.name),
  ]),
);

export function assertObjectGraph(objects: Objects): void {
  const dangling: string[] = [];
  for (const [path, ifaces] of objects) {
    for (const [iface, props] of ifaces) {
      for (const name of REFERENCES.get(iface) ?? []) {
        const v = props[name];
        for (const target of Array.isArray(v) ? v : [v]) if (!objects.has(target as string)) dangling.push(`${path} ${name} -> ${String(target)}`);
      }
    }
  }
  expect(dangling, 'references to objects that are not exported').toEqual([]);

  const manager = objects.get(ROOT_PATH)?.get(MANAGER_IFACE);
  expect(manager, 'the Manager is exported').toBeDefined();
  const reachable = new Set<string>([ROOT_PATH, ...(manager!.Maps as string[]), ...(manager!.Paths as string[])]);
  for (const m of manager!.Maps as string[]) for (const g of (objects.get(m)?.get(MAP_IFACE)?.PathGroups as string[] | undefined) ?? []) reachable.add(g);
  expect([...objects.keys()].filter((p) => !reachable.has(p)), 'exported objects not reachable from Maps/Paths').toEqual([]);
  const listed = [...(manager!.Maps as string[]), ...(manager!.Paths as string[])];
  expect(listed.length, 'Maps and Paths list each object once').toBe(new Set(listed).size);
}
