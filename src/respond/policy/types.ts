/**
 * The response policy's contracts (docs/response.md): which detections block, which only alert,
 * which are ignored, decided from what a detection carries about its signature. Pure data.
 */
import type { DetectorKind, Severity, SignatureAction } from '../../signatures/types.js';

/**
 * What a policy rule does with a matching detection: block the source, only alert, drop the
 * detection entirely (no event, no block), or follow the signature's own action (`rule`: a
 * rule's `drop`/`reject` or a YAML `action: block` blocks, `alert` alerts).
 */
export type PolicyAction = 'block' | 'alert' | 'ignore' | 'rule';

/** Conditions of one policy rule: every field given must hold; within a list, any value. */
export interface PolicyMatch {
  sid?: number[];
  gid?: number[];
  /** ET category: the first two words of the message ("ET EXPLOIT", "GPL SQL"), case-insensitive. */
  category?: string[];
  classtype?: string[];
  /** The rule's priority (or its classtype's default): "1", "<=2", "<3", ">=2", ">1", "1-2". */
  priority?: string;
  severity?: Severity[];
  /** Rule metadata: every key given must be present with one of the listed values (case-insensitive). */
  metadata?: Record<string, string[]>;
  /** `yaml` (bulwark databases and detectors) or `rules` (imported Suricata/Snort rules). */
  origin?: ('yaml' | 'rules')[];
  /** The signature's own action: `alert`, or `block` (a rule's drop/reject, YAML action: block). */
  ruleAction?: SignatureAction[];
  /** Behavioural detector kinds; a signature never matches a `detector` condition. */
  detector?: DetectorKind[];
}

export interface PolicyRule {
  /** Shown in events (`policy_rule`) and `bulwark policy explain`; default `#N` (position). */
  name?: string;
  match: PolicyMatch;
  action: PolicyAction;
  /** Why the rule exists (shipped defaults; free text in the config). */
  description?: string;
}

/** What the policy looks at: a detection's signature attributes. */
export interface PolicySubject {
  sid: number;
  gid: number;
  /** Signature message / name. */
  msg: string;
  classtype?: string | undefined;
  /** The rule's priority, else its classtype's default priority. */
  priority?: number | undefined;
  severity: Severity;
  metadata: readonly (readonly [string, string])[];
  origin: 'yaml' | 'rules';
  ruleAction: SignatureAction;
  detector?: DetectorKind | undefined;
}

export interface PolicyDecision {
  action: 'block' | 'alert' | 'ignore';
  /** Name of the policy rule that decided, or `rule-action` when none matched (the signature's own action). */
  rule: string;
  /** The conditions that matched, e.g. "category ET EXPLOIT, classtype attempted-user". */
  reason: string;
}
