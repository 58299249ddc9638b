/**
 * Runs the real daemon (`node bin/bulwark.js run`, compiled: `npm run build` first — the test
 * runner does it) inside a test host's network namespace, with every path under a fresh temp dir.
 *
 *   const d = await startDaemon(net.host('protected'), { config: { action: 'alert' } });
 *   const st = await d.cli(['status', '--json']);   // runs inside the namespace too
 *   await d.stop();                                  // SIGTERM, resolves with the exit status
 *
 * Paths (state dir, control socket, event file) and the metrics address are passed both in the
 * config file and as BULWARK_* environment overrides, so `noConfigFile: true` runs the daemon
 * exactly as `make run` does (built-in defaults) while still keeping it in the temp dir.
 * Metrics listen on 127.0.0.1:9747 *inside the namespace*: use d.http('/metrics'), which runs curl there.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { controlCall } from '../../src/service/control-client.js';
import type { ExecResult, Host } from './netns.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'bulwark.js');

export interface StartOptions {
  /** Merged over the temp paths (object), or YAML text merged the same way (string). */
  config?: Record<string, unknown> | string;
  /** Written verbatim as the config file (no temp paths added; the env overrides still apply). */
  rawConfig?: string;
  /** Run without --config, on built-in defaults (+ env overrides), like `make run`. */
  noConfigFile?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Wait until `ping` answers (default true). With false, await `exited` for a daemon expected to fail. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

export interface DaemonHandle {
  dir: string;
  socket: string;
  stateDir: string;
  configFile: string | undefined;
  eventsFile: string;
  metricsUrl: string;
  /** The daemon's pid (ip netns exec execs node in place). */
  pid: number;
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `node bin/bulwark.js [--config FILE] ...args` inside the namespace. */
  cli(args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** One control-socket request straight from the test process (Unix sockets ignore network namespaces). */
  call(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  /** `status` result object. */
  status(): Promise<Record<string, unknown>>;
  /** GET a path of the metrics server (via curl inside the namespace). */
  http(path: string): Promise<{ status: number; body: string; contentType: string }>;
  /** Sends the signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** Every stdout and stderr line so far. */
  logs(): string[];
  /** Resolves with the first log line (parsed JSON when possible) matching `pred`. */
  waitForLog(pred: (entry: Record<string, unknown>, line: string) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Stops (SIGKILL if needed) and removes the temp dir. */
  destroy(): Promise<void>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object' && !Array.isArray(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

function parseLine(line: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(line);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { msg: line };
}

export async function startDaemon(host: Host, opts: StartOptions = {}): Promise<DaemonHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-'));
  const stateDir = join(dir, 'state');
  const socket = join(dir, 'run', 'bulwark.sock');
  const eventsFile = join(dir, 'events.json');
  const metricsListen = '127.0.0.1:9747';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BULWARK_STATE_DIR: stateDir,
    BULWARK_SOCKET: socket,
    BULWARK_EVENTS_FILE: eventsFile,
    BULWARK_METRICS_LISTEN: metricsListen,
    BULWARK_LOG_LEVEL: 'debug',
    ...opts.env,
  };
  let configFile: string | undefined;
  if (!opts.noConfigFile) {
    configFile = join(dir, 'bulwark.yaml');
    if (opts.rawConfig !== undefined) {
      writeFileSync(configFile, opts.rawConfig);
    } else {
      const { parse } = await import('yaml');
      const user = typeof opts.config === 'string' ? ((parse(opts.config) as Record<string, unknown> | null) ?? {}) : (opts.config ?? {});
      const base = { stateDir, control: { socket }, events: { file: eventsFile }, metrics: { listen: metricsListen }, log: { level: 'debug' } };
      writeFileSync(configFile, stringify(merge(base, user)));
    }
  }
  const configArgs = configFile === undefined ? [] : ['--config', configFile];
  const child = host.spawn(process.execPath, [BIN, ...configArgs, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const feed = (stream: NodeJS.ReadableStream | null): void => {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      for (const l of listeners) l();
    });
  };
  feed(child.stdout);
  feed(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const l of listeners) l();
      resolve({ code, signal });
    });
  });
  const state = { done: false };
  void exited.then(() => (state.done = true));

  const handle: DaemonHandle = {
    dir,
    socket,
    stateDir,
    configFile,
    eventsFile,
    metricsUrl: `http://${metricsListen}`,
    pid: child.pid ?? -1,
    child,
    env,
    exited,
    cli: (args, o = {}) => host.exec(process.execPath, [BIN, ...configArgs, ...args], { env, timeoutMs: o.timeoutMs ?? 30_000 }),
    call: (cmd, args = {}) => controlCall(socket, cmd, args),
    async status() {
      return (await controlCall(socket, 'status')) as Record<string, unknown>;
    },
    async http(path) {
      const r = await host.exec('curl', ['-s', '-S', '--max-time', '5', '-o', '-', '-w', '\n%{http_code} %{content_type}', `http://${metricsListen}${path}`]);
      const nl = r.stdout.lastIndexOf('\n');
      const [status = '0', ...ct] = r.stdout.slice(nl + 1).split(' ');
      return { status: Number(status), body: r.stdout.slice(0, nl), contentType: ct.join(' ') };
    },
    signal(sig) {
      if (!state.done) child.kill(sig);
    },
    async stop(sig = 'SIGTERM', timeoutMs = 15_000) {
      if (!state.done) child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
    async kill() {
      if (!state.done) child.kill('SIGKILL');
      await exited;
    },
    logs: () => [...lines],
    waitForLog(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < lines.length; seen++) {
            const entry = parseLine(lines[seen]!);
            if (pred(entry, lines[seen]!)) {
              cleanup();
              resolve(entry);
              return;
            }
          }
          if (state.done) {
            cleanup();
            reject(new Error(`daemon exited before the expected log line; logs:\n${lines.join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching log line within ${timeoutMs} ms; logs:\n${lines.join('\n')}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async destroy() {
      if (!state.done) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  if (opts.waitReady === false) return handle;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (state.done) throw new Error(`daemon exited during start (${JSON.stringify(await exited)}); logs:\n${lines.join('\n')}`);
    try {
      await controlCall(socket, 'ping', {}, { timeoutMs: 2000 });
      return handle;
    } catch {
      if (Date.now() > deadline) {
        await handle.kill();
        throw new Error(`daemon did not answer ping on ${socket}; logs:\n${lines.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
