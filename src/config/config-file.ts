// /etc/multipath-dbus.conf: `key = value` lines, `#` comments. Every mistake is reported as
// "FILE:LINE: what is wrong" so an administrator can fix it without reading code.
import { parseListenAddress, type ListenAddress } from './listen-address';
import type { LogLevel } from '../util/log';
import { fail, ok, quoteSnippet, type Result } from '../util/result';

/**
 * The largest message we send unless configured otherwise: Debian's system bus refuses
 * messages over 32 MiB (and disconnects the sender); the margin leaves room for the header
 * fields the daemon adds when it relays.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 30 * 1024 * 1024;

export interface ServiceConfig {
  enable: boolean;
  /** multipathd's socket: a path, or "@name" for an abstract one. Unset: multipathd's defaults. */
  socket?: string;
  /** Seconds between safety-net re-reads; 0 = events only. */
  refreshInterval: number;
  /**
   * Seconds between polls of kernel state that changes without an event (NVMe ANA and
   * controller states; device-mapper's device list where it cannot be watched); 0 = not polled.
   */
  kernelPollInterval: number;
  historySize: number;
  /** Bytes asked for the netlink receive buffer. */
  netlinkBuffer: number;
  /** No message we send is larger (the bus daemon disconnects a sender that exceeds its max_message_size). */
  maxMessageSize: number;
  logLevel: LogLevel;
  /** Serve Prometheus metrics here; unset: no listener. */
  metricsListen?: ListenAddress;
  /** Directory of node_exporter's textfile collector to write the metrics into; unset: none. */
  metricsTextfile?: string;
}

export const DEFAULT_CONFIG: ServiceConfig = Object.freeze({
  enable: false,
  refreshInterval: 60,
  kernelPollInterval: 1,
  historySize: 4096,
  netlinkBuffer: 16 * 1024 * 1024,
  maxMessageSize: DEFAULT_MAX_MESSAGE_BYTES,
  logLevel: 'info',
});

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warning', 'notice', 'info', 'debug'];
const BOOLEANS: Record<string, boolean> = { yes: true, true: true, '1': true, no: false, false: false, '0': false };
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
// sun_path holds 108 bytes; an abstract name loses one to the leading NUL.
const MAX_SOCKET_BYTES = 107;

type Setter = (value: string, config: ServiceConfig) => string | undefined;

const SETTERS: Record<string, Setter> = {
  enable(v, c) {
    const b = BOOLEANS[v.toLowerCase()];
    if (b === undefined) return `enable must be yes or no, not ${quoteSnippet(v)}`;
    c.enable = b;
  },
  socket(v, c) {
    if (v[0] !== '/' && v[0] !== '@') return `socket must be an absolute path or @abstract-name, not ${quoteSnippet(v)}`;
    if (v.length === 1) return 'socket names nothing';
    if (Buffer.byteLength(v) > MAX_SOCKET_BYTES) return `socket is longer than ${MAX_SOCKET_BYTES} bytes`;
    c.socket = v;
  },
  refresh_interval(v, c) {
    const n = integer(v, 0, 86400);
    if (n === undefined) return `refresh_interval must be seconds from 0 (events only) to 86400, not ${quoteSnippet(v)}`;
    c.refreshInterval = n;
  },
  kernel_poll_interval(v, c) {
    const n = integer(v, 0, 3600);
    if (n === undefined) return `kernel_poll_interval must be seconds from 0 (not polled) to 3600, not ${quoteSnippet(v)}`;
    c.kernelPollInterval = n;
  },
  history_size(v, c) {
    const n = integer(v, 16, 1_000_000);
    if (n === undefined) return `history_size must be a number of events from 16 to 1000000, not ${quoteSnippet(v)}`;
    c.historySize = n;
  },
  netlink_buffer(v, c) {
    const n = size(v);
    if (!(n >= 64 * 1024 && n <= 1024 ** 3)) return `netlink_buffer must be 64K to 1G (bytes, or with a K, M or G suffix), not ${quoteSnippet(v)}`;
    c.netlinkBuffer = n;
  },
  max_message_size(v, c) {
    const n = size(v);
    // dbus-daemon allows at most 128 MiB; below 64 KiB a single large object would not fit.
    if (!(n >= 64 * 1024 && n <= 128 * 1024 ** 2)) return `max_message_size must be 64K to 128M (bytes, or with a K or M suffix), not ${quoteSnippet(v)}`;
    c.maxMessageSize = n;
  },
  log_level(v, c) {
    const level = LOG_LEVELS.find((l) => l === v.toLowerCase());
    if (!level) return `log_level must be one of ${LOG_LEVELS.join(', ')}, not ${quoteSnippet(v)}`;
    c.logLevel = level;
  },
  metrics_listen(v, c) {
    const r = parseListenAddress(v);
    if (!r.ok) return `metrics_listen: ${r.error}`;
    c.metricsListen = r.value;
  },
  metrics_textfile(v, c) {
    if (v[0] !== '/') return `metrics_textfile must be an absolute directory, not ${quoteSnippet(v)}`;
    c.metricsTextfile = v;
  },
};

export function parseConfigFile(text: string, fileName: string): Result<ServiceConfig> {
  const config: ServiceConfig = { ...DEFAULT_CONFIG };
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${fileName}:${i + 1}`;
    // A comment runs from a '#' at the start of the line or after whitespace.
    const line = lines[i].replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) return fail(`${where}: expected "key = value", found ${quoteSnippet(line)}`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!Object.hasOwn(SETTERS, key)) {
      return fail(`${where}: unknown key ${quoteSnippet(key)} (known: ${Object.keys(SETTERS).join(', ')})`);
    }
    const first = seen.get(key);
    if (first !== undefined) return fail(`${where}: ${key} is already set on line ${first}`);
    seen.set(key, i + 1);
    if (value === '') return fail(`${where}: ${key} has no value`);
    const problem = SETTERS[key](value, config);
    if (problem) return fail(`${where}: ${problem}`);
  }
  return ok(config);
}

function size(v: string): number {
  const m = /^(\d{1,13})\s*([kmg]?)$/i.exec(v);
  return m ? Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()] : NaN;
}

function integer(v: string, min: number, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}
