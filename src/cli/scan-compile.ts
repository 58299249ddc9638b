/**
 * The ruleset of `bulwark scan --workers N`, compiled on a thread of its own. Compiling ET Open
 * leaves ~135 MB of V8 heap (and ~15 MB of buffers) that V8 keeps once it has it: on
 * the main thread it would stay for the whole scan, next to the workers' own heaps. Here the
 * compile thread queues the ruleset on the workers' ports (engine/shard/feed.ts), hands the main
 * thread the little it keeps (counts, rate filters) and ends: its isolate is disposed and its
 * heap unmapped before the workers rebuild their copies. The scan workers start once it has
 * ended: glibc gives a new thread the malloc arena of an ended one, so the first worker reuses
 * the ~50 MB the compile thread's queued pieces left there (started before, each worker got a
 * fresh arena next to it: +49 MB peak RSS). Same rules, same errors (code, message, details)
 * as loadRuleset on the main thread.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { BulwarkError, type ErrorCode } from '../errors.js';
import type { Config } from '../config/types.js';
import { ScanPool } from '../engine/shard/pool.js';
import type { ShardFeed } from '../engine/shard/feed.js';
import { workerScript } from '../worker-script.js';
import type { CompileInput } from './scan-compile-worker.js';

export type CompileReply =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; feed: ShardFeed }
  | { type: 'error'; error: { code: ErrorCode; message: string; details: Record<string, unknown> | undefined } };

/**
 * Compiles on a thread of its own and starts `count` scan workers with the ruleset queued for
 * them; `pool.load(feed)` then has them rebuild it.
 */
export async function loadSharded(count: number, cfg: Config, databases: string | undefined, rulesFiles: string[], inboundOnly: boolean, progress?: (done: number, total: number) => void): Promise<{ pool: ScanPool; feed: ShardFeed }> {
  const { feed, receive } = ScanPool.channels(count);
  try {
    const compiled = await compileFor(feed, cfg, databases, rulesFiles, inboundOnly, progress);
    return { pool: ScanPool.launch(receive), feed: compiled };
  } catch (e) {
    for (const p of receive) p.close();
    throw e;
  }
}

function compileFor(ports: MessagePort[], cfg: Config, databases: string | undefined, rulesFiles: string[], inboundOnly: boolean, progress?: (done: number, total: number) => void): Promise<ShardFeed> {
  const input: CompileInput = { cfg, databases, rulesFiles, inboundOnly, progress: progress !== undefined, ports };
  const { script, eval: isEval } = workerScript(import.meta.url, 'scan-compile-worker');
  return new Promise<ShardFeed>((resolve, reject) => {
    let settled = false;
    let worker: Worker;
    try {
      worker = new Worker(script, { eval: isEval, workerData: input, transferList: ports });
    } catch (e) {
      reject(new BulwarkError('BULWARK_ERR_INTERNAL', `cannot start the compile thread: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      return;
    }
    // Settles once the thread is gone (its heap with it); the queued pieces outlive it.
    const end = (f: () => void): void => {
      if (settled) return;
      settled = true;
      worker.terminate().then(f, f);
    };
    worker.on('message', (m: CompileReply) => {
      if (m.type === 'progress') progress?.(m.done, m.total);
      else if (m.type === 'done') end(() => { resolve(m.feed); });
      else end(() => { reject(new BulwarkError(m.error.code, m.error.message, m.error.details ? { details: m.error.details } : {})); });
    });
    worker.on('error', (e) => { end(() => { reject(new BulwarkError('BULWARK_ERR_INTERNAL', `rules compile thread failed: ${e.message}`, { cause: e })); }); });
    worker.on('exit', (code) => { end(() => { reject(new BulwarkError('BULWARK_ERR_INTERNAL', `rules compile thread exited (code ${code}) before sending a result`)); }); });
  });
}
