// The D-Bus names of the model's identities, both ways. Object paths from identities are pure
// functions (api.ts escapes each element); identities from object paths come from an index of
// the objects exported now, kept by the publisher as it exports and removes them, so a method
// call finds its target in one lookup however many objects there are.
import type { CoreEvent } from '../../core/events';
import type { Target } from '../../core/commands/table';
import type { PathState } from '../../model/topology';
import { escapePathElement, mapObjectPath, pathObjectPath, ROOT_PATH } from './api';
import { variant } from './bus/values';

/** A path's object is named by its kernel name, or by its dev_t until it has one. */
export const pathObjectFor = (p: Pick<PathState, 'device' | 'devT'>): string => pathObjectPath(p.device || p.devT);

export function udisksBlockPath(device: string): string {
  return device ? `/org/freedesktop/UDisks2/block_devices/${escapePathElement(device)}` : '/';
}

/** What each exported object is, by object path: the manager, a map, a path group or a path. */
export type Named = Target | { kind: 'group'; wwid: string; number: number };

export class ObjectNames {
  private readonly byPath = new Map<string, Named>([[ROOT_PATH, { kind: 'manager' }]]);

  /** What the object at `path` is; undefined when nothing is exported there. */
  identity(path: string): Named | undefined {
    return this.byPath.get(path);
  }

  set(path: string, named: Named): void {
    this.byPath.set(path, named);
  }

  delete(path: string): void {
    if (path !== ROOT_PATH) this.byPath.delete(path);
  }

  clear(): void {
    for (const path of this.byPath.keys()) this.delete(path);
  }
}

/** The object an event is about, as GetEvents reports it (the signal is sent on the same object). */
export function eventObject(e: CoreEvent): string {
  switch (e.name) {
    case 'Resynchronized':
      return ROOT_PATH;
    case 'PathAdded':
    case 'PathRemoved':
      return pathObjectFor(e);
    default:
      return mapObjectPath(e.wwid);
  }
}

/** An event's fields as GetEvents' a{sv} carries them. */
export function eventData(e: CoreEvent): Record<string, ReturnType<typeof variant>> {
  const synthesized = { Synthesized: variant('b', e.synthesized) };
  switch (e.name) {
    case 'PathFailed':
    case 'PathReinstated':
      return {
        Path: variant('o', pathObjectFor(e)),
        DevT: variant('s', e.devT),
        ValidPaths: variant('u', e.validPaths),
        DmSeqnum: variant('u', e.dmSeqnum),
        ...synthesized,
      };
    case 'Failed':
    case 'Restored':
      return synthesized;
    case 'PolicyChanged':
      return { Properties: variant('as', e.properties), ...synthesized };
    case 'MapAdded':
    case 'MapRemoved':
      return { Name: variant('s', e.mapName), Wwid: variant('s', e.wwid), ...synthesized };
    case 'PathAdded':
    case 'PathRemoved':
      return { DevT: variant('s', e.devT), Map: variant('o', mapObjectPath(e.wwid)), ...synthesized };
    case 'Resynchronized':
      return { Reason: variant('s', e.reason) };
  }
}
