/**
 * Severing conntrack entries without a process per entry and without a cap (pure planning; the
 * adapter in killer.ts runs each step as one `conntrack -R FILE` process).
 *
 * Measured (conntrack-tools 1.4.7, kernel 6.18):
 * - every `-D`/`-U` command walks the whole table, even with a full tuple: deleting 10k entries one
 *   tuple at a time is 10k walks of 10k entries (2 min 44 s inside a single `conntrack -R`);
 *   deleting by mark is one walk (10k entries: 0.24 s);
 * - `conntrack -R` keeps option state across lines: a `-U` followed by a `-D` in the same file
 *   loses the update, and `-U` lines with different `-m` values all get the last value. So each
 *   step below is its own `-R` file whose lines share one command and one mark.
 * The steps (each skipped when empty; at most five processes whatever the table size):
 *   1. entries of spared sockets (excluded processes, the daemon) get the agent / process ct mark
 *      (both carry KEEP_CT_BIT), so their connections keep flowing through the `ct mark` rules;
 *   2. the other entries to keep (covered by an address exclusion, loopback) get KEEP_CT_BIT
 *      OR-ed in (`-m 0x4000/0x4000`, other bits untouched);
 *   3. `-D -m 0/0x4000` deletes everything else, both families, in one walk and one process;
 *   4. the bit is cleared again on the entries of step 2 (`-m 0/0x4000`).
 * When fewer entries are to be deleted than kept, deleting by tuple is fewer walks and replaces
 * steps 2–4 with one process of `-D` lines.
 */
import { AGENT_CT_MARK, KEEP_CT_BIT, PROCESS_CT_MARK } from './types.js';
import type { ConntrackEntry } from './killer.js';

export interface ConntrackPlan {
  /** Entries of spared sockets: set this mark (agent or process). */
  mark: { entry: ConntrackEntry; mark: number }[];
  /** Entries kept for an exclusion or loopback (no bulwark mark). */
  keep: ConntrackEntry[];
  /** Entries to remove. */
  delete: ConntrackEntry[];
  /**
   * The listing the plan was made from may miss entries (conntrack failed or was cut short, the
   * output hit its cap): deleting by mark would also remove the unlisted ones, which may be an
   * exclusion's or the operator's, so only listed entries are deleted, by tuple.
   */
  partial?: boolean;
}

export interface ConntrackResult {
  deleted: number;
  updated: number;
  /** conntrack processes started (0 when there was nothing to do; at most 5). */
  processes: number;
  /** Processes that deleted entries (1 whenever something was deleted). */
  deleteProcesses: number;
  strategy: 'tuple' | 'mark' | 'none';
  /** conntrack failures met on the way (step: message), retried or worked around. */
  failures: string[];
  /** Table walks the kernel made (one per command line). */
  walks: number;
  ms: number;
}

/** One `conntrack -R` process: lines sharing a command and a mark. */
export interface ConntrackStep {
  kind: 'mark' | 'keep' | 'delete' | 'restore';
  lines: string[];
}

function tupleArgs(e: ConntrackEntry): string {
  const v6 = e.src.includes(':');
  const parts = ['-f', v6 ? 'ipv6' : 'ipv4', '-p', e.proto === 'ipv6-icmp' ? 'icmpv6' : e.proto, '-s', e.src, '-d', e.dst];
  if ((e.proto === 'tcp' || e.proto === 'udp') && e.sport !== undefined && e.dport !== undefined) parts.push('--sport', String(e.sport), '--dport', String(e.dport));
  return parts.join(' ');
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Entries (src, dst, sport, dport) of a socket (local, remote), in either orientation. */
export function entryOfSocket(e: ConntrackEntry, s: { local: string; localPort: number; remote: string; remotePort: number }): boolean {
  return (
    (e.src === s.local && e.sport === s.localPort && e.dst === s.remote && e.dport === s.remotePort) ||
    (e.src === s.remote && e.sport === s.remotePort && e.dst === s.local && e.dport === s.localPort)
  );
}

/** The conntrack steps for a plan, with the strategy that needs fewer table walks. */
export function conntrackScript(plan: ConntrackPlan): { steps: ConntrackStep[]; strategy: ConntrackResult['strategy']; walks: number } {
  const steps: ConntrackStep[] = [];
  const byMark = new Map<number, string[]>();
  for (const m of plan.mark) {
    if (m.entry.mark === m.mark) continue;
    const l = byMark.get(m.mark) ?? [];
    l.push(`-U ${tupleArgs(m.entry)} -m ${hex(m.mark)}`);
    byMark.set(m.mark, l);
  }
  for (const lines of byMark.values()) steps.push({ kind: 'mark', lines });
  const walks = (): number => steps.reduce((n, s) => n + s.lines.length, 0);
  if (plan.delete.length === 0) return { steps, strategy: 'none', walks: walks() };
  const needBit = plan.keep.filter((e) => (e.mark & KEEP_CT_BIT) === 0);
  if (plan.partial === true || plan.delete.length <= 2 * needBit.length + 1) {
    steps.push(tupleDeletes(plan));
    return { steps, strategy: 'tuple', walks: walks() };
  }
  const bit = hex(KEEP_CT_BIT);
  if (needBit.length > 0) steps.push({ kind: 'keep', lines: needBit.map((e) => `-U ${tupleArgs(e)} -m ${bit}/${bit}`) });
  steps.push({ kind: 'delete', lines: [`-D -m 0/${bit}`] });
  if (needBit.length > 0) steps.push({ kind: 'restore', lines: needBit.map((e) => `-U ${tupleArgs(e)} -m 0/${bit}`) });
  return { steps, strategy: 'mark', walks: walks() };
}

/**
 * The plan's deletions one tuple each: removes nothing that was not listed. Also what runs when a
 * mark or keep step of the mark strategy fails, since its delete-by-mark would remove the
 * entries that did not get their mark.
 */
export function tupleDeletes(plan: ConntrackPlan): ConntrackStep {
  return { kind: 'delete', lines: plan.delete.map((e) => `-D ${tupleArgs(e)}`) };
}

/** Entries conntrack printed (in -R mode it prints each entry it updated or deleted on stdout). */
export function countConntrackLines(stdout: string): number {
  let n = 0;
  for (const line of stdout.split('\n')) if (/\bsrc=\S+ dst=/.test(line)) n++;
  return n;
}

export const CT_MARKS = { agent: AGENT_CT_MARK, process: PROCESS_CT_MARK } as const;
