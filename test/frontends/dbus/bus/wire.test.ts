// Our marshaller must produce exactly the bytes dbus-next's general one does.
import * as dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { marshalMessage, marshalSignal, objectEntrySize, premarshalObject } from '../../../../src/frontends/dbus/bus/wire';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { marshallMessage } = require('dbus-next/lib/marshall-compat') as { marshallMessage: (m: dbus.Message) => [Buffer, unknown[]] };

function reference(m: dbus.Message, serial: number): Buffer {
  (m as unknown as { serial: number }).serial = serial;
  return marshallMessage(m)[0];
}

const V = (s: string, v: unknown) => new dbus.Variant(s, v);
const path = '/org/kernel/linux/storage/multipath1/maps/3600a0980383030523424457a4a000001';
const iface = 'org.kernel.linux.storage.multipath1.Map';

const signals: [string, string, unknown[]][] = [
  ['PathFailed', 'osuut', ['/org/kernel/linux/storage/multipath1/paths/sdb', '8:16', 1, 7, 123456789012n]],
  ['Failed', 't', [1n]],
  ['PolicyChanged', 'ast', [['Selector', 'ActiveGroup'], 42n]],
  ['PolicyChanged', 'ast', [[], 42n]],
  ['InterfacesRemoved', 'oas', ['/org/x/y', ['a.b.C', 'a.b.Deé']]],
  ['Odd', 'bsugiyn', [true, 'ünïcödé', 0xffffffff, 'a{sv}', -5, 7, -2]],
  ['PropertiesChanged', 'sa{sv}as', [iface, { Health: V('s', 'degraded'), ValidPaths: V('u', 3), Size: V('t', 8388608n), Blacklist: V('a(ss)', [['devnode', '^sd'], ['wwid', 'x']]), Paths: V('ao', ['/a', '/b']), Marginal: V('b', false), Priority: V('i', -1) }, []]],
  ['InterfacesAdded', 'oa{sa{sv}}', ['/o/p', { [iface]: { Name: V('s', 'mpatha'), Size: V('t', 1n) }, 'x.y': {} }]],
  ['Empty', '', []],
];

