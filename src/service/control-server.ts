/**
 * Control socket server (docs/control-protocol.md). Bounded: at most `maxConnections` clients,
 * a request line of at most MAX_REQUEST_BYTES (an oversized line gets an error reply and the
 * connection is closed without buffering more). Each connection is served in order, one request
 * at a time (reading pauses meanwhile), so a slow or stuck client only ever delays itself.
 *
 * Deadlines are per connection and are not reset by partial data, so a client trickling one byte
 * at a time cannot hold a slot: a request line must be complete within `requestTimeoutMs` of its
 * first byte, and a connection waiting for its next request is closed after `idleTimeoutMs`.
 * A fresh client always gets a slot: when every slot is taken, the connection that has waited
 * longest without a command running (idle or mid-request) is closed to make room; only when every
 * slot runs a command is the newcomer refused. So no number of stalled connections locks the
 * operator's CLI out.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, chown, mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { BulwarkError, errorMessage, isBulwarkError } from '../errors.js';
import { MAX_REQUEST_BYTES, PROTOCOL_VERSION, isRecord, type ControlResponse, type ErrorBody, type RequestId } from './protocol.js';
import type { CommandHandler, CommandRegistry } from './types.js';

export interface ControlServerOptions {
  socketPath: string;
  /** chgrp the socket to this group (name or gid) and make it 0660. */
  group?: string | undefined;
  log: Logger;
  maxConnections?: number;
  idleTimeoutMs?: number;
  /** A started request line must be complete within this (default 5 s). */
  requestTimeoutMs?: number;
  maxRequestBytes?: number;
  /** Called once per request with the bounded command label and the result. */
  onRequest?: (cmd: string, result: 'ok' | 'error') => void;
  onConnections?: (open: number) => void;
  onRejected?: (reason: RejectReason) => void;
}

export type RejectReason = 'too_many' | 'oversized' | 'idle' | 'request_timeout' | 'evicted';

const CMD_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Per connection: is a command running, and since when has it been waiting for a request. */
interface ConnState {
  busy: boolean;
  waitingSince: number;
}

export class CommandTable implements CommandRegistry {
  private readonly handlers = new Map<string, CommandHandler>();
  register(name: string, handler: CommandHandler): void {
    if (!CMD_NAME.test(name)) throw new BulwarkError('BULWARK_ERR_INTERNAL', `control: bad command name "${name}"`);
    if (this.handlers.has(name)) throw new BulwarkError('BULWARK_ERR_INTERNAL', `control: command "${name}" registered twice`);
    this.handlers.set(name, handler);
  }
  get(name: string): CommandHandler | undefined {
    return this.handlers.get(name);
  }
  names(): string[] {
    return [...this.handlers.keys()].sort();
  }
}

