// A separate process that counts PathFailed/PathReinstated signals and notes when each
// arrived (CLOCK_MONOTONIC, shared with the emitting process). Prints JSON when it has
// `expect` signals or when `idleMs` pass without one.
import { connectBus, disconnect, onSignal } from '../src/frontends/dbus/bus/connection';

async function main(): Promise<void> {
  const [address, expectArg, idleArg] = process.argv.slice(2);
  const expect = Number(expectArg);
  const idleMs = Number(idleArg ?? 3000);
  const bus = await connectBus(address);
  const arrivals: [string, string][] = [];
  let timer: NodeJS.Timeout | undefined;
  const finish = () => {
    disconnect(bus);
    // Exit only once the pipe has taken everything.
    process.stdout.write(JSON.stringify({ count: arrivals.length, arrivals }) + '\n', () => process.exit(0));
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(finish, idleMs);
  };
  await onSignal(bus, { iface: 'org.kernel.linux.storage.multipath1.Map' }, (s) => {
    if (s.member !== 'PathFailed' && s.member !== 'PathReinstated') return;
    // The serial is the last argument (the sd-bus emitter's trivial signal has no other).
    arrivals.push([String(s.args[s.args.length - 1]), process.hrtime.bigint().toString()]);
    if (arrivals.length >= expect) finish();
    else arm();
  });
  process.stdout.write('READY\n');
  timer = setTimeout(finish, 60_000);
}

void main();
