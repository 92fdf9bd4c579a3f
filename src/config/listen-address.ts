// `metrics_listen = ADDRESS:PORT`. The address must be an IP literal: a host name could
// resolve to an interface nobody meant to open, so the listener binds exactly what it was told.
import { isIP } from 'node:net';
import { fail, ok, quoteSnippet, type Result } from '../util/result';

export interface ListenAddress {
  host: string;
  /** 0 lets the kernel choose (the bound port is logged). */
  port: number;
}

export function parseListenAddress(text: string): Result<ListenAddress> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const bad = () => fail<ListenAddress>(`expected ADDRESS:PORT with an IP address (127.0.0.1:9664, [::1]:9664), not ${quoteSnippet(text)}`);
  if (!m) return bad();
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) return bad();
  if (port > 65535) return fail(`port must be 0 to 65535, not ${m[3]}`);
  return ok({ host, port });
}

/** How the address is written back (logs, URLs). */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
