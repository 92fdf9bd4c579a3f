// Makes D-Bus method calls exactly as given and prints, for each, whether it was answered
// and, if not, the error's name and text: busctl reports dbus-daemon's AccessDenied only
// as "Access denied", and a policy test must tell the bus's refusal from the service's.
// Run it as the uid under test:   node bus-call.js ADDRESS JSON [--together]
//   JSON: [{ "destination", "path", "interface"?, "member", "signature"?, "body"?, "flags"? }, ...]
//   a body element {"variant": [SIGNATURE, VALUE]} is sent as a variant.
// Prints a JSON array of { "ok": true } | { "ok": false, "error": NAME, "text": TEXT }.
// One after the other by default. With --together (the caller budget tests): once connected
// it prints "ready" and waits for SIGUSR2, then sends all the calls at once, so they reach
// the service as one burst at a moment the test chooses; each answer then carries "ms",
// the time from the burst to it, and a call flagged NO_REPLY_EXPECTED (1) is only sent.
'use strict';
const path = require('node:path');
const { connectBus, disconnect } = require(path.join(__dirname, '..', '..', 'dist', 'frontends', 'dbus', 'bus', 'connection.js'));
const dbus = require('dbus-next');

const [address, json, mode] = process.argv.slice(2);
const arg = (v) => (v && typeof v === 'object' && 'variant' in v ? new dbus.Variant(...v.variant) : v);
const NO_REPLY_EXPECTED = 1;

const answer = (bus, c) =>
  bus.raw.call(new dbus.Message({ ...c, body: (c.body || []).map(arg) })).then(
    () => ({ ok: true }),
    (e) => ({ ok: false, error: e.type, text: e.text }),
  );

async function together(bus, calls) {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.once('SIGUSR2', resolve));
  const t0 = Date.now();
  const timed = (p) => p.then((a) => ({ ...a, ms: Date.now() - t0 }));
  return Promise.all(
    calls.map((c) =>
      (c.flags ?? 0) & NO_REPLY_EXPECTED
        ? (bus.raw.send(new dbus.Message({ ...c, body: (c.body || []).map(arg) })), { sent: true })
        : timed(answer(bus, c)),
    ),
  );
}

(async () => {
  const bus = await connectBus(address);
  const calls = JSON.parse(json);
  const results = [];
  if (mode === '--together') results.push(...(await together(bus, calls)));
  else for (const c of calls) results.push(await answer(bus, c));
  disconnect(bus);
  console.log(JSON.stringify(results));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