describe('marshalling', () => {
  it.each(signals)('signal %s(%s) equals dbus-next byte for byte', (member, sig, body) => {
    const ours = marshalSignal(31337, path, iface, member, sig, body);
    expect(ours.equals(reference(dbus.Message.newSignal(path, iface, member, sig, body), 31337))).toBe(true);
  });

  it('signals of one kind from one object (whose header is made once) each carry their own serial and body length', () => {
    for (const [serial, names] of [[1, ['Selector']], [2, []], [0xfffffffe, ['Selector', 'ActiveGroup', 'Features']]] as const) {
      const body = [[...names], BigInt(serial)];
      const ours = marshalSignal(serial, path, iface, 'PolicyChanged', 'ast', body);
      expect(ours.equals(reference(dbus.Message.newSignal(path, iface, 'PolicyChanged', 'ast', body), serial))).toBe(true);
    }
  });

  it('a method return (GetManagedObjects-shaped) equals dbus-next byte for byte', () => {
    const call = new dbus.Message({ serial: 99, sender: ':1.42', path, interface: iface, member: 'GetManagedObjects' });
    const body = [{ [path]: { [iface]: { Name: V('s', 'mpatha'), Paths: V('ao', []) } }, '/x': {} }];
    const ref = reference(dbus.Message.newMethodReturn(call, 'a{oa{sa{sv}}}', body), 7);
    expect(marshalMessage({ type: 2, serial: 7, replySerial: 99, destination: ':1.42' }, 'a{oa{sa{sv}}}', body).equals(ref)).toBe(true);
    const empty = reference(dbus.Message.newMethodReturn(call, '', []), 8);
    expect(marshalMessage({ type: 2, serial: 8, replySerial: 99, destination: ':1.42' }, '', []).equals(empty)).toBe(true);
  });

  it('an error reply equals dbus-next byte for byte', () => {
    const call = new dbus.Message({ serial: 99, sender: ':1.42', path, interface: iface, member: 'GetManagedObjects' });
    const text = 'the reply to GetManagedObjects would be more than 33554432 bytes, the message size limit; read the objects in pieces';
    const ref = reference(dbus.Message.newError(call as never, 'org.freedesktop.DBus.Error.LimitsExceeded', text), 7);
    expect(marshalMessage({ type: 3, serial: 7, replySerial: 99, destination: ':1.42', errorName: 'org.freedesktop.DBus.Error.LimitsExceeded' }, 's', [text]).equals(ref)).toBe(true);
  });

  it('a reply built from entries marshalled once equals the one marshalled whole, whatever their sizes', () => {
    // Entries of odd lengths, so that each next one needs padding to land 8-aligned again.
    const objects: Record<string, Record<string, Record<string, dbus.Variant>>> = {
      [path]: { [iface]: { Name: V('s', 'mpatha'), Size: V('t', 3n), Paths: V('ao', ['/p/a']) } },
      '/x': {},
      '/yy/z': { [iface]: { Marginal: V('b', true), Vendor: V('s', 'ab') }, 'a.B': { Priority: V('i', -7) } },
    };
    const whole = marshalMessage({ type: 2, serial: 9, replySerial: 99, destination: ':1.42' }, 'a{oa{sa{sv}}}s', [objects, 'next']);
    // Each entry written from the tables' types and plain values, as the export layer does.
    const pieces = Object.entries(objects).map(([p, ifaces]) =>
      premarshalObject(
        p,
        Object.entries(ifaces).map(([i, props]) => [
          i,
          new Map(Object.entries(props).map(([k, v]) => [k, v.signature])),
          Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.value])),
        ]),
      ),
    );
    expect(pieces.map((p) => p.bytes.length % 8)).not.toEqual([0, 0, 0]);
    expect(marshalMessage({ type: 2, serial: 9, replySerial: 99, destination: ':1.42' }, 'a{oa{sa{sv}}}s', [pieces, 'next']).equals(whole)).toBe(true);
    // A number where the table says t is written as the uint64 it stands for.
    const asNumber = premarshalObject(path, [[iface, new Map([['Size', 't']]), { Size: 3 }]]);
    expect(asNumber.bytes.equals(premarshalObject(path, [[iface, new Map([['Size', 't']]), { Size: 3n }]]).bytes)).toBe(true);
    expect(() => premarshalObject(path, [[iface, new Map(), { Colour: 'blue' }]])).toThrow(/no property Colour/);
  });

  it('an entry measured without marshalling it has the size of its bytes, for every type and odd length', () => {
    const types = new Map(Object.entries({ Name: 's', Size: 't', Priority: 'i', Marginal: 'b', Paths: 'ao', Blacklist: 'a(ss)', Number: 'u', Empty: 'as', Map: 'o', Odd: 'y', Small: 'q' }));
    const variants: Record<string, unknown>[] = [
      { Name: 'mpathä', Size: 3n, Priority: -1, Marginal: true, Paths: ['/p/a', '/p/bcd'], Blacklist: [['devnode', '^sd'], ['wwid', 'x']], Number: 7, Empty: [], Map: '/m', Odd: 1, Small: 2 },
      { Odd: 255, Name: '', Small: 9, Paths: [], Size: 1 },
      {},
    ];
    for (const p of ['/x', '/yy/z', path]) {
      for (const values of variants) {
        const ifaces: [string, Map<string, string>, Record<string, unknown>][] = [[iface, types, values], ['a.B', types, { Odd: 3 }], ['c.Dé', types, {}]];
        expect(objectEntrySize(p, ifaces)).toBe(premarshalObject(p, ifaces).bytes.length);
      }
    }
  });
});
