/**
 * loadDatabases off the event loop: the daemon's loads and reloads read, parse and compile in a
 * worker_threads Worker (worker.ts), so a reload of all ET Open (or of 150k rules) never stalls
 * the control socket, /metrics or packet inspection. The main thread only rebuilds the result
 * from bounded pieces (codec.ts) and recompiles the pcre regexes (native PCRE2 handles cannot
 * cross threads), in slices of at most `sliceMs` that yield to the event loop between them.
 *
 * One compile at a time in the process (a module-wide queue): two ET-sized compiles side by side
 * would double the peak memory for no gain. The worker runs with a V8 heap cap
 * (databases.limits.compileMemory): a ruleset that needs more is refused with BULWARK_ERR_LIMIT,
 * a worker that dies otherwise with BULWARK_ERR_INTERNAL; either way the caller keeps its ruleset.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { BulwarkError, type ErrorCode } from '../errors.js';
import type { Config } from '../config/types.js';
import { compileRegex, lazyRegex, Regex, type CompiledRegexData, type RegexSpec } from '../regex/regex.js';
import type { RegexLimits } from '../regex/types.js';
import { GraphDecoder, type ClassCodec } from './codec.js';
import type { ExtraSource, LoadedDatabases } from './load.js';
import { workerScript } from '../worker-script.js';

/** What crosses threads for a Regex: the compileRegex arguments; the main thread compiles it again. */
interface RegexData extends RegexSpec {
  limits: RegexLimits;
}

const regexCodec: ClassCodec<Regex, RegexData> = {
  name: 'Regex',
  type: Regex,
  encode: (r) => ({ pattern: r.spec.pattern, options: r.spec.options, limits: { ...r.limits } }),
  decode: (d) => compileRegex(d.pattern, d.options, d.limits),
  slow: true,
};

/** The classes a Ruleset may hold; anything else is refused by the codec with its path. */
export const RULESET_CLASSES: readonly ClassCodec<never>[] = [regexCodec as unknown as ClassCodec<never>];

/**
 * The same classes for a receiver that compiles each regex on first use (lazyRegex: the scan
 * workers of src/engine/shard/). Encoded like RULESET_CLASSES plus what the compile found.
 */
const lazyRegexCodec: ClassCodec<Regex, CompiledRegexData> = {
  name: 'Regex',
  type: Regex,
  encode: (r) => ({ pattern: r.spec.pattern, options: r.spec.options, limits: { ...r.limits }, captureCount: r.captureCount, jit: r.jit, names: [...r.names] }),
  decode: (d) => lazyRegex(d),
};
export const RULESET_CLASSES_LAZY: readonly ClassCodec<never>[] = [lazyRegexCodec as unknown as ClassCodec<never>];

export interface WorkerInput {
  databases: Config['databases'];
  /** Load the installed rules (`bulwark rules update`) of this config, as the daemon does. */
  installed?: Pick<Config, 'rules' | 'stateDir'>;
  extraSources?: ExtraSource[];
  skipManifest?: boolean;
  maxProblems?: number;
}

export type WorkerReply =
  | { type: 'done'; pieces: number }
  | { type: 'error'; error: { code: ErrorCode; message: string; details: Record<string, unknown> | undefined } };

export interface OffThreadOptions {
  installed?: Pick<Config, 'rules' | 'stateDir'>;
  extraSources?: ExtraSource[];
  skipManifest?: boolean;
  maxProblems?: number;
  /** V8 heap cap of the worker in bytes (resourceLimits.maxOldGenerationSizeMb); default databases.limits.compileMemoryBytes or 2 GiB. */
  memoryBytes?: number;
  /** Longest main-thread slice in ms while rebuilding the result (default 4). */
  sliceMs?: number;
}

export const DEFAULT_COMPILE_MEMORY_BYTES = 2 * 1024 ** 3;

let queue: Promise<unknown> = Promise.resolve();

