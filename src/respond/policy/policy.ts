/**
 * The response policy (docs/response.md): an ordered list of rules, first match wins; when none
 * matches, the signature's own action applies (a rule's `drop`/`reject` or YAML `action: block`
 * blocks, `alert` alerts — bulwark's behaviour before policies existed). Pure: compile once per
 * configuration, then decide() per detection (a few Set lookups per rule).
 */
import { BulwarkError } from '../../errors.js';
import type { Config } from '../../config/types.js';
import { DEFAULT_POLICY } from './defaults.js';
import type { Detection } from '../../engine/types.js';
import { CLASSTYPE_PRIORITY } from '../../signatures/rules.js';
import type { DetectorSpec, Signature } from '../../signatures/types.js';
import type { PolicyAction, PolicyDecision, PolicyRule, PolicySubject } from './types.js';
import { parsePriority, priorityProblem, type PriorityRange } from './priority.js';

/** The ET category of a message: its first two words, upper case ("ET EXPLOIT", "GPL SQL"). */
export function etCategory(msg: string): string {
  const w = msg.trim().split(/\s+/, 2);
  return w.join(' ').toUpperCase();
}

interface CompiledRule {
  name: string;
  action: PolicyAction;
  source: PolicyRule;
  sid?: Set<number>;
  gid?: Set<number>;
  category?: Set<string>;
  classtype?: Set<string>;
  priority?: PriorityRange;
  severity?: Set<string>;
  metadata?: [string, Set<string>][];
  origin?: Set<string>;
  ruleAction?: Set<string>;
  detector?: Set<string>;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  decide(s: PolicySubject): PolicyDecision;
}

const lowerSet = (xs: readonly string[]): Set<string> => new Set(xs.map((x) => x.trim().toLowerCase()));

function compileRule(r: PolicyRule, index: number, where: string): CompiledRule {
  const m = r.match;
  const out: CompiledRule = { name: r.name ?? `#${index + 1}`, action: r.action, source: r };
  if (m.sid !== undefined) out.sid = new Set(m.sid);
  if (m.gid !== undefined) out.gid = new Set(m.gid);
  if (m.category !== undefined) out.category = new Set(m.category.map((c) => etCategory(c)));
  if (m.classtype !== undefined) out.classtype = lowerSet(m.classtype);
  if (m.priority !== undefined) {
    const p = parsePriority(m.priority);
    if (p === undefined) throw new BulwarkError('BULWARK_ERR_CONFIG', `${where}[${index}].match.priority: ${priorityProblem(m.priority) ?? ''}`);
    out.priority = p;
  }
  if (m.severity !== undefined) out.severity = new Set(m.severity);
  if (m.metadata !== undefined) out.metadata = Object.entries(m.metadata).map(([k, vs]) => [k.toLowerCase(), lowerSet(vs)]);
  if (m.origin !== undefined) out.origin = new Set(m.origin);
  if (m.ruleAction !== undefined) out.ruleAction = new Set(m.ruleAction);
  if (m.detector !== undefined) out.detector = new Set(m.detector);
  return out;
}