async function resolveGid(group: string): Promise<number> {
  if (/^[0-9]+$/.test(group)) return Number(group);
  const text = await readFile('/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new BulwarkError('BULWARK_ERR_CONFIG', `control.group: no group named "${group}"`);
}

/** True when something answers on the socket path (a live daemon), false for a stale file. */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => {
      done(true);
    });
    s.once('error', () => {
      done(false);
    });
    setTimeout(() => {
      done(false);
    }, 1000).unref();
  });
}

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Map<Socket, ConnState>();
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxRequestBytes: number;

  constructor(
    private readonly opts: ControlServerOptions,
    readonly commands: CommandTable,
  ) {
    this.maxConnections = opts.maxConnections ?? 64;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.maxRequestBytes = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async start(): Promise<void> {
    const path = this.opts.socketPath;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    if (await socketAlive(path)) {
      throw new BulwarkError('BULWARK_ERR_LOCKED', `another bulwark daemon is listening on ${path}`, { details: { socket: path } });
    }
    try {
      await unlink(path); // stale socket of a dead daemon
    } catch {
      // not there
    }
    const server = createServer((s) => {
      this.accept(s);
    });
    // The socket file is created by listen(): a tight umask closes the window before chmod.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    server.on('error', (e) => {
      this.opts.log.error({ err: e }, 'control socket error');
    });
    this.server = server;
    await chmod(path, 0o600);
    if (this.opts.group !== undefined) {
      await chown(path, -1, await resolveGid(this.opts.group));
      await chmod(path, 0o660);
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => {
      resolve();
    }));
    for (const s of this.sockets.keys()) s.destroy();
    await closed;
    try {
      await unlink(this.opts.socketPath);
    } catch {
      // already removed
    }
  }

  /** The connection waiting longest without a command running, if any. */
  private stalest(): Socket | undefined {
    let best: Socket | undefined;
    let since = Infinity;
    for (const [sock, st] of this.sockets) {
      if (!st.busy && st.waitingSince < since) {
        best = sock;
        since = st.waitingSince;
      }
    }
    return best;
  }

  private accept(s: Socket): void {
    if (this.sockets.size >= this.maxConnections) {
      const victim = this.stalest();
      if (victim === undefined) {
        this.opts.onRejected?.('too_many');
        s.end(JSON.stringify(reply(null, errBody('BULWARK_ERR_LIMIT', `control: too many connections (max ${this.maxConnections}), all running commands`))) + '\n');
        s.destroySoon();
        return;
      }
      // Make room for the newcomer (see the top of this file).
      this.opts.onRejected?.('evicted');
      this.sockets.delete(victim);
      victim.destroy();
    }
    const state: ConnState = { busy: false, waitingSince: performance.now() };
    this.sockets.set(s, state);
    this.opts.onConnections?.(this.sockets.size);
    s.on('close', () => {
      if (this.sockets.delete(s)) this.opts.onConnections?.(this.sockets.size);
    });
    s.on('error', () => {
      // client went away; 'close' follows
    });

    let chunks: Buffer[] = [];
    let busy = false;
    let closing = false;
    let idle: NodeJS.Timeout | undefined;
    let requestTimer: NodeJS.Timeout | undefined;
    const drop = (reason: RejectReason): void => {
      this.opts.onRejected?.(reason);
      s.destroy();
    };
    /** Waiting for the next request: the idle deadline runs, data does not push it back. */
    const armIdle = (): void => {
      clearTimeout(idle);
      clearTimeout(requestTimer);
      requestTimer = undefined;
      state.busy = false;
      state.waitingSince = performance.now();
      idle = setTimeout(() => {
        drop('idle');
      }, this.idleTimeoutMs);
      idle.unref();
    };
    /** The first byte of a request starts its deadline; more bytes do not extend it. */
    const startRequestClock = (): void => {
      if (requestTimer !== undefined) return;
      requestTimer = setTimeout(() => {
        drop('request_timeout');
      }, this.requestTimeoutMs);
      requestTimer.unref();
    };
    s.on('close', () => {
      clearTimeout(idle);
      clearTimeout(requestTimer);
    });
    armIdle();

    const write = async (line: string): Promise<void> => {
      if (s.destroyed) return;
      if (!s.write(line + '\n')) {
        // Slow reader: wait for it (only this connection waits) but never forever.
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            s.off('drain', done);
            s.off('close', done);
            resolve();
          };
          const t = setTimeout(() => {
            s.destroy();
            done();
          }, this.idleTimeoutMs);
          t.unref();
          s.on('drain', done);
          s.on('close', done);
        });
      }
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      s.pause();
      try {
        while (!closing && !s.destroyed) {
          const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          chunks = buf.length > 0 ? [buf] : [];
          const nl = buf.indexOf(0x0a);
          if (nl === -1) {
            if (buf.length > this.maxRequestBytes) {
              closing = true;
              chunks = [];
              await this.refuseOversized(s, write);
            }
            break;
          }
          if (nl > this.maxRequestBytes) {
            closing = true;
            chunks = [];
            await this.refuseOversized(s, write);
            break;
          }
          const line = buf.subarray(0, nl).toString('utf8');
          const rest = buf.subarray(nl + 1);
          chunks = rest.length > 0 ? [rest] : [];
          if (line.trim() === '') continue;
          clearTimeout(idle);
          clearTimeout(requestTimer);
          requestTimer = undefined;
          state.busy = true;
          await write(serialise(await this.handle(line)));
          armIdle();
        }
      } finally {
        busy = false;
      }
      if (!closing && !s.destroyed) {
        // Part of the next request already arrived (pipelined): its deadline runs from now.
        if (chunks.length > 0) startRequestClock();
        s.resume();
      }
    };

    s.on('data', (d: Buffer) => {
      if (closing) return;
      if (!state.busy) startRequestClock();
      chunks.push(d);
      void pump().catch((e: unknown) => {
        this.opts.log.error({ err: e }, 'control connection failed');
        s.destroy();
      });
    });
  }

  private async refuseOversized(s: Socket, write: (line: string) => Promise<void>): Promise<void> {
    this.opts.onRequest?.('invalid', 'error');
    this.opts.onRejected?.('oversized');
    s.pause();
    await write(JSON.stringify(reply(null, errBody('BULWARK_ERR_PROTOCOL', `control: request larger than ${this.maxRequestBytes} bytes`))));
    s.end();
    // Do not wait for a client that keeps sending: drop it shortly after the reply.
    setTimeout(() => s.destroy(), 1000).unref();
  }

  /** One request line → one response object. Never throws. */
  async handle(line: string): Promise<ControlResponse> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.opts.onRequest?.('invalid', 'error');
      return reply(null, errBody('BULWARK_ERR_PROTOCOL', 'control: malformed JSON request'));
    }
    const id: RequestId = isRecord(msg) && (typeof msg.id === 'string' || typeof msg.id === 'number') ? msg.id : null;
    if (!isRecord(msg)) {
      this.opts.onRequest?.('invalid', 'error');
      return reply(id, errBody('BULWARK_ERR_PROTOCOL', 'control: a request must be a JSON object'));
    }
    if (msg.v !== PROTOCOL_VERSION) {
      this.opts.onRequest?.('invalid', 'error');
      return reply(id, errBody('BULWARK_ERR_PROTOCOL', `control: unsupported protocol version ${msg.v === undefined ? 'missing' : JSON.stringify(msg.v)} (this daemon speaks ${PROTOCOL_VERSION})`));
    }
    if (typeof msg.cmd !== 'string' || msg.cmd === '') {
      this.opts.onRequest?.('invalid', 'error');
      return reply(id, errBody('BULWARK_ERR_PROTOCOL', 'control: "cmd" must be a non-empty string'));
    }
    if (msg.args !== undefined && !isRecord(msg.args)) {
      this.opts.onRequest?.(this.commands.get(msg.cmd) ? msg.cmd : 'unknown', 'error');
      return reply(id, errBody('BULWARK_ERR_PROTOCOL', 'control: "args" must be a JSON object'));
    }
    const cmd = msg.cmd;
    const handler = this.commands.get(cmd);
    if (!handler) {
      this.opts.onRequest?.('unknown', 'error');
      return reply(id, errBody('BULWARK_ERR_NOT_FOUND', `control: unknown command "${cmd.slice(0, 64)}"`));
    }
    try {
      const result = await handler(msg.args ?? {});
      this.opts.onRequest?.(cmd, 'ok');
      return { v: PROTOCOL_VERSION, id, ok: true, result: result ?? null };
    } catch (e) {
      this.opts.onRequest?.(cmd, 'error');
      if (isBulwarkError(e)) {
        return reply(id, { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
      }
      this.opts.log.error({ err: e, cmd }, 'control command failed');
      return reply(id, errBody('BULWARK_ERR_INTERNAL', `control: ${cmd} failed: ${errorMessage(e)}`));
    }
  }
}

/** JSON line of a response; bigints become strings, an unserialisable result becomes an error reply. */
export function serialise(r: ControlResponse): string {
  try {
    return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (e) {
    return JSON.stringify(reply(r.id, errBody('BULWARK_ERR_INTERNAL', `control: result not serialisable: ${errorMessage(e)}`)));
  }
}

function errBody(code: ErrorBody['code'], message: string): ErrorBody {
  return { code, message };
}

function reply(id: RequestId, error: ErrorBody): ControlResponse {
  return { v: PROTOCOL_VERSION, id, ok: false, error };
}
