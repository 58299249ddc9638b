/**
 * Merging rule sources into one file, like suricata-update: rules keyed by gid:sid (a duplicate
 * keeps the higher rev, the first one on a tie); then, per rule, disable.conf, enable.conf,
 * drop.conf and modify.conf in that order; then flowbits are resolved — a disabled rule that sets
 * (set/unset/toggle) a bit some enabled rule checks (isset/isnotset) is enabled with `noalert`,
 * repeated until nothing changes. Disabled rules are written commented out. Pure.
 */
import { globRegExp, type RulePolicy } from './policy.js';
import { formatRule, logicalLines, parseFlowbitOption, parseRuleText, ruleKey, withDrop, withNoalert, type RuleText } from './ruletext.js';

export interface SourceFile {
  /** Path inside the source ("rules/emerging-scan.rules", or the file name of a plain .rules file). */
  path: string;
  text: string;
}

export interface SourceContent {
  /** Source name ("et/open", "local/custom"). */
  name: string;
  files: SourceFile[];
}

export interface MergeOptions {
  policy: RulePolicy;
  /** Rule files skipped entirely (wildcards over the base name or path), default suricata-update's `*deleted.rules`. */
  ignore: readonly string[];
}

export type RuleChange = 'disabled' | 'enabled' | 'dropped' | 'modified' | 'flowbits';

export interface MergedRule {
  rule: RuleText;
  source: string;
  file: string;
  /** What the policy and flowbit resolution did to it (in order). */
  changes: RuleChange[];
}

export interface GroupStats {
  source: string;
  file: string;
  total: number;
  enabled: number;
}

export interface MergeStats {
  files: number;
  ignoredFiles: string[];
  total: number;
  enabled: number;
  disabled: number;
  /** Duplicate gid:sid dropped (the higher rev kept). */
  duplicates: number;
  /** Changes made by the policy files. */
  disabledByPolicy: number;
  enabledByPolicy: number;
  dropped: number;
  modified: number;
  /** Disabled rules enabled (as noalert) because an enabled rule checks a bit they set. */
  enabledForFlowbits: number;
  /** Enabled rules checking a bit that only rules in other files set. */
  crossFileFlowbitChecks: number;
  /** Bits enabled rules check that no rule sets at all (such checks never see the bit set). */
  unsetFlowbits: number;
  /** Per source file, in output order. */
  groups: GroupStats[];
  /** gid:sid of the rules each change applied to (for `rules list`; at most CHANGE_LIST_MAX each). */
  changes: Record<RuleChange, string[]>;
}

export const CHANGE_LIST_MAX = 10_000;

export interface MergeResult {
  rules: MergedRule[];
  stats: MergeStats;
  /** Non-fatal problems (a modify that produced an unparsable rule...), for the report. */
  warnings: string[];
}

const SETTERS = new Set(['set', 'setx', 'unset', 'toggle']);
const GETTERS = new Set(['isset', 'isnotset']);

// Rules are replaced (never mutated) when changed, so their parsed flowbits can be cached.
const bitCache = new WeakMap<RuleText, { set: string[]; get: string[] }>();

function bitsOf(r: RuleText, ops: Set<string>): string[] {
  let c = bitCache.get(r);
  if (!c) {
    c = { set: [], get: [] };
    for (const f of r.flowbits) {
      const { op, names } = parseFlowbitOption(f);
      if (SETTERS.has(op)) c.set.push(...names);
      else if (GETTERS.has(op)) c.get.push(...names);
    }
    bitCache.set(r, c);
  }
  return ops === SETTERS ? c.set : c.get;
}

