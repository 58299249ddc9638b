/**
 * How a ruleset reaches the scan workers (types.ts): encoded once (signatures/codec.ts, regexes
 * recompiled on first use there), every piece posted to each worker's port. Runs where the
 * ruleset was compiled: the scan's throwaway compile thread (cli/scan-compile.ts), whose heap
 * goes away with it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { PortRange, RateFilter, Ruleset, Signature } from '../../signatures/types.js';
import { encodeGraph } from '../../signatures/codec.js';
import { compactScanTable } from '../../signatures/scan-table.js';
import { RULESET_CLASSES_LAZY } from '../../signatures/offthread.js';
import { takeDescriptions } from './describe.js';

const NO_TABLE = new Int32Array(0);

/** What the main thread of a sharded scan keeps of the ruleset once the pieces are queued. */
export interface ShardFeed {
  /** Pieces queued on each worker's port. */
  pieces: number;
  signatures: number;
  version: string;
  /** `gid:sid` → the rule's threshold / detection_filter (merge.ts CentralFilter). */
  ruleFilters: [string, RateFilter][];
  /** `gid:sid` → the descriptive fields the workers do not get (describe.ts), put back on their alerts. */
  descriptions: Map<string, string>;
}

/** Queues the ruleset on every port (then closes them): the messages stay readable by the other ends. */
export function feedRuleset(ruleset: Ruleset, ports: readonly MessagePort[]): ShardFeed {
  // The compact scan tables (shared memory) are built once here, not by each worker's engine.
  // A group with one never reads its Int32 table (prefilter.ts scans scan16 and takes the
  // outputs from outStart/outList): the workers get the automaton without it, so its shared
  // memory (ET Open: 17 MB) is freed with this thread instead of staying mapped for the scan.
  for (const g of ruleset.groups) {
    const t16 = g.scan16 ?? compactScanTable(g.dfa);
    if (t16 === null) continue;
    g.scan16 = t16;
    g.dfa = { ...g.dfa, next: NO_TABLE };
  }
  const descriptions = takeDescriptions(ruleset.signatures);
  sharePorts(ruleset.signatures);
  // Nothing transferred (every worker needs the data); the automata are SharedArrayBuffers and
  // arrive as the same memory. Each piece is posted as soon as it is made, so the encoded
  // graph never exists as a whole on this thread.
  let pieces = 0;
  for (const p of encodeGraph({ ruleset }, { classes: RULESET_CLASSES_LAZY, transferMinBytes: Number.POSITIVE_INFINITY })) {
    const m = p.array === undefined ? { value: p.value } : { array: p.array, start: p.start, value: p.value };
    for (const port of ports) port.postMessage(m);
    pieces++;
  }
  for (const port of ports) port.close();
  const ruleFilters: [string, RateFilter][] = [];
  for (const s of ruleset.signatures) if (s.rateFilter !== undefined) ruleFilters.push([`${s.gid}:${s.id}`, s.rateFilter]);
  return { pieces, signatures: ruleset.signatures.length, version: ruleset.version, ruleFilters, descriptions };
}

/**
 * Signatures with the same destination ports get one array (only read: portIn): ET Open has a
 * few dozen distinct lists over its rules, ~2 MB of arrays in each worker when each has its own.
 * The codec sends an array reachable twice once, so the workers share them as well.
 */
export function sharePorts(signatures: readonly Signature[]): void {
  const lists = new Map<string, PortRange[]>();
  for (const s of signatures) {
    const k = s.ports.map((r) => `${r.from}-${r.to}`).join(',');
    const prev = lists.get(k);
    if (prev === undefined) lists.set(k, s.ports);
    else s.ports = prev;
  }
}
