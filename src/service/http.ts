/**
 * Metrics HTTP server: GET /metrics (Prometheus text), GET /healthz (200 "ok" while running).
 *
 * Slow clients cannot make it unavailable: headers must arrive within 5 s and Node checks that
 * every second (its default check runs every 30 s, so 32 slowloris connections held every slot
 * for half a minute at a time); a connection without activity for 10 s is closed; and at the
 * connection bound a new client is never refused while a connection sits without a request in
 * progress — the one stalled longest (headers still incomplete, or idle keep-alive) is closed to
 * make room. Only when every connection is being answered is the newcomer dropped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { BulwarkError } from '../errors.js';
import { parseListen } from '../config/schema.js';

export interface MetricsServerOptions {
  listen: string;
  registry: Registry;
  healthy(): boolean;
  log: Logger;
  /** Connection bound (default 32). */
  maxConnections?: number;
  /** Headers of a request must be complete within this (default 5 s). */
  headersTimeoutMs?: number;
  /** A connection without any activity for this long is closed (default 10 s). */
  idleTimeoutMs?: number;
  /** Counts connections closed to make room for a new one. */
  onEvicted?: () => void;
}

/** Per connection: a request is being answered, or since when it has been waiting. */
interface ConnState {
  active: boolean;
  since: number;
}

export class MetricsServer {
  private server: Server | undefined;
  private boundUrl: string | undefined;

  constructor(private readonly opts: MetricsServerOptions) {}

  /** "http://127.0.0.1:9747" once listening (the real port when configured with port 0). */
  get url(): string | undefined {
    return this.boundUrl;
  }

  async start(): Promise<void> {
    const addr = parseListen(this.opts.listen);
    if (!addr) throw new BulwarkError('BULWARK_ERR_CONFIG', `metrics.listen: bad address "${this.opts.listen}"`);
    const maxConnections = this.opts.maxConnections ?? 32;
    const headersTimeout = this.opts.headersTimeoutMs ?? 5_000;
    const conns = new Map<Socket, ConnState>();
    // Deadlines are checked every second (Node's default is every 30 s: far too coarse).
    const server = createServer({ connectionsCheckingInterval: 1000, headersTimeout, requestTimeout: headersTimeout * 2, keepAliveTimeout: 5_000 }, (req, res) => {
      const st = conns.get(req.socket);
      if (st) st.active = true;
      res.on('close', () => {
        if (st) {
          st.active = false;
          st.since = performance.now();
        }
      });
      const path = (req.url ?? '/').split('?')[0];
      const known = path === '/metrics' || path === '/healthz';
      if (!known) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end('method not allowed\n');
        return;
      }
      if (path === '/healthz') {
        const ok = this.opts.healthy();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(ok ? 'ok\n' : 'not running\n');
        return;
      }
      this.opts.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          this.opts.log.error({ err: e }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
        },
      );
    });
    // Scrapers are few: bound connections and slow clients (see the top of this file).
    server.setTimeout(this.opts.idleTimeoutMs ?? 10_000, (sock) => {
      sock.destroy();
    });
    server.on('connection', (sock: Socket) => {
      if (conns.size >= maxConnections) {
        let victim: Socket | undefined;
        let since = Infinity;
        for (const [c, st] of conns) {
          if (!st.active && st.since < since) {
            victim = c;
            since = st.since;
          }
        }
        if (victim === undefined) {
          sock.destroy();
          return;
        }
        conns.delete(victim);
        victim.destroy();
        this.opts.onEvicted?.();
      }
      conns.set(sock, { active: false, since: performance.now() });
      sock.on('close', () => conns.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => {
        reject(new BulwarkError('BULWARK_ERR_CONFIG', `metrics.listen ${this.opts.listen}: ${e.message}`, { cause: e }));
      });
      server.listen(addr.port, addr.host, () => {
        resolve();
      });
    });
    server.on('error', (e) => {
      this.opts.log.error({ err: e }, 'metrics server error');
    });
    const a = server.address() as AddressInfo;
    this.boundUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }
}
