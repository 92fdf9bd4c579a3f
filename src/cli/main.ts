// `multipath-dbus`: one command, a subcommand per job.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../config/load';
import { parseListenAddress } from '../config/listen-address';
import { VERSION } from '../version';
import { ClientError } from './client';
import { terminalText } from './terminal-text';

function integer(min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const busOption = () =>
  new Option('--bus <bus>', 'system, session, or a D-Bus address (unix:path=...)').default('system');
const socketOption = () => new Option('--socket <name>', "multipathd's socket: a path, or @name for an abstract one");

async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    // The message may quote the service, multipathd or the user's arguments.
    process.stderr.write(`multipath-dbus: ${terminalText((e as Error).message)}\n`);
    process.exitCode = e instanceof ClientError ? 2 : 1;
  }
}

const program = new Command('multipath-dbus')
  .version(VERSION)
  .description('Device-mapper multipath state on D-Bus: live objects and signals instead of polling multipath -ll');

program
  .command('serve')
  .description('run the service')
  .option('--config <path>', 'configuration file', DEFAULT_CONFIG_PATH)
  .addOption(busOption())
  .addOption(socketOption())
  .option('--enable', 'publish even if the configuration does not say enable = yes')
  .option('--refresh-interval <seconds>', 'safety-net re-read interval, 0 = events only', integer(0, 86400))
  .option('--history-size <events>', 'events kept for GetEvents', integer(16, 1_000_000))
  .option('--netlink-buffer <bytes>', 'uevent socket receive buffer', integer(65536, 1 << 30))
  .option('--max-message-size <bytes>', 'largest D-Bus message sent (at most the bus daemon\'s max_message_size)', integer(65536, 128 << 20))
  .addOption(new Option('--log-level <level>').choices(['error', 'warning', 'notice', 'info', 'debug']))
  .option('--no-kernel', 'do not read kernel uevents or device-mapper (multipathd only)')
  .option('--metrics-listen <address:port>', 'serve Prometheus metrics at http://ADDRESS:PORT/metrics', (v) => {
    const r = parseListenAddress(v);
    if (!r.ok) throw new InvalidArgumentError(r.error);
    return r.value;
  })
  .option('--metrics-textfile <directory>', "write the metrics into node_exporter's textfile collector directory")
  .action((o) => run(async () => (await import('./serve')).serve(o)));

program
  .command('snapshot')
  .description('print the merged topology read from multipathd and device-mapper (no D-Bus)')
  .addOption(socketOption())
  .option('--json', 'JSON with the D-Bus property names as keys')
  .action((o) => run(async () => (await import('./snapshot')).snapshot({ socket: o.socket, json: !!o.json })));

program
  .command('events')
  .description('print dm-multipath events from the kernel as they happen (no D-Bus)')
  .option('--json', 'one JSON object per line')
  .option('--netlink-buffer <bytes>', 'uevent socket receive buffer (default 16 MiB)', integer(65536, 1 << 30))
  .action((o) => run(async () => (await import('./events')).events({ json: !!o.json, receiveBuffer: o.netlinkBuffer })));

program
  .command('status')
  .description('one line per map; exit 1 if any map is degraded or failed')
  .addOption(busOption())
  .option('--json', 'JSON output')
  .action((o) => run(async () => (await import('./status')).status({ bus: o.bus, json: !!o.json })));

program
  .command('show')
  .description('the topology as the service publishes it, like multipath -ll')
  .argument('[map]', 'map name, WWID or dm-N')
  .addOption(busOption())
  .option('--json', 'JSON with the D-Bus property names as keys')
  .action((map, o) => run(async () => (await import('./show')).show({ bus: o.bus, json: !!o.json, map })));

program
  .command('monitor')
  .description("print the service's signals as they happen")
  .addOption(busOption())
  .option('--json', 'one JSON object per line')
  .option('--since <serial>', 'replay the history after this serial first', (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a serial number');
    return BigInt(v);
  })
  .action((o) =>
    run(async () =>
      (await import('./monitor')).monitor({
        bus: o.bus,
        json: !!o.json,
        since: o.since,
        // On stderr, like `busctl monitor`: stdout stays one line per signal.
        onReady: () => process.stderr.write(`multipath-dbus monitor: listening for the service's signals on ${terminalText(o.bus)}; Ctrl-C stops\n`),
      }),
    ),
  );

const manageCommand = (name: string, description: string) => program.command(name).description(description).addOption(busOption());
const manage = (o: { bus: string }, c: import('./manage').ManageCommand) => run(async () => (await import('./manage')).manage(o, c));

manageCommand('fail', 'fail a path (polkit: manage-paths)')
  .argument('<path>', 'kernel name (sdb), dev_t or object path')
  .action((path, o) => manage(o, { kind: 'fail', path }));
manageCommand('reinstate', 'reinstate a path (polkit: manage-paths)')
  .argument('<path>', 'kernel name (sdb), dev_t or object path')
  .action((path, o) => manage(o, { kind: 'reinstate', path }));
manageCommand('switch-group', "make a path group the one the kernel uses (polkit: manage-paths)")
  .argument('<map>', 'map name, WWID or dm-N')
  .argument('<group>', 'path group number, from 1', integer(1, 0xffffffff))
  .action((map, group, o) => manage(o, { kind: 'switch-group', map, group }));
manageCommand('queueing', "disable queueing when no path is left, or restore the configured policy (polkit: configure)")
  .argument('<map>', 'map name, WWID or dm-N')
  .argument('<on|off>', 'on: restore the configured no_path_retry; off: fail I/O when no path is left', (v) => {
    if (v !== 'on' && v !== 'off') throw new InvalidArgumentError('expected on or off');
    return v === 'on';
  })
  .action((map, enabled, o) => manage(o, { kind: 'queueing', map, enabled }));
manageCommand('resize', "grow or shrink a map to its paths' size (polkit: configure)")
  .argument('<map>', 'map name, WWID or dm-N')
  .action((map, o) => manage(o, { kind: 'resize', map }));
manageCommand('reconfigure', "have multipathd re-read its configuration (polkit: configure)").action((o) => manage(o, { kind: 'reconfigure' }));

program
  .command('demo')
  .description('a simulated multipath host on a private bus, to explore the API without hardware')
  .option('--interval <seconds>', 'seconds between simulated path failures', integer(1, 3600), 3)
  .action((o) => run(async () => (await import('./demo')).demo({ intervalSeconds: o.interval })));

void program.parseAsync(process.argv);
