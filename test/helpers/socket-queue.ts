// What the kernel holds of a connection's outgoing bytes, read with `ss` (sock_diag): the
// bytes in the peer end's receive queue, which the daemon has not read yet. Node has no API
// for SIOCOUTQ, and this counts payload, as our own queue does (the sender's Send-Q would be
// the kernel's charge, skb overhead included).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { BusConnection } from '../../src/frontends/dbus/bus/connection';

export function unreadInKernel(conn: BusConnection): number {
  const link = fs.readlinkSync(`/proc/self/fd/${conn.fd}`);
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (!inode) throw new Error(`fd ${conn.fd} is not a socket: ${link}`);
  // Each row: netid state Recv-Q Send-Q local-address local-inode peer-address peer-inode.
  for (const row of execFileSync('ss', ['-xnH'], { encoding: 'utf8' }).split('\n')) {
    const f = row.trim().split(/\s+/);
    if (f.length >= 8 && f[f.length - 1] === inode) return Number(f[2]);
  }
  throw new Error(`no peer end for socket ${inode} in ss -x`);
}
