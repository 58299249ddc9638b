/**
 * Severing conntrack entries in one process, without a cap (pure planning; the adapter in
 * killer.ts pipes the script into a single `conntrack -R -`).
 *
 * Measured (conntrack-tools 1.4.7, kernel 6.18): every `-D`/`-U` command walks the whole table,
 * even with a full tuple, so deleting 10k entries one tuple at a time is 10k walks of 10k entries
 * (2 min 44 s in one `conntrack -R` process). Deleting by mark is one walk (10k entries: 0.24 s).
 * So the plan:
 *   1. entries of spared sockets (excluded processes, the daemon) get the process/agent ct mark
 *      (which carry KEEP_CT_BIT), so their connections keep flowing through the `ct mark` rules;
 *   2. the other entries to keep (covered by an address exclusion, loopback) get KEEP_CT_BIT
 *      OR-ed in (`-m 0x4000/0x4000`, other bits untouched);
 *   3. `-D -m 0/0x4000` per family deletes everything else in one walk each;
 *   4. the bit is cleared again on the entries of step 2 (`-m 0/0x4000`).
 * When fewer entries are to be deleted than kept, deleting by tuple is fewer walks and is used
 * instead. Either way: one process, (kept + 1) or (deleted) table walks.
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
}

export interface ConntrackResult {
  deleted: number;
  updated: number;
  /** conntrack processes started (1 when there was anything to do). */
  processes: number;
  strategy: 'tuple' | 'mark' | 'none';
  /** Table walks the kernel made (one per command). */
  walks: number;
  ms: number;
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

/** The conntrack commands for a plan, and which strategy needs fewer table walks. */
export function conntrackScript(plan: ConntrackPlan): { lines: string[]; strategy: ConntrackResult['strategy']; walks: number } {
  const lines: string[] = [];
  for (const m of plan.mark) if (m.entry.mark !== m.mark) lines.push(`-U ${tupleArgs(m.entry)} -m ${hex(m.mark)}`);
  if (plan.delete.length === 0) return { lines, strategy: 'none', walks: lines.length };
  const needBit = plan.keep.filter((e) => (e.mark & KEEP_CT_BIT) === 0);
  const markWalks = lines.length + 2 * needBit.length + 2;
  const tupleWalks = lines.length + plan.delete.length;
  if (tupleWalks <= markWalks) {
    for (const e of plan.delete) lines.push(`-D ${tupleArgs(e)}`);
    return { lines, strategy: 'tuple', walks: lines.length };
  }
  const bit = hex(KEEP_CT_BIT);
  for (const e of needBit) lines.push(`-U ${tupleArgs(e)} -m ${bit}/${bit}`);
  lines.push(`-D -f ipv4 -m 0/${bit}`, `-D -f ipv6 -m 0/${bit}`);
  for (const e of needBit) lines.push(`-U ${tupleArgs(e)} -m 0/${bit}`);
  return { lines, strategy: 'mark', walks: lines.length };
}

/** Sums conntrack's "N flow entries have been deleted/updated." lines (stderr of `conntrack -R`). */
export function parseConntrackCounts(stderr: string): { deleted: number; updated: number } {
  let deleted = 0;
  let updated = 0;
  for (const m of stderr.matchAll(/([0-9]+) flow entr(?:y|ies) ha(?:s|ve) been (deleted|updated)/g)) {
    if (m[2] === 'deleted') deleted += Number(m[1]);
    else updated += Number(m[1]);
  }
  return { deleted, updated };
}

export const CT_MARKS = { agent: AGENT_CT_MARK, process: PROCESS_CT_MARK } as const;
