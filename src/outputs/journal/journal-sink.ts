// The journal sink: each transition of interest as one structured journal entry, sent
// over journald's native socket. Where journald is not listening (no systemd, a
// container) or refuses the datagram, the entry's message becomes a plain log line instead.
import { closeFd, openUnixDatagram, sendUnixDatagram } from '../../native/addon';
import type { CoreEvent, EventSubject, Sink } from '../../core/events';
import { escapeControls } from '../../util/control-chars';
import type { Logger } from '../../util/log';
import { journalEntry, type JournalEntry } from './entries';
import { encodeJournalEntry } from './native-protocol';

const JOURNAL_SOCKET = '/run/systemd/journal/socket';

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

/**
 * Writes structured entries: to journald while it takes them, else as the log line given
 * (the logger escapes it). Shared by the transitions and the audit of management actions.
 */
export class JournalWriter {
  private lastError = '';

  constructor(
    private readonly transport: JournalTransport,
    private readonly log: Logger,
  ) {}

  write(entry: JournalEntry, fallback: string = entry.message): void {
    try {
      // MESSAGE is what journalctl and syslog show as the line: one line, as the logger's. The
      // other fields keep the exact values (the binary-safe form carries any byte).
      this.transport.send(encodeJournalEntry(entry.fields.map(([k, v]) => [k, k === 'MESSAGE' ? escapeControls(v) : v])));
      this.lastError = '';
    } catch (err) {
      const why = (err as Error).message;
      // Said once per change of reason: the lines themselves keep coming.
      if (why !== this.lastError) this.log.debug(`journal unavailable (${why}); writing entries as log lines`);
      this.lastError = why;
      this.log[entry.level](fallback);
    }
  }

  close(): void {
    this.transport.close();
  }
}

export class JournalSink implements Sink {
  constructor(private readonly writer: JournalWriter) {}

  event(e: CoreEvent, about: EventSubject): void {
    const entry = journalEntry(e, about);
    if (entry) this.writer.write(entry);
  }

  burst(): void {}
}