/** Like loadDatabases (same result and errors), with the work done in a worker. */
export function loadDatabasesOffThread(cfg: Config['databases'], opts: OffThreadOptions = {}): Promise<LoadedDatabases> {
  const p = queue.then(() => runWorker(cfg, opts));
  queue = p.catch(() => undefined);
  return p;
}

function memoryOf(cfg: Config['databases'], opts: OffThreadOptions): number {
  const fromCfg = (cfg as Partial<Config['databases']>).limits?.compileMemoryBytes;
  return opts.memoryBytes ?? fromCfg ?? DEFAULT_COMPILE_MEMORY_BYTES;
}

async function runWorker(cfg: Config['databases'], opts: OffThreadOptions): Promise<LoadedDatabases> {
  const memory = memoryOf(cfg, opts);
  const input: WorkerInput = { databases: cfg };
  if (opts.installed) input.installed = { rules: opts.installed.rules, stateDir: opts.installed.stateDir };
  if (opts.extraSources) input.extraSources = opts.extraSources;
  if (opts.skipManifest !== undefined) input.skipManifest = opts.skipManifest;
  if (opts.maxProblems !== undefined) input.maxProblems = opts.maxProblems;
  const { port1, port2 } = new MessageChannel();
  let worker: Worker;
  try {
    const { script, eval: isEval } = workerScript(import.meta.url, 'worker');
    worker = new Worker(script, {
      eval: isEval,
      workerData: { input, port: port2 },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(memory / 2 ** 20)) },
    });
  } catch (e) {
    port1.close();
    throw new BulwarkError('BULWARK_ERR_INTERNAL', `cannot start the compile worker: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    const pieces = await new Promise<number>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        f();
      };
      worker.on('message', (m: WorkerReply) => {
        settle(() => {
          if (m.type === 'done') resolve(m.pieces);
          else reject(new BulwarkError(m.error.code, m.error.message, m.error.details ? { details: m.error.details } : {}));
        });
      });
      worker.on('error', (e: Error & { code?: string }) => {
        settle(() => {
          if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
            reject(new BulwarkError('BULWARK_ERR_LIMIT', `rules compile ran out of memory: over databases.limits.compileMemory (${Math.floor(memory / 2 ** 20)} MiB)`, { cause: e, details: { limit: 'compileMemory', bytes: memory } }));
          } else reject(new BulwarkError('BULWARK_ERR_INTERNAL', `rules compile worker failed: ${e.message}`, { cause: e }));
        });
      });
      worker.on('exit', (code) => {
        settle(() => {
          reject(new BulwarkError('BULWARK_ERR_INTERNAL', `rules compile worker exited (code ${code}) before sending a result`));
        });
      });
    });
    return (await reviveGraph(port1, pieces, opts.sliceMs ?? 4)) as LoadedDatabases;
  } finally {
    port1.close();
    void worker.terminate();
  }
}

/** Reads `pieces` messages (encodeGraph with RULESET_CLASSES) from `port` and rebuilds the graph in slices that yield to the event loop. */
export async function reviveGraph(port: InstanceType<typeof MessageChannel>['port1'], pieces: number, sliceMs: number, classes: readonly ClassCodec<never>[] = RULESET_CLASSES): Promise<unknown> {
  const decoder = new GraphDecoder(classes);
  let received = 0;
  let idle = 0;
  for (;;) {
    const deadline = performance.now() + sliceMs;
    while (received < pieces && performance.now() < deadline) {
      const m = receiveMessageOnPort(port);
      if (m === undefined) break;
      decoder.add(m.message as Parameters<GraphDecoder['add']>[0]);
      received++;
    }
    const done = decoder.step(deadline);
    if (received === pieces && done) break;
    if (received < pieces && performance.now() < deadline) {
      // Every piece is queued before the worker says "done": a missing one is a bug, not a wait.
      if (++idle > 100) throw new BulwarkError('BULWARK_ERR_INTERNAL', `rules compile worker: ${pieces - received} of ${pieces} pieces missing`);
    }
    await yieldLoop();
  }
  return decoder.result();
}
