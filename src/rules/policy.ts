/**
 * The operator's rule policy, in suricata-update's formats: disable.conf, enable.conf and
 * drop.conf list one matcher per line; modify.conf lists `MATCHER "FROM" "TO"`. Matchers:
 *   1:2019401 / 2019401 / 2019401,2019402   gid:sid (gid 1 when omitted), comma lists
 *   re:REGEX                                  regular expression over the rule text (case-insensitive)
 *   group:emerging-scan / emerging-scan.rules the rule file's name (wildcards * ? [..])
 *   filename:rules/emerging-scan.rules        the file's path inside the source (wildcards)
 *   metadata:KEY VALUE                        a metadata entry (case-insensitive)
 *   *                                         every rule
 * `#` starts a comment (at the start of a line, or " #" after the entry). Pure: the caller
 * reads the files.
 */
import { BulwarkError } from '../errors.js';
import type { RuleText } from './ruletext.js';

/** What a matcher sees: the rule and where it came from. */
export interface PolicyRule {
  rule: RuleText;
  /** Path of the file inside its source, e.g. "rules/emerging-scan.rules". */
  file: string;
}

export interface Matcher {
  /** The text it was parsed from, for messages. */
  readonly text: string;
  match(r: PolicyRule): boolean;
}

export interface ModifyFilter {
  readonly text: string;
  readonly matcher: Matcher;
  /** The rewritten rule text (commented out when disabled), or undefined when the pattern does not apply. */
  apply(formatted: string): string | undefined;
}

export interface RulePolicy {
  disable: Matcher[];
  enable: Matcher[];
  drop: Matcher[];
  modify: ModifyFilter[];
}

export const EMPTY_POLICY: RulePolicy = { disable: [], enable: [], drop: [], modify: [] };

function policyError(file: string, line: number, message: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_CONFIG', `${file}:${line}: ${message}`, { details: { file, line } });
}

/** fnmatch(3)-style wildcard → anchored RegExp (`*` and `?` also match "/", as in Python's fnmatch). */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const stripExt = (p: string): string => p.replace(/\.[^.]*$/, '');

/**
 * Python `re` syntax that JavaScript spells differently: named groups `(?P<n>…)` and
 * backreferences `(?P=n)`. Everything else the two share is taken as is.
 */
export function pythonRegExp(source: string, flags: string): RegExp {
  const js = source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  return new RegExp(js, flags);
}

/** Parses one matcher, or undefined when the text is none of the forms. */
export function parseMatcher(text: string): Matcher | undefined {
  const t = text.trim();
  if (t === '*') return { text: t, match: () => true };
  if (/^[0-9:,\s]+$/.test(t)) {
    const ids: { gid: number; sid: number; rev?: number }[] = [];
    for (const part of t.split(',')) {
      const p = part.trim().split(':').map((x) => Number(x));
      if (p.some((n) => !Number.isInteger(n)) || p.length < 1 || p.length > 3) return undefined;
      if (p.length === 1) ids.push({ gid: 1, sid: p[0]! });
      else if (p.length === 2) ids.push({ gid: p[0]!, sid: p[1]! });
      else ids.push({ gid: p[0]!, sid: p[1]!, rev: p[2]! });
    }
    return { text: t, match: ({ rule }) => ids.some((i) => i.gid === rule.gid && i.sid === rule.sid && (i.rev === undefined || i.rev === rule.rev)) };
  }
  if (t.startsWith('re:')) {
    const re = pythonRegExp(t.slice(3).trim(), 'i');
    return { text: t, match: ({ rule }) => re.test(rule.raw) };
  }
  if (t.startsWith('filename:')) {
    const re = globRegExp(t.slice('filename:'.length).trim());
    return { text: t, match: ({ file }) => re.test(file) };
  }
  if (t.startsWith('group:') || t.endsWith('.rules')) {
    const re = globRegExp(t.startsWith('group:') ? t.slice('group:'.length).trim() : t);
    return { text: t, match: ({ file }) => re.test(basename(file)) || re.test(stripExt(basename(file))) };
  }
  if (t.startsWith('metadata:')) {
    const m = /^metadata:\s*(\S+)\s+(.+)$/.exec(t);
    if (!m) return undefined;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().toLowerCase();
    return {
      text: t,
      match: ({ rule }) =>
        rule.metadata.some((e) => {
          const sp = e.indexOf(' ');
          return sp > 0 && e.slice(0, sp).toLowerCase() === key && e.slice(sp + 1).trim().toLowerCase() === value;
        }),
    };
  }
  return undefined;
}

