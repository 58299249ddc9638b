/**
 * Entry point of `bulwark scan --workers N`'s compile thread (scan-compile.ts): loads the ruleset
 * as the single-thread scan does, queues it on the scan workers' ports (engine/shard/feed.ts) and
 * reports what the main thread keeps. The thread then ends; its heap goes with it.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { errorMessage, isBulwarkError } from '../errors.js';
import type { Config } from '../config/types.js';
import { feedRuleset } from '../engine/shard/feed.js';
import { loadRuleset } from './ruleset-load.js';
import type { CompileReply } from './scan-compile.js';

export interface CompileInput {
  cfg: Config;
  databases: string | undefined;
  rulesFiles: string[];
  inboundOnly: boolean;
  /** Report compile progress (the CLI's progress bar). */
  progress: boolean;
  /** One per scan worker (their rulesets arrive there). */
  ports: MessagePort[];
}

async function run(input: CompileInput): Promise<CompileReply> {
  try {
    // The parser reports every few lines; the bar redraws at most every 100 ms: post no more often.
    let last = -Infinity;
    const progress = input.progress
      ? (done: number, total: number): void => {
          const t = performance.now();
          if (t - last < 100) return;
          last = t;
          parentPort!.postMessage({ type: 'progress', done, total } satisfies CompileReply);
        }
      : undefined;
    const ruleset = await loadRuleset(input.cfg, input.databases, input.rulesFiles, progress, true, input.inboundOnly);
    return { type: 'done', feed: feedRuleset(ruleset, input.ports) };
  } catch (e) {
    return { type: 'error', error: { code: isBulwarkError(e) ? e.code : 'BULWARK_ERR_INTERNAL', message: errorMessage(e), details: isBulwarkError(e) ? e.details : undefined } };
  }
}

if (parentPort) {
  const parent = parentPort;
  void run(workerData as CompileInput).then((reply) => {
    parent.postMessage(reply);
  });
}
