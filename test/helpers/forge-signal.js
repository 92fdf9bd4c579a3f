// Sends signals addressed to one connection, as any local user may (the system bus allows
// every uid to send a signal to any unique name), then asks the bus daemon one question:
// its answer comes after the daemon has passed the signals on, so a test that acts once this
// prints "sent" knows the forged signals were queued for the target before whatever it does next.
// Run it as the uid under test:   node forge-signal.js ADDRESS JSON
//   JSON: [{ "destination", "path", "interface", "member", "signature", "body" }, ...]
//   a body element {"uint64": "DIGITS"} is sent as a 64-bit number, {"self": true} as this
//   connection's unique name.
'use strict';
const path = require('node:path');
const { connectBus, callMethod, disconnect } = require(path.join(__dirname, '..', '..', 'dist', 'dbus', 'connection.js'));
const dbus = require('dbus-next');

const [address, json] = process.argv.slice(2);

(async () => {
  const bus = await connectBus(address);
  const arg = (v) => (v && typeof v === 'object' ? ('uint64' in v ? BigInt(v.uint64) : bus.uniqueName) : v);
  for (const s of JSON.parse(json)) {
    bus.send(new dbus.Message({ ...s, type: dbus.MessageType.SIGNAL, body: (s.body || []).map(arg) }));
  }
  await callMethod(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', '', []);
  disconnect(bus);
  console.log('sent');
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
