/** Metrics HTTP server: GET /metrics (Prometheus text), GET /healthz (200 "ok" while running). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { BulwarkError } from '../errors.js';
import { parseListen } from '../config/schema.js';

export interface MetricsServerOptions {
  listen: string;
  registry: Registry;
  healthy(): boolean;
  log: Logger;
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
    const server = createServer((req, res) => {
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
    // Scrapers are few: bound connections and slow clients.
    server.maxConnections = 32;
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
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
