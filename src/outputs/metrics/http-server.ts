// The metrics endpoint. It is reachable by whoever can reach the address it was told to
// bind, so it gives them as little as possible: GET (or HEAD) /metrics and nothing else,
// no request bodies, small headers, short timeouts and a bounded number of connections.
// Connections that send nothing useful must not keep a scraper out: they time out within
// seconds, and a newcomer beyond a bound takes the place of the connection idle longest
// (one with no request in progress) rather than being turned away.
import * as http from 'node:http';
import type * as net from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../util/log';
import { formatListenAddress, type ListenAddress } from '../../config/listen-address';

const METRICS_LIMITS = Object.freeze({
  maxConnections: 16,
  maxConnectionsPerPeer: 8,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  // Node checks the header and request deadlines only this often (default 30 s).
  connectionsCheckingIntervalMs: 1_000,
  maxRequestsPerSocket: 1_000,
});

export interface MetricsServer {
  /** Where it listens (the kernel's choice when the port was 0). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export function startMetricsServer(listen: ListenAddress, registry: Registry, log: Logger): Promise<MetricsServer> {
  const server = http.createServer(
    {
      maxHeaderSize: METRICS_LIMITS.maxHeaderBytes,
      requestTimeout: METRICS_LIMITS.requestTimeoutMs,
      headersTimeout: METRICS_LIMITS.headersTimeoutMs,
      connectionsCheckingInterval: METRICS_LIMITS.connectionsCheckingIntervalMs,
    },
    (req, res) => void answer(req, res, registry, log),
  );
  boundConnections(server);
  server.keepAliveTimeout = METRICS_LIMITS.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = METRICS_LIMITS.maxRequestsPerSocket;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port, ipv6Only: true, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', (e) => log.warning(`metrics endpoint: ${e.message}`));
      const bound = server.address() as { port: number };
      const address = { host: listen.host, port: bound.port };
      log.info(`metrics on http://${formatListenAddress(address)}/metrics`);
      resolve({
        address,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * At most maxConnections open, maxConnectionsPerPeer from one address. A connection past
 * either bound closes the one of that scope idle longest; only when every one of them is
 * answering a request is the newcomer closed instead.
 */
function boundConnections(server: http.Server): void {
  // In order of last activity (connected, or its last response finished): the first idle one is the longest idle.
  const open = new Map<net.Socket, { peer: string; requests: number }>();
  const close = (socket: net.Socket) => {
    open.delete(socket);
    socket.destroy();
  };
  server.on('connection', (socket: net.Socket) => {
    const peer = socket.remoteAddress ?? '';
    open.set(socket, { peer, requests: 0 });
    socket.once('close', () => open.delete(socket));
    const scopes: [number, (c: { peer: string }) => boolean][] = [
      [METRICS_LIMITS.maxConnectionsPerPeer, (c) => c.peer === peer],
      [METRICS_LIMITS.maxConnections, () => true],
    ];
    for (const [max, within] of scopes) {
      const scope = [...open].filter(([, c]) => within(c));
      if (scope.length <= max) continue;
      const idle = scope.find(([s, c]) => s !== socket && c.requests === 0)?.[0];
      close(idle ?? socket);
      if (!idle) return;
    }
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const c = open.get(req.socket);
    if (!c) return;
    c.requests++;
    res.once('close', () => {
      if (--c.requests > 0 || !open.delete(req.socket)) return;
      open.set(req.socket, c); // idle from now: the last in line to be closed
    });
  });
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, registry: Registry, log: Logger): Promise<void> {
  const refuse = (status: number, headers: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...headers });
    res.end(`${http.STATUS_CODES[status]}\n`);
  };
  const pathname = (req.url ?? '').split('?')[0];
  if (pathname !== '/metrics') return refuse(404);
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, { Allow: 'GET, HEAD' });
  // A GET has no body; one that claims to have one is not a scraper.
  if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0) return refuse(400);
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    log.error(`metrics: ${(e as Error).message}`);
    refuse(500);
  }
}
