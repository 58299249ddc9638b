/**
 * `bulwark policy explain`: for a signature or detector, what it carries that the policy looks at,
 * the decision, and the threshold.config entries that apply to it. Pure.
 */
import { formatEntry } from '../../engine/threshold/parse.js';
import type { ThresholdFilter } from '../../engine/threshold/filter.js';
import type { DetectorSpec, Signature } from '../../signatures/types.js';
import { etCategory, subjectOfDetector, subjectOfSignature, type CompiledPolicy } from './policy.js';
import type { PolicyDecision } from './types.js';

export interface Explanation {
  sid: number;
  gid: number;
  rev: number;
  msg: string;
  /** ET category (first two words of the message). */
  category: string;
  classtype: string | null;
  /** The rule's priority, else its classtype's default; null when neither. */
  priority: number | null;
  severity: string;
  metadata: [string, string][];
  origin: 'yaml' | 'rules';
  ruleAction: string;
  detector: string | null;
  source: string;
  decision: PolicyDecision;
  /** threshold.config entries naming this signature (or every signature), in file order. */
  thresholds: { at: string; entry: string }[];
  /** The one threshold that counts its matches (the rule's own keyword or an entry), if any. */
  activeThreshold: string | null;
}

export function explain(policy: CompiledPolicy, filter: ThresholdFilter | undefined, s: Signature | DetectorSpec): Explanation {
  const isDetector = 'kind' in s;
  const subject = isDetector ? subjectOfDetector(s) : subjectOfSignature(s);
  const gid = subject.gid;
  const entries = filter?.entriesFor(gid, subject.sid) ?? [];
  const ruleFilter = isDetector ? undefined : s.rateFilter;
  const slot = filter?.slotFor(gid, subject.sid, ruleFilter) ?? (ruleFilter === undefined ? undefined : { kind: 'rule' as const, rf: ruleFilter });
  let active: string | null = null;
  if (slot !== undefined) {
    active =
      slot.kind === 'rule'
        ? slot.rf.type === 'detection_filter'
          ? `rule detection_filter: track ${slot.rf.track}, count ${slot.rf.count}, seconds ${slot.rf.seconds}`
          : slot.rf.type === 'backoff'
            ? `rule threshold: type backoff, track ${slot.rf.track}, count ${slot.rf.count}, multiplier ${slot.rf.multiplier ?? 1}`
            : `rule threshold: type ${slot.rf.type}, track ${slot.rf.track}, count ${slot.rf.count}, seconds ${slot.rf.seconds}`
        : `${filter?.config.file ?? ''}:${slot.line}: ${formatEntry(slot)}`;
  }
  return {
    sid: subject.sid,
    gid,
    rev: isDetector ? 1 : s.rev,
    msg: subject.msg,
    category: etCategory(subject.msg),
    classtype: subject.classtype ?? null,
    priority: subject.priority ?? null,
    severity: subject.severity,
    metadata: subject.metadata.map(([k, v]) => [k, v]),
    origin: subject.origin,
    ruleAction: subject.ruleAction,
    detector: subject.detector ?? null,
    source: `${s.source.file}:${s.source.line}`,
    decision: policy.decide(subject),
    thresholds: entries.map((e) => ({ at: `${filter?.config.file ?? ''}:${e.line}`, entry: formatEntry(e) })),
    activeThreshold: active,
  };
}

/** Decisions over a whole ruleset: counts per action and per deciding rule (`bulwark policy show`). */
export function summarize(policy: CompiledPolicy, sigs: readonly Signature[], detectors: readonly DetectorSpec[]): { byAction: Record<string, number>; byRule: Record<string, Record<string, number>> } {
  const byAction: Record<string, number> = { block: 0, alert: 0, ignore: 0 };
  const byRule: Record<string, Record<string, number>> = {};
  const add = (d: PolicyDecision): void => {
    byAction[d.action] = (byAction[d.action] ?? 0) + 1;
    const r = (byRule[d.rule] ??= {});
    r[d.action] = (r[d.action] ?? 0) + 1;
  };
  for (const s of sigs) add(policy.decide(subjectOfSignature(s)));
  for (const d of detectors) add(policy.decide(subjectOfDetector(d)));
  return { byAction, byRule };
}