export function mergeSources(sources: readonly SourceContent[], opts: MergeOptions): MergeResult {
  const ignore = opts.ignore.map(globRegExp);
  const warnings: string[] = [];
  const map = new Map<string, MergedRule>();
  let duplicates = 0;
  let files = 0;
  const ignoredFiles: string[] = [];
  for (const src of sources) {
    for (const f of [...src.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      if (!f.path.endsWith('.rules')) continue;
      const base = f.path.slice(f.path.lastIndexOf('/') + 1);
      if (ignore.some((re) => re.test(base) || re.test(f.path))) {
        ignoredFiles.push(`${src.name}:${f.path}`);
        continue;
      }
      files++;
      for (const l of logicalLines(f.text)) {
        const rule = parseRuleText(l.text);
        if (!rule) continue;
        const key = ruleKey(rule);
        const prev = map.get(key);
        if (prev) {
          duplicates++;
          // Map.set on an existing key keeps its position: the rule stays where it first appeared.
          if (rule.rev > prev.rule.rev) map.set(key, { rule, source: src.name, file: f.path, changes: [] });
          continue;
        }
        map.set(key, { rule, source: src.name, file: f.path, changes: [] });
      }
    }
  }

  const p = opts.policy;
  let disabledByPolicy = 0;
  let enabledByPolicy = 0;
  let dropped = 0;
  let modified = 0;
  for (const m of map.values()) {
    const view = { rule: m.rule, file: m.file };
    if (m.rule.enabled && p.disable.some((x) => x.match(view))) {
      m.rule = { ...m.rule, enabled: false };
      m.changes.push('disabled');
      disabledByPolicy++;
    }
    if (!m.rule.enabled && p.enable.some((x) => x.match({ rule: m.rule, file: m.file }))) {
      m.rule = { ...m.rule, enabled: true };
      m.changes.push('enabled');
      enabledByPolicy++;
    }
    if (!m.rule.noalert && m.rule.action !== 'drop' && p.drop.some((x) => x.match({ rule: m.rule, file: m.file }))) {
      m.rule = { ...m.rule, action: 'drop', raw: withDrop(m.rule.raw) };
      m.changes.push('dropped');
      dropped++;
    }
    let changed = false;
    for (const f of p.modify) {
      if (!f.matcher.match({ rule: m.rule, file: m.file })) continue;
      const out = f.apply(formatRule(m.rule));
      if (out === undefined) continue;
      const parsed = parseRuleText(out);
      if (!parsed) {
        warnings.push(`modify "${f.text}": rule ${ruleKey(m.rule)} would no longer parse, kept unchanged`);
        continue;
      }
      m.rule = parsed;
      changed = true;
    }
    if (changed) {
      m.changes.push('modified');
      modified++;
    }
  }

  // Flowbits: enable the rules that set what enabled rules check, until nothing changes.
  let enabledForFlowbits = 0;
  for (;;) {
    const required = new Set<string>();
    for (const m of map.values()) if (m.rule.enabled) for (const b of bitsOf(m.rule, GETTERS)) required.add(b);
    const toEnable: MergedRule[] = [];
    for (const m of map.values()) {
      if (m.rule.enabled) continue;
      if (bitsOf(m.rule, SETTERS).some((b) => required.has(b))) toEnable.push(m);
    }
    if (toEnable.length === 0) break;
    for (const m of toEnable) {
      m.rule = { ...m.rule, enabled: true, noalert: true, raw: withNoalert(m.rule.raw) };
      m.changes.push('flowbits');
      enabledForFlowbits++;
    }
  }

  // Where each bit is set (file), to report checks that depend on another file and bits never set.
  const setIn = new Map<string, Set<string>>();
  for (const m of map.values()) {
    if (!m.rule.enabled) continue;
    for (const b of bitsOf(m.rule, SETTERS)) {
      let s = setIn.get(b);
      if (!s) setIn.set(b, (s = new Set()));
      s.add(`${m.source}:${m.file}`);
    }
  }
  let crossFile = 0;
  const unset = new Set<string>();
  for (const m of map.values()) {
    if (!m.rule.enabled) continue;
    const bits = bitsOf(m.rule, GETTERS);
    if (bits.length === 0) continue;
    const here = `${m.source}:${m.file}`;
    let cross = false;
    for (const b of bits) {
      const s = setIn.get(b);
      if (!s) unset.add(b);
      else if (!s.has(here)) cross = true;
    }
    if (cross) crossFile++;
  }

  const rules = [...map.values()];
  const changes: Record<RuleChange, string[]> = { disabled: [], enabled: [], dropped: [], modified: [], flowbits: [] };
  for (const m of rules) {
    for (const c of m.changes) if (changes[c].length < CHANGE_LIST_MAX) changes[c].push(ruleKey(m.rule));
  }
  const groups: GroupStats[] = [];
  const byGroup = new Map<string, GroupStats>();
  let enabled = 0;
  for (const m of rules) {
    const k = `${m.source}\0${m.file}`;
    let g = byGroup.get(k);
    if (!g) {
      g = { source: m.source, file: m.file, total: 0, enabled: 0 };
      byGroup.set(k, g);
      groups.push(g);
    }
    g.total++;
    if (m.rule.enabled) {
      g.enabled++;
      enabled++;
    }
  }
  return {
    rules,
    warnings,
    stats: {
      files,
      ignoredFiles,
      total: rules.length,
      enabled,
      disabled: rules.length - enabled,
      duplicates,
      disabledByPolicy,
      enabledByPolicy,
      dropped,
      modified,
      enabledForFlowbits,
      crossFileFlowbitChecks: crossFile,
      unsetFlowbits: unset.size,
      groups,
      changes,
    },
  };
}

export const GROUP_MARK = '# group ';

/** The rule lines of the merged file: a "# group SOURCE FILE" line wherever the file changes. */
export function renderRules(rules: readonly MergedRule[]): string {
  const out: string[] = [];
  let group = '';
  for (const m of rules) {
    const g = `${m.source} ${m.file}`;
    if (g !== group) {
      out.push(`${GROUP_MARK}${g}`);
      group = g;
    }
    out.push(formatRule(m.rule));
  }
  return out.join('\n') + (out.length > 0 ? '\n' : '');
}
