/** Control-socket client used by the CLI and by tests (one connection per client, requests pipelined). */
import { createConnection, type Socket } from 'node:net';
import { BulwarkError } from '../errors.js';
import type { ControlClient } from '../cli/types.js';
import { MAX_RESPONSE_BYTES, PROTOCOL_VERSION, errorFromBody, isRecord } from './protocol.js';

export interface ControlClientOptions {
  /** Per-request timeout; default 30 s (isolation and database reloads can take seconds). */
  timeoutMs?: number;
}

function unreachable(socketPath: string, e: unknown): BulwarkError {
  const code = isRecord(e) && typeof e.code === 'string' ? e.code : '';
  const why =
    code === 'ENOENT'
      ? 'no socket there'
      : code === 'ECONNREFUSED'
        ? 'nobody is listening'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied (run as root or as a member of control.group)'
          : code || String(e);
  return new BulwarkError('BULWARK_ERR_UNREACHABLE', `bulwark daemon not reachable at ${socketPath}: ${why} (is \`bulwark run\` running?)`, { cause: e, details: { socket: socketPath } });
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/** Opens a connection; rejects with BULWARK_ERR_UNREACHABLE when no daemon answers on the path. */
export async function connectControl(socketPath: string, opts: ControlClientOptions = {}): Promise<ControlClient & { close(): void }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = createConnection(socketPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      reject(unreachable(socketPath, e));
    });
  });
  sock.unref();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let buf = '';
  let closedError: BulwarkError | undefined;

  const failAll = (e: BulwarkError): void => {
    closedError ??= e;
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(e);
    }
  };
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_RESPONSE_BYTES) {
      failAll(new BulwarkError('BULWARK_ERR_PROTOCOL', 'control: response too large'));
      sock.destroy();
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        failAll(new BulwarkError('BULWARK_ERR_PROTOCOL', 'control: malformed reply from daemon'));
        sock.destroy();
        return;
      }
      if (!isRecord(msg)) continue;
      const id = typeof msg.id === 'number' ? msg.id : -1;
      const p = pending.get(id);
      if (!p) {
        // A reply without our id is a connection-level error (e.g. request too large): fail everything.
        if (msg.ok === false) failAll(errorFromBody(msg.error));
        continue;
      }
      pending.delete(id);
      clearTimeout(p.timer);
      if (msg.ok === true) p.resolve(msg.result);
      else p.reject(errorFromBody(msg.error));
    }
  });
  sock.on('error', (e) => {
    failAll(new BulwarkError('BULWARK_ERR_UNREACHABLE', `control connection to ${socketPath} failed: ${e.message}`, { cause: e }));
  });
  sock.on('close', () => {
    failAll(new BulwarkError('BULWARK_ERR_UNREACHABLE', `control connection to ${socketPath} closed by the daemon`));
  });

  return {
    call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
      if (closedError) return Promise.reject(closedError);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new BulwarkError('BULWARK_ERR_UNREACHABLE', `control: no reply to "${cmd}" from ${socketPath} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        sock.ref();
        sock.write(JSON.stringify({ v: PROTOCOL_VERSION, id, cmd, args }) + '\n');
      }).finally(() => {
        if (pending.size === 0) sock.unref();
      });
    },
    close(): void {
      sock.end();
    },
  };
}

/** One request on a fresh connection (what most CLI commands do). */
export async function controlCall(socketPath: string, cmd: string, args: Record<string, unknown> = {}, opts: ControlClientOptions = {}): Promise<unknown> {
  const c = await connectControl(socketPath, opts);
  try {
    return await c.call(cmd, args);
  } finally {
    c.close();
  }
}
