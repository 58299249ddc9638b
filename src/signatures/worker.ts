/**
 * Entry point of the compile worker (a worker_threads Worker started by offthread.ts): reads,
 * verifies, parses and compiles the databases exactly as loadDatabases does on the main thread,
 * then sends the result in pieces (codec.ts) over the MessagePort it was given, and says how many
 * on parentPort. Errors go back as { code, message, details } so file:line and the code survive.
 * The worker then waits to be terminated: the pieces stay readable until the host is done.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { isBulwarkError, errorMessage } from '../errors.js';
import { installedExtraSources } from '../rules/installed.js';
import { encodeGraph } from './codec.js';
import { loadDatabases, type LoadOptions } from './load.js';
import { RULESET_CLASSES, type WorkerInput, type WorkerReply } from './offthread.js';

/**
 * The compile is background work: this thread runs 10 nice levels below the daemon, so on a busy
 * host the main thread (control socket, capture, inspection) keeps its share of the CPU. Linux
 * keeps the nice value per thread (setpriority on a thread id); elsewhere nothing changes.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + 10));
  } catch {
    // Not Linux, or no /proc: the compile runs at the daemon's priority.
  }
}

async function run(input: WorkerInput, port: MessagePort): Promise<WorkerReply> {
  try {
    const opts: LoadOptions = {};
    if (input.skipManifest === true) opts.skipManifest = true;
    if (input.maxProblems !== undefined) opts.maxProblems = input.maxProblems;
    const extra = [...(input.extraSources ?? []), ...(input.installed ? await installedExtraSources(input.installed) : [])];
    if (extra.length > 0) opts.extraSources = extra;
    const loaded = await loadDatabases(input.databases, opts);
    let pieces = 0;
    for (const p of encodeGraph(loaded, { classes: RULESET_CLASSES })) {
      port.postMessage(p.array === undefined ? { value: p.value } : { array: p.array, start: p.start, value: p.value }, p.transfer);
      pieces++;
    }
    return { type: 'done', pieces };
  } catch (e) {
    return {
      type: 'error',
      error: { code: isBulwarkError(e) ? e.code : 'BULWARK_ERR_INTERNAL', message: errorMessage(e), details: isBulwarkError(e) ? e.details : undefined },
    };
  }
}

if (parentPort) {
  const parent = parentPort;
  const { input, port } = workerData as { input: WorkerInput; port: MessagePort };
  lowerPriority();
  // Keeps the worker alive (the host terminates it after reading the pieces).
  parent.on('message', () => undefined);
  void run(input, port).then((reply) => {
    parent.postMessage(reply);
  });
}
