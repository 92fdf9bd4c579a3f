// Sends signals addressed to one connection, as any local user may (the system bus allows
// every uid to send a signal to any unique name), then asks the bus daemon one question:
// its answer comes after the daemon has passed the signals on, so a test that acts once this
// prints "sent" knows the forged signals were queued for the target before whatever it does next.
// Run it as the uid under test:   node forge-signal.js ADDRESS JSON
//   JSON: [{ "destination", "path", "interface", "member", "signature", "body" }, ...]
//   in a body, {"uint64": "DIGITS"} is sent as a 64-bit number, {"variant": [SIGNATURE, VALUE]}
//   as a variant, {"self": true} as this connection's unique name; other objects as dicts.
'use strict';
const path = require('node:path');
const { connectBus, callMethod, disconnect } = require(path.join(__dirname, '..', '..', 'dist', 'frontends', 'dbus', 'bus', 'connection.js'));
const dbus = require('dbus-next');

const [address, json] = process.argv.slice(2);

(async () => {
  const bus = await connectBus(address);
  const arg = (v) => {
    if (Array.isArray(v)) return v.map(arg);
    if (!v || typeof v !== 'object') return v;
    if ('uint64' in v) return BigInt(v.uint64);
    if ('variant' in v) return new dbus.Variant(v.variant[0], arg(v.variant[1]));
    if ('self' in v) return bus.uniqueName;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, arg(x)]));
  };
  for (const s of JSON.parse(json)) {
    bus.sendSignal(s.path, s.interface, s.member, s.signature || '', arg(s.body || []), s.destination);
  }
  await callMethod(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', '', []);
  disconnect(bus);
  console.log('sent');
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
