/**
 * Rules at the text level, the way suricata-update sees them: a line is a rule (enabled) or a
 * commented-out rule (disabled); we read just enough of it — action, protocol, gid/sid/rev, msg,
 * flowbits, metadata, classtype — to select, modify and merge rules. What a rule *means* is the
 * importer's business (src/signatures/rules.ts); nothing here decides whether bulwark can load it.
 * Pure: no I/O.
 */

/** Actions a rule line may start with (Snort and Suricata). */
const ACTIONS = ['alert', 'log', 'pass', 'activate', 'dynamic', 'drop', 'reject', 'rejectsrc', 'rejectdst', 'rejectboth', 'sdrop'];

/** `[#…] action proto src sport dir dst dport (options)` — the leading '#'s mark a disabled rule. */
const RULE_RE = new RegExp(`^(#)?[\\s#]*((${ACTIONS.join('|')})\\s+(\\S+)\\s+\\S+\\s+\\S+\\s+([-<>]+)\\s+\\S+\\s+\\S+)\\s*\\((.*)\\)\\s*$`);

export interface RuleOption {
  name: string;
  value: string | undefined;
}

export interface RuleText {
  /** False for a commented-out rule ("# alert …"). */
  enabled: boolean;
  /** The rule without the comment marker. */
  raw: string;
  action: string;
  proto: string;
  gid: number;
  sid: number;
  rev: number;
  msg: string;
  classtype: string | undefined;
  /** Raw values of every `flowbits:` option, e.g. "set,ET.foo", "isset,a|b", "noalert". */
  flowbits: string[];
  /** `metadata:` entries split at commas, e.g. "signature_severity Major". */
  metadata: string[];
  /** The rule has `noalert;` or `flowbits:noalert;`. */
  noalert: boolean;
}

/**
 * Splits the option text at `;` not escaped by a backslash (Suricata requires `\;` inside
 * quoted values, so quotes need no tracking). Returns undefined when the last option has no
 * terminating `;`.
 */
export function splitRuleOptions(body: string): RuleOption[] | undefined {
  const out: RuleOption[] = [];
  let start = 0;
  let i = 0;
  // indexOf over the text (ET Open has 30,000 rules): a ';' after an odd number of backslashes is escaped.
  while ((i = body.indexOf(';', i)) >= 0) {
    let bs = 0;
    for (let k = i - 1; k >= start && body.charCodeAt(k) === 92; k--) bs++;
    if (bs % 2 === 1) {
      i++;
      continue;
    }
    const opt = body.slice(start, i).trim();
    start = ++i;
    if (opt === '') continue;
    const colon = opt.indexOf(':');
    if (colon < 0) out.push({ name: opt.toLowerCase(), value: undefined });
    else out.push({ name: opt.slice(0, colon).trim().toLowerCase(), value: opt.slice(colon + 1).trim() });
  }
  if (body.slice(start).trim() !== '') return undefined;
  return out;
}

function intOption(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*[0-9]{1,10}\s*$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 0xffffffff ? n : undefined;
}

/** Parses one (joined) line; undefined when it is not a rule (prose comment, blank, no sid). */
export function parseRuleText(line: string): RuleText | undefined {
  const m = RULE_RE.exec(line.trim());
  if (!m) return undefined;
  const options = splitRuleOptions(m[6]!);
  if (!options) return undefined;
  let sid: number | undefined;
  let gid = 1;
  let rev = 0;
  let msg = '';
  let classtype: string | undefined;
  const flowbits: string[] = [];
  const metadata: string[] = [];
  let noalert = false;
  for (const { name, value } of options) {
    switch (name) {
      case 'sid':
        sid = intOption(value);
        break;
      case 'gid':
        gid = intOption(value) ?? gid;
        break;
      case 'rev':
        rev = intOption(value) ?? rev;
        break;
      case 'msg': {
        const v = value ?? '';
        msg = (v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v).replace(/\\(.)/g, '$1');
        break;
      }
      case 'classtype':
        classtype = value;
        break;
      case 'flowbits':
        if (value !== undefined) {
          flowbits.push(value);
          if (value.trim() === 'noalert') noalert = true;
        }
        break;
      case 'metadata':
        for (const e of (value ?? '').split(',')) if (e.trim() !== '') metadata.push(e.trim());
        break;
      case 'noalert':
        noalert = true;
        break;
    }
  }
  if (sid === undefined) return undefined;
  const raw = line.trim().replace(/^[\s#]*/, '');
  return { enabled: m[1] === undefined, raw, action: m[3]!, proto: m[4]!, gid, sid, rev, msg, classtype, flowbits, metadata, noalert };
}

/** "gid:sid", the key rules are merged and matched by. */
export function ruleKey(r: { gid: number; sid: number }): string {
  return `${r.gid}:${r.sid}`;
}

/** How the rule is written back: disabled rules commented out, like suricata-update. */
export function formatRule(r: Pick<RuleText, 'enabled' | 'raw'>): string {
  return (r.enabled ? '' : '# ') + r.raw;
}

/** Inserts `noalert;` before `sid:` (suricata-update does the same for flowbit-enabled rules). */
export function withNoalert(raw: string): string {
  if (/(^|[(;\s])noalert\s*;/.test(raw)) return raw;
  const out = raw.replace(/(\s*sid\s*:\s*[0-9]+\s*;)/, ' noalert;$1');
  return out === raw ? raw.replace(/\)\s*$/, ' noalert;)') : out;
}

/** Rewrites the action to `drop` (suricata-update's drop.conf); bulwark blocks on drop. */
export function withDrop(raw: string): string {
  return raw.replace(/^\w+/, 'drop');
}

/** A flowbits option split into its operation and the bit names it names ("isset,a|b" → isset [a, b]). */
export function parseFlowbitOption(v: string): { op: string; names: string[] } {
  const comma = v.indexOf(',');
  const op = (comma < 0 ? v : v.slice(0, comma)).trim().toLowerCase();
  const rest = comma < 0 ? '' : v.slice(comma + 1).trim();
  const names = rest === '' ? [] : rest.split(/[|&]/).map((s) => s.trim()).filter((s) => s !== '');
  return { op, names };
}

export interface RuleLine {
  /** 1-based line number of the first physical line. */
  line: number;
  text: string;
}

/**
 * Splits a rules file into logical lines, joining continuation lines that end in a backslash
 * (suricata-update and Suricata both accept them). Comments and blank lines are kept.
 */
export function logicalLines(text: string): RuleLine[] {
  const out: RuleLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i]!.replace(/\r$/, '');
    while (l.endsWith('\\') && i + 1 < lines.length) {
      i++;
      l = l.slice(0, -1) + lines[i]!.replace(/\r$/, '').trimStart();
    }
    out.push({ line: start + 1, text: l });
  }
  return out;
}