function matches(r: CompiledRule, s: PolicySubject, category: string): boolean {
  if (r.sid !== undefined && !r.sid.has(s.sid)) return false;
  if (r.gid !== undefined && !r.gid.has(s.gid)) return false;
  if (r.category !== undefined && !r.category.has(category)) return false;
  if (r.classtype !== undefined && (s.classtype === undefined || !r.classtype.has(s.classtype.toLowerCase()))) return false;
  if (r.priority !== undefined && (s.priority === undefined || s.priority < r.priority.min || s.priority > r.priority.max)) return false;
  if (r.severity !== undefined && !r.severity.has(s.severity)) return false;
  if (r.origin !== undefined && !r.origin.has(s.origin)) return false;
  if (r.ruleAction !== undefined && !r.ruleAction.has(s.ruleAction)) return false;
  if (r.detector !== undefined && (s.detector === undefined || !r.detector.has(s.detector))) return false;
  if (r.metadata !== undefined) {
    for (const [key, values] of r.metadata) {
      let found = false;
      for (const [k, v] of s.metadata) {
        if (k.toLowerCase() === key && values.has(v.toLowerCase())) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
  }
  return true;
}

/** The matched conditions in words, for events and `policy explain`. */
function reasonOf(r: CompiledRule, s: PolicySubject, category: string): string {
  const parts: string[] = [];
  const m = r.source.match;
  if (m.sid !== undefined) parts.push(`sid ${s.sid}`);
  if (m.gid !== undefined) parts.push(`gid ${s.gid}`);
  if (m.category !== undefined) parts.push(`category ${category}`);
  if (m.classtype !== undefined) parts.push(`classtype ${s.classtype ?? ''}`);
  if (m.priority !== undefined) parts.push(`priority ${s.priority ?? ''} (${m.priority})`);
  if (m.severity !== undefined) parts.push(`severity ${s.severity}`);
  if (m.metadata !== undefined) {
    for (const key of Object.keys(m.metadata)) {
      const hit = s.metadata.find(([k, v]) => k.toLowerCase() === key.toLowerCase() && (r.metadata?.find(([mk]) => mk === key.toLowerCase())?.[1].has(v.toLowerCase()) ?? false));
      parts.push(`${key} ${hit?.[1] ?? ''}`);
    }
  }
  if (m.origin !== undefined) parts.push(`origin ${s.origin}`);
  if (m.ruleAction !== undefined) parts.push(`rule action ${s.ruleAction}`);
  if (m.detector !== undefined) parts.push(`detector ${s.detector ?? ''}`);
  return parts.length > 0 ? parts.join(', ') : 'matches every detection';
}

const ownAction = (s: PolicySubject): 'block' | 'alert' => (s.ruleAction === 'block' ? 'block' : 'alert');

/** Compiles an ordered rule list. `where` names it in errors (e.g. "response.policy"). */
export function compilePolicy(rules: readonly PolicyRule[], where = 'policy'): CompiledPolicy {
  const compiled = rules.map((r, i) => compileRule(r, i, where));
  return {
    rules: compiled,
    decide(s: PolicySubject): PolicyDecision {
      const category = etCategory(s.msg);
      for (const r of compiled) {
        if (!matches(r, s, category)) continue;
        const action = r.action === 'rule' ? ownAction(s) : r.action;
        return { action, rule: r.name, reason: reasonOf(r, s, category) };
      }
      return { action: ownAction(s), rule: 'rule-action', reason: `no policy rule matched: the signature's own action (${s.ruleAction})` };
    },
  };
}

/** Effective priority: the rule's own, else its classtype's default (Suricata classification.config). */
function priorityOf(priority: number | undefined, classtype: string | undefined): number | undefined {
  return priority ?? (classtype === undefined ? undefined : CLASSTYPE_PRIORITY[classtype]);
}

export function subjectOfDetection(d: Detection): PolicySubject {
  return {
    sid: d.signatureId,
    gid: d.gid ?? 1,
    msg: d.signature,
    classtype: d.classtype,
    priority: priorityOf(d.priority, d.classtype),
    severity: d.severity,
    metadata: d.metadata ?? [],
    // Detector findings come from the YAML databases (detectors.yaml).
    origin: d.origin ?? 'yaml',
    ruleAction: d.action,
    detector: d.detector,
  };
}

export function subjectOfSignature(s: Signature): PolicySubject {
  return {
    sid: s.id,
    gid: s.gid,
    msg: s.name,
    classtype: s.classtype,
    priority: priorityOf(s.priority, s.classtype),
    severity: s.severity,
    metadata: s.metadata,
    origin: s.origin ?? 'yaml',
    ruleAction: s.action,
  };
}

export function subjectOfDetector(d: DetectorSpec): PolicySubject {
  return { sid: d.id, gid: 1, msg: d.name, severity: d.severity, metadata: [], origin: 'yaml', ruleAction: d.action, detector: d.kind };
}

/** The effective rule list of a configuration: the operator's rules, then (by default) the shipped ones. */
export function policyRules(r: Pick<Config['response'], 'policy' | 'defaultPolicy'>): PolicyRule[] {
  return [...r.policy, ...(r.defaultPolicy ? DEFAULT_POLICY : [])];
}

/** Compiles `response.policy` (+ the shipped defaults). */
export function policyFromConfig(r: Pick<Config['response'], 'policy' | 'defaultPolicy'>): CompiledPolicy {
  return compilePolicy(policyRules(r), 'response.policy');
}
