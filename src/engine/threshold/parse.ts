/**
 * Suricata's threshold.config (docs "Global-Thresholds"; util-threshold-config.c), parsed to a
 * ThresholdConfig. Pure. Every bad line is reported with FILE:LINE and the whole file refused, so
 * a reload keeps the last good one.
 *
 *   suppress gen_id G, sig_id S[, track by_src|by_dst|by_either, ip ADDRESSES]
 *   threshold|event_filter gen_id G, sig_id S, type limit|threshold|both,
 *       track by_src|by_dst|by_rule|by_both, count N, seconds T
 *   rate_filter gen_id G, sig_id S, track by_src|by_dst|by_rule|by_both, count N, seconds T,
 *       new_action alert|drop|reject|pass|log|sdrop, timeout T
 *
 * As in Suricata: options in this order, keywords in lower case, `#` starts a comment line, a
 * line ending in `\` continues on the next one, `sig_id 0` means every signature (of `gen_id`, or
 * of every generator with `gen_id 0`), and `gen_id 0` with a non-zero `sig_id` is an error.
 */
import { BulwarkError } from '../../errors.js';
import { AddressSyntaxError, parseAddressMatcher } from './addresses.js';
import type { NewAction, ThresholdConfig, ThresholdConfigEntry, TrackBy } from './types.js';

/** Bounds: bigger files are refused (with the line where the bound was hit). */
export const THRESHOLD_LIMITS = { maxEntries: 100_000, maxLineLength: 8192, maxIssues: 100 } as const;

const MAX_U32 = 2 ** 32 - 1;
/** Windows and timeouts longer than a year are refused (a typo more likely than a plan). */
const MAX_SECONDS = 366 * 24 * 3600;

export interface ThresholdIssue {
  file: string;
  line: number;
  message: string;
}

class LineError extends Error {}

const BASE = /^\s*(event_filter|threshold|rate_filter|suppress)\s*gen_id\s*(\d+)\s*,\s*sig_id\s*(\d+)\s*(.*?)\s*$/;

