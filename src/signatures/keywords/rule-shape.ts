/**
 * Checks of a rule's shape for Suricata 8 keywords, run once the rule is parsed (rules.ts):
 * `absent` on a buffer, and transactional rules (`=>`). An OptionError makes the rule invalid
 * (Suricata refuses it); an Unsupported skips it with a reason (bulwark cannot give it the same
 * meaning).
 */
import type { AppKeywordMatch, BufferList, Condition, UintMatch } from '../types.js';
import type { AppDirection } from '../../engine/app-layer/types.js';
import { findAppKeyword } from '../../engine/app-layer/registry.js';
import { OptionError, Unsupported } from '../options.js';
import type { DatasetSpec } from './dataset.js';

/** What checkAbsent reads of a buffer list being built. */
export interface AbsentList {
  buffer: string;
  conditions: readonly Condition[];
  bsize?: UintMatch;
  datasets?: DatasetSpec[];
  absent?: 'only' | 'or_else';
}

/**
 * Suricata's checks of `absent` (DetectAbsentValidateContentCallback): a buffer tested `absent`
 * alone takes no other keyword; `absent: or_else` needs one; a content of such a buffer cannot be
 * the fast pattern (the rule must run when the buffer is missing).
 */
export function checkAbsent(lists: readonly AbsentList[]): void {
  for (const l of lists) {
    if (l.absent === undefined) continue;
    const others = l.conditions.length > 0 || l.bsize !== undefined || l.datasets !== undefined;
    if (l.absent === 'only' && others) throw new OptionError(`${l.buffer} is tested absent and with other keywords`);
    if (l.absent === 'or_else' && !others) throw new OptionError(`absent: or_else on ${l.buffer} without other keywords`);
    if (l.conditions.some((c) => c.kind === 'content' && c.fastPattern)) throw new OptionError(`absent and fast_pattern on ${l.buffer}`);
  }
}

/**
 * Suricata 8 transactional rules (`=>`): every buffer and keyword in one known direction, both
 * directions present; app-layer only, without flow direction, raw payload or packet keywords
 * (what bulwark cannot give the same meaning is skipped).
 */
export function checkTxRule(lists: BufferList[], keywords: AppKeywordMatch[], r: { app: string | undefined; dir: string | undefined; raw: boolean; packet: boolean }): void {
  if (r.app === undefined) throw new Unsupported('transactional rule (=>) without an app-layer protocol');
  if (r.dir !== undefined) throw new Unsupported('flow direction in a transactional rule (=>)');
  if (r.raw || r.packet) throw new Unsupported('payload keywords in a transactional rule (=>)');
  const dirs = new Set<AppDirection>();
  for (const l of lists) {
    if (l.dir === undefined) throw new Unsupported('buffer of both directions in a transactional rule (=>)');
    dirs.add(l.dir);
  }
  for (const k of keywords) {
    const ds = findAppKeyword(k.name)?.spec.directions ?? [];
    if (ds.length !== 1) throw new Unsupported('keyword of both directions in a transactional rule (=>)');
    k.dir = ds[0]!;
    dirs.add(k.dir);
  }
  if (dirs.size !== 2) throw new Unsupported('transactional rule (=>) with keywords of one direction');
}