/** Content lines with their line numbers, comments removed ("# …" lines and trailing " #…"). */
function entries(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split('\n').forEach((l, i) => {
    const t = l.trim();
    if (t === '' || t.startsWith('#')) return;
    const hash = t.indexOf(' #');
    out.push({ line: i + 1, text: (hash < 0 ? t : t.slice(0, hash)).trim() });
  });
  return out;
}

/** disable.conf / enable.conf / drop.conf. An unparsable line refuses the file (file:line), unlike suricata-update's warning. */
export function parseMatcherFile(file: string, text: string): Matcher[] {
  const out: Matcher[] = [];
  for (const e of entries(text)) {
    let m: Matcher | undefined;
    try {
      m = parseMatcher(e.text);
    } catch (err) {
      throw policyError(file, e.line, `bad regular expression in "${e.text}": ${(err as Error).message}`);
    }
    if (!m) throw policyError(file, e.line, `"${e.text}" is not a matcher (SID, GID:SID, re:, group:, filename:, metadata:, *)`);
    out.push(m);
  }
  return out;
}

/** Shell-like split: double or single quotes group words; backslash escapes inside double quotes. */
function shellWords(s: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
      continue;
    }
    if (quote === '"') {
      if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) cur += s[++i]!;
      else if (c === '"') quote = undefined;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      if (c === '\\' && i + 1 < s.length) cur += s[++i]!;
      else cur += c;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) out.push(cur);
  return out;
}

/**
 * A Python re.sub replacement template as a function of the match: `\1`, `\g<1>`, `\g<name>`,
 * Oinkmaster's `${1}`, and `\\`, `\n`, `\t`.
 */
export function replacementFn(template: string): (m: RegExpExecArray | string[], groups: Record<string, string | undefined> | undefined) => string {
  type Part = string | number | { name: string };
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const rest = template.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\$\{(\d+)\}/.exec(rest)) || (m = /^\\g<(\d+)>/.exec(rest)) || (m = /^\\(\d{1,2})/.exec(rest))) {
      parts.push(lit, Number(m[1]));
      lit = '';
      i += m[0].length - 1;
    } else if ((m = /^\\g<([A-Za-z_]\w*)>/.exec(rest))) {
      parts.push(lit, { name: m[1]! });
      lit = '';
      i += m[0].length - 1;
    } else if (c === '\\' && i + 1 < template.length) {
      const n = template[++i]!;
      lit += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else lit += c;
  }
  parts.push(lit);
  return (m, groups) => parts.map((p) => (typeof p === 'string' ? p : typeof p === 'number' ? (m[p] ?? '') : (groups?.[p.name] ?? ''))).join('');
}

/** modify.conf: `MATCHER "FROM" "TO"`, or Oinkmaster's `modifysid MATCHER "FROM" | "TO"`. */
export function parseModifyFile(file: string, text: string): ModifyFilter[] {
  const out: ModifyFilter[] = [];
  for (const e of entries(text)) {
    const words = shellWords(e.text);
    if (!words) throw policyError(file, e.line, 'unterminated quote');
    let args: [string, string, string];
    if (words.length === 3) args = [words[0]!, words[1]!, words[2]!];
    else if (words.length === 5 && words[0] === 'modifysid' && words[3] === '|') args = [words[1]!, words[2]!, words[4]!];
    else throw policyError(file, e.line, 'expected MATCHER "FROM" "TO"');
    const [matchText, from, to] = args;
    let matcher: Matcher | undefined;
    let re: RegExp;
    try {
      matcher = parseMatcher(matchText);
      re = pythonRegExp(from, 'g');
    } catch (err) {
      throw policyError(file, e.line, `bad regular expression: ${(err as Error).message}`);
    }
    if (!matcher) throw policyError(file, e.line, `"${matchText}" is not a matcher`);
    const repl = replacementFn(to);
    out.push({
      text: e.text,
      matcher,
      apply(formatted) {
        re.lastIndex = 0;
        if (!re.test(formatted)) return undefined;
        re.lastIndex = 0;
        return formatted.replace(re, (...a: unknown[]) => {
          const last = a[a.length - 1];
          const groups = typeof last === 'object' && last !== null ? (last as Record<string, string | undefined>) : undefined;
          const n = groups ? a.length - 3 : a.length - 2;
          return repl(a.slice(0, n) as string[], groups);
        });
      },
    });
  }
  return out;
}
