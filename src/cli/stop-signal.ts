// How a long-running command learns that it should stop: the first SIGINT or SIGTERM.

/** A repeat of the signal within this time is the same request (see below). */
const SAME_REQUEST_MS = 1000;

/**
 * Resolves with the first SIGINT or SIGTERM. One Ctrl-C often arrives twice: the terminal
 * signals the whole foreground process group, and `npm run` forwards what it got to its
 * child as well. So a repeat soon after is ignored while the command stops; a later one
 * (a user insisting) gets the default action back and ends the process at once.
 */
export function stopRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const first = (sig: NodeJS.Signals) => {
      for (const s of signals) {
        process.removeListener(s, first);
        process.on(s, ignore);
      }
      setTimeout(() => signals.forEach((s) => process.removeListener(s, ignore)), SAME_REQUEST_MS).unref();
      resolve(sig);
    };
    const ignore = () => undefined;
    for (const s of signals) process.on(s, first);
  });
}
