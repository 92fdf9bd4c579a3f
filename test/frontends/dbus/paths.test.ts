import { describe, expect, it } from 'vitest';
import { escapePathElement, mapObjectPath, pathObjectPath } from '../../../src/frontends/dbus/api';

describe('object path escaping (as udisks)', () => {
  it('keeps [A-Za-z0-9] and escapes every other byte as _xx', () => {
    expect(escapePathElement('sdb')).toBe('sdb');
    expect(escapePathElement('1ACME_Disk_\\x22Q\\x5c1_2000')).toBe('1ACME_5fDisk_5f_5cx22Q_5cx5c1_5f2000');
    expect(escapePathElement('é')).toBe('_c3_a9');
    expect(escapePathElement('')).toBe('_');
    expect(escapePathElement('sdb')).toBe('sdb');
  });

  it('builds the documented object paths', () => {
    expect(mapObjectPath('36001405abc')).toBe('/org/kernel/linux/storage/multipath1/maps/36001405abc');
    expect(pathObjectPath('sdaa')).toBe('/org/kernel/linux/storage/multipath1/paths/sdaa');
  });
});
