// A map's block device on Cockpit's Storage page: cockpit-storaged (287) finds a device by
// any of its /dev names from the hash, so /storage#/dm-3 shows the map's dm-3. A plain link
// (to the shell's URL, in the top frame) that Cockpit's jump() follows without a reload.
import React from 'react';
import { _, cockpit, format } from './cockpit';

/** The shell's URL of the Storage page for /dev/`sysfs`, on the host this page runs for. */
export function storageHref(sysfs: string): string {
  const host = cockpit.transport.host;
  return `${host && host !== 'localhost' ? `/@${host}` : ''}/storage#/${encodeURIComponent(sysfs)}`;
}

export const StorageLink = ({ sysfs }: { sysfs: string }) => (
  <a
    className="mp-sub mp-storage-link"
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
