// The journal sink: each transition of interest as one structured journal entry, sent
// over journald's native socket. Where journald is not listening (no systemd, a
// container) or refuses the datagram, the entry's message becomes a plain log line instead.
import { closeFd, openUnixDatagram, sendUnixDatagram } from '../native/addon';
import type { ServiceEvent, Sink } from '../service/sink';
import type { Logger } from '../util/log';
import { journalEntry } from './entries';
import { encodeJournalEntry } from './native-protocol';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** Sends one datagram; throws (a NativeError) when it cannot. */
export interface JournalTransport {
  send(datagram: Buffer): void;
  close(): void;
}

export function journaldTransport(socketPath = JOURNAL_SOCKET): JournalTransport {
  let fd: number | undefined;
  return {
    send(datagram) {
      fd ??= openUnixDatagram();
      sendUnixDatagram(fd, socketPath, datagram);
    },
    close() {
      if (fd !== undefined) closeFd(fd);
      fd = undefined;
    },
  };
}

export class JournalSink implements Sink {
  private lastError = '';

  constructor(
    private readonly transport: JournalTransport,
    private readonly log: Logger,
  ) {}

  event(e: ServiceEvent): void {
    const entry = journalEntry(e);
    if (!entry) return;
    try {
      this.transport.send(encodeJournalEntry(entry.fields));
      this.lastError = '';
    } catch (err) {
      const why = (err as Error).message;
      // Said once per change of reason: the lines themselves keep coming.
      if (why !== this.lastError) this.log.debug(`journal unavailable (${why}); writing events as log lines`);
      this.lastError = why;
      this.log[entry.level](entry.message);
    }
  }

  burst(): void {}

  close(): void {
    this.transport.close();
  }
}
