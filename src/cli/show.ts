// `multipath-dbus show [MAP]`: the tree, as the service publishes it.
import { disconnect } from '../frontends/dbus/bus/connection';
import { ClientError, fetchMaps, openClient } from './client';
import { renderTree, toJson } from './tree';

export async function show(opts: { bus: string; json: boolean; map?: string }): Promise<number> {
  const bus = await openClient(opts.bus);
  try {
    let maps = await fetchMaps(bus);
    if (opts.map) {
      maps = maps.filter(({ map }) => map.Name === opts.map || map.Wwid === opts.map || map.SysfsName === opts.map);
      if (maps.length === 0) throw new ClientError(`no map named ${opts.map}`);
    }
    process.stdout.write(opts.json ? JSON.stringify(toJson(maps), null, 2) + '\n' : renderTree(maps));
    return 0;
  } finally {
    disconnect(bus);
  }
}
