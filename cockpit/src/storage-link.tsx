// A map's block device on Cockpit's Storage page: cockpit-storaged (287) shows /storage#/NAME
// as the block whose /dev name is /dev/NAME (its Details look it up in slashdevs_block), so
// /storage#/dm-3 shows a dm map's dm-3 and /storage#/nvme0n1 an NVMe namespace's head
// device (its paths nvmeXcYnZ are hidden devices, on no page). A plain link (to the shell's
// URL, in the top frame) that Cockpit's jump() follows without a reload.
import React from 'react';
import { _, cockpit, format } from './cockpit';

/** The shell's URL of the Storage page for /dev/`sysfs`, on the host this page runs for. */
export function storageHref(sysfs: string): string {
  const host = cockpit.transport.host;
  return `${host && host !== 'localhost' ? `/@${host}` : ''}/storage#/${encodeURIComponent(sysfs)}`;
}

/** `asName`: the link is the map's name (an NVMe namespace's is its device's), not the smaller text beside it. */
export const StorageLink = ({ sysfs, asName = false }: { sysfs: string; asName?: boolean }) => (
  <a
    className={asName ? 'mp-storage-link' : 'mp-sub mp-storage-link'}
    href={storageHref(sysfs)}
    target="_top"
    title={format(_('Show $0 on the Storage page'), sysfs)}
    onClick={(e) => {
      e.preventDefault();
      cockpit.jump(`/storage#/${encodeURIComponent(sysfs)}`, cockpit.transport.host);
    }}
  >
    {sysfs}
  </a>
);