function uint(v: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new LineError(`${what} must be a number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new LineError(`${what} ${v} is out of range ${min}..${max}`);
  return n;
}

/** The `, key value, key value` tail of threshold / rate_filter, in the order Suricata requires. */
function options(rest: string, keys: readonly string[], syntax: string): Map<string, string> {
  if (!rest.startsWith(',')) throw new LineError(`expected ", ${keys.join(' …, ')} …" after sig_id (${syntax})`);
  const parts = rest.slice(1).split(',');
  const out = new Map<string, string>();
  for (const [i, part] of parts.entries()) {
    const m = /^\s*([a-z_]+)\s*(\S+)\s*$/.exec(part);
    const want = keys[i];
    if (want === undefined) throw new LineError(`unexpected "${part.trim()}" (${syntax})`);
    if (!m || m[1] !== want) {
      const got = m?.[1];
      throw new LineError(got !== undefined && keys.includes(got) ? `options must come in the order ${keys.join(', ')} (${syntax})` : `expected "${want} …", got "${part.trim()}" (${syntax})`);
    }
    out.set(want, m[2]!);
  }
  if (out.size < keys.length) throw new LineError(`missing ${keys.slice(out.size).join(', ')} (${syntax})`);
  return out;
}

function oneOf<T extends string>(v: string, values: readonly T[], what: string): T {
  if ((values as readonly string[]).includes(v)) return v as T;
  throw new LineError(`${what} "${v}" is not supported (${values.join(', ')})`);
}

const TRACKS = ['by_src', 'by_dst', 'by_rule', 'by_both'] as const satisfies readonly TrackBy[];
const ACTIONS = ['alert', 'drop', 'reject', 'pass', 'log', 'sdrop'] as const satisfies readonly NewAction[];

function entry(text: string, line: number, vars: Record<string, string>): ThresholdConfigEntry {
  const m = BASE.exec(text);
  if (!m) throw new LineError('expected "suppress|threshold|event_filter|rate_filter gen_id N, sig_id N …"');
  const keyword = m[1] as 'event_filter' | 'threshold' | 'rate_filter' | 'suppress';
  const gid = uint(m[2]!, 'gen_id', 0, MAX_U32);
  const sid = uint(m[3]!, 'sig_id', 0, MAX_U32);
  if (gid === 0 && sid !== 0) throw new LineError(`gen_id 0 with sig_id ${sid}: name the generator (gen_id 1 for rules without a gid keyword), or use sig_id 0 for every signature`);
  const rest = m[4]!;
  switch (keyword) {
    case 'suppress': {
      if (rest === '') return { kind: 'suppress', line, gid, sid };
      const sm = /^,\s*track\s*(\S+)\s*,\s*ip\s*(.+)$/.exec(rest);
      if (!sm) throw new LineError('expected "suppress gen_id G, sig_id S" or "…, track by_src|by_dst|by_either, ip ADDRESSES"');
      const track = oneOf(sm[1]!, ['by_src', 'by_dst', 'by_either'] as const, 'suppress track');
      try {
        return { kind: 'suppress', line, gid, sid, track, ip: parseAddressMatcher(sm[2]!, vars) };
      } catch (e) {
        if (e instanceof AddressSyntaxError) throw new LineError(`ip: ${e.message}`);
        throw e;
      }
    }
    case 'threshold':
    case 'event_filter': {
      const syntax = `${keyword} gen_id G, sig_id S, type limit|threshold|both, track by_src|by_dst|by_rule|by_both, count N, seconds T`;
      const o = options(rest, ['type', 'track', 'count', 'seconds'], syntax);
      return {
        kind: 'threshold',
        keyword,
        line,
        gid,
        sid,
        type: oneOf(o.get('type')!, ['limit', 'threshold', 'both'] as const, 'type'),
        track: oneOf(o.get('track')!, TRACKS, 'track'),
        count: uint(o.get('count')!, 'count', 1, MAX_U32),
        seconds: uint(o.get('seconds')!, 'seconds', 0, MAX_SECONDS),
      };
    }
    case 'rate_filter': {
      const syntax = 'rate_filter gen_id G, sig_id S, track by_src|by_dst|by_rule|by_both, count N, seconds T, new_action alert|drop|reject|pass, timeout T';
      const o = options(rest, ['track', 'count', 'seconds', 'new_action', 'timeout'], syntax);
      return {
        kind: 'rate_filter',
        line,
        gid,
        sid,
        track: oneOf(o.get('track')!, TRACKS, 'track'),
        count: uint(o.get('count')!, 'count', 1, MAX_U32),
        seconds: uint(o.get('seconds')!, 'seconds', 0, MAX_SECONDS),
        newAction: oneOf(o.get('new_action')!, ACTIONS, 'new_action'),
        timeout: uint(o.get('timeout')!, 'timeout', 0, MAX_SECONDS),
      };
    }
  }
}

/** Thrown for a bad file: every problem, one per line, as "threshold FILE:LINE: message". */
export function thresholdError(issues: ThresholdIssue[]): BulwarkError {
  const first = issues[0];
  return new BulwarkError('BULWARK_ERR_CONFIG', issues.map((i) => `threshold ${i.file}:${i.line}: ${i.message}`).join('\n'), {
    details: { file: first?.file, line: first?.line, errors: issues },
  });
}

/**
 * Parses the text of a threshold.config. `vars` are the Suricata variables of databases.vars
 * (suppress `ip $HOME_NET`). Throws BulwarkError('BULWARK_ERR_CONFIG') listing every bad line.
 */
export function parseThresholdConfig(file: string, text: string, vars: Record<string, string>): ThresholdConfig {
  const entries: ThresholdConfigEntry[] = [];
  const issues: ThresholdIssue[] = [];
  const issue = (line: number, message: string): void => {
    if (issues.length < THRESHOLD_LIMITS.maxIssues) issues.push({ file, line, message });
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let cur = lines[i]!.replace(/\r$/, '');
    // A `\` followed only by blanks continues the entry on the next line (the `\` and the blanks
    // after it go; what came before it stays, as in Suricata).
    let cont = /\\\s*$/.exec(cur);
    while (cont && i + 1 < lines.length) {
      i++;
      cur = cur.slice(0, cont.index) + lines[i]!.replace(/\r$/, '');
      cont = /\\\s*$/.exec(cur);
    }
    if (/^\s*(#|$)/.test(cur)) continue;
    if (cur.length > THRESHOLD_LIMITS.maxLineLength) {
      issue(start, `entry longer than ${THRESHOLD_LIMITS.maxLineLength} characters`);
      continue;
    }
    if (entries.length >= THRESHOLD_LIMITS.maxEntries) {
      issue(start, `more than ${THRESHOLD_LIMITS.maxEntries} entries`);
      break;
    }
    try {
      entries.push(entry(cur, start, vars));
    } catch (e) {
      if (e instanceof LineError) issue(start, e.message);
      else throw e;
    }
  }
  if (issues.length > 0) throw thresholdError(issues);
  return { file, entries };
}

/** An empty configuration: only the rules' own threshold keywords apply. */
export const NO_THRESHOLDS: ThresholdConfig = { file: '', entries: [] };

/** An entry as threshold.config text (for `bulwark policy explain` and logs). */
export function formatEntry(e: ThresholdConfigEntry): string {
  const head = `gen_id ${e.gid}, sig_id ${e.sid}`;
  switch (e.kind) {
    case 'suppress':
      return e.track === undefined || e.ip === undefined ? `suppress ${head}` : `suppress ${head}, track ${e.track}, ip ${e.ip.text}`;
    case 'threshold':
      return `${e.keyword} ${head}, type ${e.type}, track ${e.track}, count ${e.count}, seconds ${e.seconds}`;
    case 'rate_filter':
      return `rate_filter ${head}, track ${e.track}, count ${e.count}, seconds ${e.seconds}, new_action ${e.newAction}, timeout ${e.timeout}`;
  }
}
