// `multipath-dbus events` when the kernel drops uevents: the user is told, in the output
// they read, and the command goes on listening. The overflow is real: the command is
// stopped (SIGSTOP) while the kernel queues more uevents than its buffer holds.
import { describe, expect, it } from 'vitest';
import { canTrigger, trigger } from '../helpers/native';
import { killGroup, startGroup } from '../helpers/process-group';
import { CLI } from '../helpers/service-harness';

const skipReason = canTrigger();

describe.skipIf(skipReason !== undefined)(`events, when the kernel drops uevents (${skipReason ?? 'real kernel'})`, () => {
  it.each([
    ['text', [], /OVERFLOW: the kernel dropped events \(receive buffer full\)/],
    ['--json', ['--json'], /"type":"overflow"/],
  ] as const)('prints the overflow line (%s), keeps listening, and one SIGINT still ends it with 0', async (_name, flags, line) => {
    const g = startGroup(CLI, ['events', '--netlink-buffer', '65536', ...flags]);
    try {
      await g.waitFor(/listening for multipath uevents/);
      g.signal('SIGSTOP');
      // 64 KiB (the kernel doubles it) holds a few hundred uevents at most.
      for (let i = 0; i < 3000; i++) trigger();
      g.signal('SIGCONT');
      await g.waitFor(line);
      expect(g.output().match(new RegExp(line.source, 'g'))).toHaveLength(1);
      g.signal('SIGINT');
      const exit = await g.exited;
      expect({ code: exit.code, signal: exit.signal }, g.output()).toEqual({ code: 0, signal: null });
    } finally {
      killGroup(g);
    }
  });
});
