// How a long-running command learns that it should stop: the first SIGINT or SIGTERM.

/** A command still running this long after the signal is stuck: it exits anyway (status 1). */
const STOP_DEADLINE_MS = 5000;

/**
 * Resolves with the first SIGINT or SIGTERM. One Ctrl-C often arrives twice: the terminal
 * signals the whole foreground process group, and `npm run` forwards what it got to its
 * child as well, late when the machine is busy. So repeats are ignored while the command
 * stops; stopping is bounded (no step waits on a peer for long), and should it hang all
 * the same, the process exits by itself after STOP_DEADLINE_MS rather than needing kill -9.
 */
export function stopRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const ignore = () => undefined;
    const first = (sig: NodeJS.Signals) => {
      for (const s of signals) {
        process.removeListener(s, first);
        process.on(s, ignore);
      }
      setTimeout(() => {
        process.stderr.write(`multipath-dbus: still running ${STOP_DEADLINE_MS / 1000} s after ${sig}; exiting anyway\n`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      resolve(sig);
    };
    for (const s of signals) process.on(s, first);
  });
}
