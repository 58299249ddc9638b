/**
 * Port interception: for every database port on which no local service listens, bulwark listens
 * itself (IPv4 and IPv6) so that attack payloads are actually sent and can be inspected by the
 * capture path. The listeners never answer (unless a banner is configured later) and are bounded:
 * concurrent connections, idle time and bytes read per connection.
 *
 * Ports a local service already uses are inspected passively only. A local service that starts
 * later on an intercepted port will find it taken: release it with intercept.excludePorts.
 */
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/types.js';

export type InterceptConfig = Config['intercept'];

/** Which TCP ports have a listening socket right now (any address, v4 or v6). */
export type ListeningPortsReader = () => Promise<Set<number>>;

/** Parses /proc/net/tcp or /proc/net/tcp6 text: the local ports of sockets in state LISTEN (0A). */
export function parseProcNetTcpListeners(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    // "  0: 00000000:0016 00000000:0000 0A ..."
    const m = /^\s*\d+:\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:[0-9A-Fa-f]{4}\s+([0-9A-Fa-f]{2})\s/.exec(line);
    if (m?.[2] === '0A' && m[1] !== undefined) ports.add(parseInt(m[1], 16));
  }
  return ports;
}

export const procListeningPorts: ListeningPortsReader = async () => {
  const out = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const p of parseProcNetTcpListeners(await readFile(f, 'utf8'))) out.add(p);
    } catch {
      // tcp6 is absent when IPv6 is disabled: nothing listens there then.
    }
  }
  return out;
};

interface PortListeners {
  port: number;
  servers: net.Server[];
}

export interface InterceptState {
  /** Ports bulwark listens on itself. */
  intercepted: number[];
  /** Database ports a local service owns: inspected passively. */
  passive: number[];
  /** Ports left alone by intercept.excludePorts (or listen: false). */
  excluded: number[];
  /** Ports that could not be bound (error text). */
  failed: Record<number, string>;
}

export class Interceptor {
  private readonly listeners = new Map<number, PortListeners>();
  private readonly sockets = new Set<net.Socket>();
  private state: InterceptState = { intercepted: [], passive: [], excluded: [], failed: {} };
  private readonly mPorts: Gauge;
  private readonly mConns: Gauge;
  private readonly mAccepted: Counter;
  private readonly mRejected: Counter<'reason'>;

  constructor(
    private cfg: InterceptConfig,
    private readonly log: Logger,
    registry: Registry,
    private readonly listening: ListeningPortsReader = procListeningPorts,
  ) {
    this.mPorts = new Gauge({ name: 'bulwark_intercepted_ports', help: 'Ports bulwark listens on itself.', registers: [registry] });
    this.mConns = new Gauge({ name: 'bulwark_listener_connections', help: 'Open connections on intercepted ports.', registers: [registry] });
    this.mAccepted = new Counter({ name: 'bulwark_listener_connections_total', help: 'Connections accepted on intercepted ports.', registers: [registry] });
    this.mRejected = new Counter({
      name: 'bulwark_listener_closed_total',
      help: 'Listener connections closed by a bound: limit (too many concurrent), idle, bytes.',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  setConfig(cfg: InterceptConfig): void {
    this.cfg = cfg;
  }

  status(): InterceptState & { connections: number } {
    return { ...this.state, connections: this.sockets.size };
  }

  /**
   * Re-evaluates which of `ports` to intercept: starts listeners for new ports, releases removed
   * or excluded ones. Returns the ports newly intercepted (their existing connections need a reset).
   */
  async update(ports: readonly number[]): Promise<number[]> {
    const excluded = new Set(this.cfg.excludePorts);
    const want = new Set<number>();
    const passive: number[] = [];
    const excl: number[] = [];
    const busy = this.cfg.listen ? await this.listening() : new Set<number>();
    for (const p of ports) {
      if (!this.cfg.listen || excluded.has(p)) excl.push(p);
      else if (this.listeners.has(p)) want.add(p);
      else if (busy.has(p)) passive.push(p);
      else want.add(p);
    }
    for (const [p] of this.listeners) if (!want.has(p)) await this.release(p);
    const added: number[] = [];
    const failed: Record<number, string> = {};
    for (const p of want) {
      if (this.listeners.has(p)) continue;
      try {
        await this.listen(p);
        added.push(p);
      } catch (e) {
        // Lost a race with a service that bound the port after we read /proc: inspect passively.
        failed[p] = e instanceof Error ? e.message : String(e);
        passive.push(p);
      }
    }
    this.state = {
      intercepted: [...this.listeners.keys()].sort((a, b) => a - b),
      passive: passive.sort((a, b) => a - b),
      excluded: excl.sort((a, b) => a - b),
      failed,
    };
    this.mPorts.set(this.listeners.size);
    if (added.length > 0 || Object.keys(failed).length > 0) {
      this.log.info({ added, intercepted: this.state.intercepted.length, passive: this.state.passive, failed }, 'intercepted ports updated');
    }
    return added.sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    for (const [p] of this.listeners) await this.release(p);
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.mConns.set(0);
    this.mPorts.set(0);
    this.state = { intercepted: [], passive: [], excluded: [], failed: {} };
  }

  private async listen(port: number): Promise<void> {
    const servers: net.Server[] = [];
    const bind = (host: string, ipv6Only: boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const srv = net.createServer({ pauseOnConnect: false }, (s) => {
          this.accept(s);
        });
        srv.once('error', reject);
        srv.listen({ host, port, ipv6Only, backlog: 128, exclusive: true }, () => {
          srv.off('error', reject);
          srv.on('error', (e) => { this.log.warn({ port, err: e.message }, 'listener error'); });
          servers.push(srv);
          resolve();
        });
      });
    try {
      await bind('0.0.0.0', false);
      try {
        await bind('::', true);
      } catch (e) {
        // No IPv6 on this host: IPv4 alone still intercepts.
        if (!(e instanceof Error && 'code' in e && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL'))) throw e;
      }
    } catch (e) {
      for (const s of servers) s.close();
      throw e;
    }
    this.listeners.set(port, { port, servers });
  }

  private async release(port: number): Promise<void> {
    const l = this.listeners.get(port);
    if (!l) return;
    this.listeners.delete(port);
    await Promise.all(l.servers.map((s) => new Promise<void>((r) => s.close(() => { r(); }))));
    for (const s of this.sockets) {
      if (s.localPort === port) s.destroy();
    }
  }

  private accept(s: net.Socket): void {
    if (this.sockets.size >= this.cfg.maxConnections) {
      this.mRejected.inc({ reason: 'limit' });
      s.destroy();
      return;
    }
    this.sockets.add(s);
    this.mAccepted.inc();
    this.mConns.set(this.sockets.size);
    let bytes = 0;
    s.setTimeout(this.cfg.idleTimeoutMs, () => {
      this.mRejected.inc({ reason: 'idle' });
      s.destroy();
    });
    // Inspection happens on the capture path; the bytes are read only so the peer keeps sending.
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > this.cfg.maxBytesPerConnection) {
        this.mRejected.inc({ reason: 'bytes' });
        s.destroy();
      }
    });
    s.on('error', () => {
      /* resets from peers are normal here */
    });
    s.on('close', () => {
      this.sockets.delete(s);
      this.mConns.set(this.sockets.size);
    });
  }
}
