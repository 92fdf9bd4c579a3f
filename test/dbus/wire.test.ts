// Our signal marshaller must produce exactly the bytes dbus-next's general one does.
import * as dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { marshalSignal } from '../../src/dbus/wire';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { marshallMessage } = require('dbus-next/lib/marshall-compat') as { marshallMessage: (m: dbus.Message) => [Buffer, unknown[]] };

function reference(serial: number, path: string, iface: string, member: string, signature: string, body: unknown[]): Buffer {
  const m = dbus.Message.newSignal(path, iface, member, signature, body);
  (m as unknown as { serial: number }).serial = serial;
  return marshallMessage(m)[0];
}

const cases: [string, string, unknown[]][] = [
  ['PathFailed', 'osuut', ['/org/kernel/linux/storage/multipath1/paths/sdb', '8:16', 1, 7, 123456789012n]],
  ['Failed', 't', [1n]],
  ['PolicyChanged', 'ast', [['Selector', 'ActiveGroup'], 42n]],
  ['PolicyChanged', 'ast', [[], 42n]],
  ['Resynchronized', 'st', ['overflow,seqnum-gap', 9n]],
  ['InterfacesRemoved', 'oas', ['/org/x/y', ['a.b.C', 'a.b.Deé']]],
  ['Odd', 'bsug', [true, 'ünïcödé', 0xffffffff, 'a{sv}']],
  ['Empty', '', []],
];

describe('signal marshalling', () => {
  it.each(cases)('%s(%s) equals dbus-next byte for byte', (member, sig, body) => {
    const serial = 31337;
    const path = '/org/kernel/linux/storage/multipath1/maps/3600a0980383030523424457a4a000001';
    const iface = 'org.kernel.linux.storage.multipath1.Map';
    expect(marshalSignal(serial, path, iface, member, sig, body)!.equals(reference(serial, path, iface, member, sig, body))).toBe(true);
  });

  it('leaves anything with variants or dicts to dbus-next', () => {
    expect(marshalSignal(1, '/a', 'a.b', 'PropertiesChanged', 'sa{sv}as', ['x', {}, []])).toBeUndefined();
  });
});
