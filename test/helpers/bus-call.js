// Makes D-Bus method calls exactly as given and prints, for each, whether it was answered
// and, if not, the error's name and text: busctl reports dbus-daemon's AccessDenied only
// as "Access denied", and a policy test must tell the bus's refusal from the service's.
// Run it as the uid under test:   node bus-call.js ADDRESS JSON
//   JSON: [{ "destination", "path", "interface"?, "member", "signature"?, "body"? }, ...]
//   a body element {"variant": [SIGNATURE, VALUE]} is sent as a variant.
// Prints a JSON array of { "ok": true } | { "ok": false, "error": NAME, "text": TEXT }.
'use strict';
const path = require('node:path');
const { connectBus, disconnect } = require(path.join(__dirname, '..', '..', 'dist', 'dbus', 'connection.js'));
const dbus = require('dbus-next');

const [address, json] = process.argv.slice(2);
const arg = (v) => (v && typeof v === 'object' && 'variant' in v ? new dbus.Variant(...v.variant) : v);

(async () => {
  const bus = await connectBus(address);
  const results = [];
  for (const c of JSON.parse(json)) {
    try {
      await bus.raw.call(new dbus.Message({ ...c, body: (c.body || []).map(arg) }));
      results.push({ ok: true });
    } catch (e) {
      results.push({ ok: false, error: e.type, text: e.text });
    }
  }
  disconnect(bus);
  console.log(JSON.stringify(results));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
