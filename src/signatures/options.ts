/**
 * Parsers for keyword values shared by the Suricata importer and the YAML format
 * (byte_test, byte_jump, isdataat, dsize, flags, flowbits, threshold). Each throws
 * OptionError with a message; callers add file:line.
 */
import type {
  UintMatch,
  ByteJumpCondition,
  ByteTestCondition,
  ByteTestOp,
  FlowbitOp,
  IsDataAtCondition,
  NumericRange,
  RateFilter,
  TcpFlagsMatch,
} from './types.js';

export class OptionError extends Error {}
/** A well-formed value that uses a feature bulwark does not implement: the rule is skipped with `reason`. */
export class Unsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function int(s: string | undefined, what: string): number {
  const t = (s ?? '').trim();
  if (!/^[-+]?(\d+|0x[0-9a-fA-F]+)$/.test(t)) {
    if (/^[A-Za-z_][\w.]*$/.test(t)) throw new Unsupported('byte_extract variable');
    throw new OptionError(`${what}: expected an integer, got "${t}"`);
  }
  return t.startsWith('-') ? -Number(t.slice(1)) : Number(t.replace(/^\+/, ''));
}

export function parseInteger(s: string, what: string, min = -Infinity, max = Infinity): number {
  const n = int(s, what);
  if (n < min || n > max) throw new OptionError(`${what}: ${n} outside ${min}..${max}`);
  return n;
}

function parseBase(opts: string[]): 8 | 10 | 16 | undefined {
  if (!opts.includes('string')) return undefined;
  if (opts.includes('hex')) return 16;
  if (opts.includes('oct')) return 8;
  return 10;
}

const BT_FLAGS = new Set(['relative', 'big', 'little', 'string', 'hex', 'dec', 'oct']);

export function parseByteTest(v: string): ByteTestCondition {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length < 4) throw new OptionError('byte_test: expected count, operator, value, offset');
  const count = parseInteger(parts[0]!, 'byte_test count', 1, 23);
  let opText = parts[1]!;
  let negated = false;
  if (opText.startsWith('!') && opText !== '!') {
    negated = true;
    opText = opText.slice(1);
  }
  if (opText === '!=') {
    negated = !negated;
    opText = '=';
  }
  const ops: ByteTestOp[] = ['<', '>', '=', '!', '<=', '>=', '&', '^'];
  if (!ops.includes(opText as ByteTestOp)) throw new OptionError(`byte_test: unknown operator "${parts[1]!}"`);
  const value = parseInteger(parts[2]!, 'byte_test value');
  const offset = parseInteger(parts[3]!, 'byte_test offset');
  const rest = parts.slice(4);
  let bitmask: number | undefined;
  for (const r of rest) {
    if (r.startsWith('bitmask')) {
      bitmask = parseInteger(r.slice(7), 'byte_test bitmask', 1, 0xffffffff);
      continue;
    }
    if (r === 'dce') continue;
    if (!BT_FLAGS.has(r)) throw new Unsupported(`byte_test option ${r.split(' ')[0]!}`);
  }
  const stringBase = parseBase(rest);
  const dce = rest.includes('dce');
  // Suricata DetectBytetestSetup: dce takes its endianness from the DCERPC header, so no
  // endianness, string or base with it.
  if (dce && (rest.includes('string') || rest.includes('big') || rest.includes('little'))) throw new OptionError('byte_test: dce with an endianness or string');
  // Suricata 7: at most 8 bytes binary, 23 as a string (the longest uint64 in octal).
  if (stringBase === undefined && count > 8) throw new OptionError(`byte_test: more than 8 bytes without "string" (${count})`);
  const c: ByteTestCondition = {
    kind: 'byte_test',
    count,
    op: opText as ByteTestOp,
    negated,
    value,
    offset,
    relative: rest.includes('relative'),
    endian: rest.includes('little') ? 'little' : 'big',
  };
  if (stringBase !== undefined) c.stringBase = stringBase;
  if (bitmask !== undefined) c.bitmask = bitmask;
  if (dce) c.dce = true;
  return c;
}

const BJ_FLAGS = new Set(['relative', 'big', 'little', 'string', 'hex', 'dec', 'oct', 'align', 'from_beginning', 'from_end']);

export function parseByteJump(v: string): ByteJumpCondition {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length < 2) throw new OptionError('byte_jump: expected count, offset');
  // Suricata 7/8: 0..8 bytes binary (0 jumps by post_offset alone), up to 23 as a string.
  const count = parseInteger(parts[0]!, 'byte_jump count', 0, 23);
  const offset = parseInteger(parts[1]!, 'byte_jump offset', -65535, 65535);
  const rest = parts.slice(2);
  let multiplier = 1;
  let postOffset = 0;
  let bitmask: number | undefined;
  const flags: string[] = [];
  for (const r of rest) {
    if (r.startsWith('multiplier')) multiplier = parseInteger(r.slice(10), 'byte_jump multiplier', 1, 65535);
    else if (r.startsWith('post_offset')) postOffset = parseInteger(r.slice(11), 'byte_jump post_offset', -65535, 65535);
    else if (r.startsWith('bitmask')) bitmask = parseInteger(r.slice(7), 'byte_jump bitmask', 1, 0xffffffff);
    else if (r === 'dce') flags.push(r);
    else if (BJ_FLAGS.has(r)) flags.push(r);
    else throw new OptionError(`byte_jump: unknown option "${r}"`);
  }
  const stringBase = parseBase(flags);
  if (stringBase === undefined && count > 8) throw new OptionError(`byte_jump: more than 8 bytes without "string" (${count})`);
  if (stringBase !== undefined && count === 0) throw new OptionError('byte_jump: string needs at least one byte');
  if (flags.includes('from_beginning') && flags.includes('from_end')) throw new OptionError("byte_jump: 'from_end' and 'from_beginning' together");
  const dce = flags.includes('dce');
  // Suricata DetectBytejumpSetup: dce excludes an endianness, string/base and from_beginning/from_end.
  if (dce && ['string', 'big', 'little', 'from_beginning', 'from_end'].some((x) => flags.includes(x))) {
    throw new OptionError('byte_jump: dce with an endianness, string or from_beginning/from_end');
  }
  const c: ByteJumpCondition = {
    kind: 'byte_jump',
    count,
    offset,
    relative: flags.includes('relative'),
    endian: flags.includes('little') ? 'little' : 'big',
    multiplier,
    postOffset,
    align: flags.includes('align'),
    fromBeginning: flags.includes('from_beginning'),
  };
  if (flags.includes('from_end')) c.fromEnd = true;
  if (bitmask !== undefined) c.bitmask = bitmask;
  if (stringBase !== undefined) c.stringBase = stringBase;
  if (dce) c.dce = true;
  return c;
}

export function parseIsDataAt(v: string): IsDataAtCondition {
  const parts = v.split(',').map((s) => s.trim());
  let first = parts[0] ?? '';
  let negated = false;
  if (first.startsWith('!')) {
    negated = true;
    first = first.slice(1).trim();
  }
  const offset = parseInteger(first, 'isdataat', 0, 65535);
  for (const r of parts.slice(1)) if (r !== 'relative' && r !== 'rawbytes') throw new Unsupported(`isdataat option ${r}`);
  return { kind: 'isdataat', offset, relative: parts.slice(1).includes('relative'), negated };
}

/** dsize: N, >N, <N, >=N, <=N, A<>B (exclusive). Normalised to an inclusive range. */
export function parseDsize(v: string): NumericRange {
  const t = v.replace(/\s+/g, '');
  let m: RegExpExecArray | null;
  if ((m = /^(\d+)<>(\d+)$/.exec(t))) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (b - a < 2) throw new OptionError(`dsize: empty range ${v}`);
    return { min: a + 1, max: b - 1 };
  }
  if ((m = /^(>=|<=|>|<|=)?(\d+)$/.exec(t))) {
    const n = Number(m[2]);
    switch (m[1]) {
      case '>':
        return { min: n + 1, max: Number.MAX_SAFE_INTEGER };
      case '>=':
        return { min: n, max: Number.MAX_SAFE_INTEGER };
      case '<':
        if (n === 0) throw new OptionError('dsize: <0 matches nothing');
        return { min: 0, max: n - 1 };
      case '<=':
        return { min: 0, max: n };
      default:
        return { min: n, max: n };
    }
  }
  if (t.startsWith('!')) throw new Unsupported('dsize negation');
  throw new OptionError(`dsize: cannot parse "${v}"`);
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128, '1': 128, '2': 64 };

function flagMask(s: string, whole: string): number {
  let m = 0;
  for (const ch of s.toUpperCase()) {
    if (ch === '0') continue;
    const b = FLAG_BITS[ch];
    if (b === undefined) throw new OptionError(`flags: unknown flag '${ch}' in "${whole}"`);
    m |= b;
  }
  return m;
}

/** flags:[+*!]FSRPAUCE0[+*!][,ignore] */
export function parseFlags(v: string): TcpFlagsMatch {
  const [testRaw = '', ignoreRaw] = v.split(',').map((s) => s.trim());
  let test = testRaw;
  let mode: TcpFlagsMatch['mode'] = '';
  const mod = /^[+*!]/.exec(test)?.[0] ?? /[+*!]$/.exec(test)?.[0];
  if (mod) {
    mode = mod as TcpFlagsMatch['mode'];
    test = test.startsWith(mod) ? test.slice(1) : test.slice(0, -1);
  }
  if (test === '') throw new OptionError(`flags: no flags in "${v}"`);
  return { mask: flagMask(test, v), mode, ignore: ignoreRaw === undefined ? 0 : flagMask(ignoreRaw, v) };
}

/** flowbits:set,name | isset,a|b | isset,a&b | noalert ... */
export function parseFlowbits(v: string): FlowbitOp {
  const comma = v.indexOf(',');
  const opName = (comma < 0 ? v : v.slice(0, comma)).trim();
  const rest = comma < 0 ? '' : v.slice(comma + 1).trim();
  const ops = ['set', 'unset', 'isset', 'isnotset', 'toggle', 'noalert'] as const;
  const op = ops.find((o) => o === opName);
  if (op === undefined) throw new OptionError(`flowbits: unknown operation "${opName}"`);
  if (op === 'noalert') {
    if (rest !== '') throw new OptionError('flowbits: noalert takes no name');
    return { op, names: [], mode: 'all' };
  }
  if (rest === '') throw new OptionError(`flowbits: ${op} needs a name`);
  const any = rest.includes('|');
  const all = rest.includes('&');
  if (any && all) throw new OptionError('flowbits: mixing | and &');
  const names = rest.split(any ? '|' : '&').map((s) => s.trim());
  for (const n of names) if (!/^[\w.-]+$/.test(n)) throw new OptionError(`flowbits: bad name "${n}"`);
  return { op, names, mode: any ? 'any' : 'all' };
}

/** threshold / detection_filter: "type limit, track by_src, count 1, seconds 60". */
export function parseRateFilter(v: string, keyword: 'threshold' | 'detection_filter'): RateFilter {
  const kv = new Map<string, string>();
  for (const part of v.split(',')) {
    const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(part);
    if (!m) throw new OptionError(`${keyword}: cannot parse "${part.trim()}"`);
    kv.set(m[1]!, m[2]!);
  }
  const type = keyword === 'detection_filter' ? 'detection_filter' : kv.get('type');
  if (type !== 'limit' && type !== 'threshold' && type !== 'both' && type !== 'detection_filter' && type !== 'backoff') throw new OptionError(`${keyword}: bad type "${String(type)}"`);
  const track = kv.get('track');
  if (track === 'by_rule' || track === 'by_both') throw new Unsupported(`${keyword} track ${track}`);
  if (track !== 'by_src' && track !== 'by_dst' && track !== 'by_flow') throw new OptionError(`${keyword}: bad track "${String(track)}"`);
  const count = parseInteger(kv.get('count') ?? '', `${keyword} count`, 1, 1_000_000);
  if (type === 'backoff') {
    // Suricata 8 (detect-threshold.c): backoff counts per flow, without a window
    if (track !== 'by_flow') throw new OptionError(`${keyword}: backoff needs track by_flow`);
    if (kv.has('seconds')) throw new OptionError(`${keyword}: backoff takes no seconds`);
    const multiplier = parseInteger(kv.get('multiplier') ?? '', `${keyword} multiplier`, 1, 65_535);
    return { type, track, count, seconds: 0, multiplier };
  }
  if (kv.has('multiplier')) throw new OptionError(`${keyword}: multiplier is for type backoff`);
  const seconds = parseInteger(kv.get('seconds') ?? '', `${keyword} seconds`, 1, 86_400 * 7);
  return { type, track, count, seconds };
}

/** Suricata's unsigned-integer match forms (detect/uint.rs): N, =N, !N, <N, >N, <=N, >=N, A<>B and A-B (exclusive). */
export function parseUintMatch(text: string, what: string, max: number): UintMatch {
  const t = text.trim();
  const num = (x: string): number => {
    if (!/^\d+$/.test(x)) throw new OptionError(`${what}: expected a number, got "${x}"`);
    const n = Number(x);
    if (n > max) throw new OptionError(`${what}: ${n} is over ${max}`);
    return n;
  };
  let m = /^(\d+)\s*(?:<>|-)\s*(\d+)$/.exec(t);
  if (m) {
    const a = num(m[1]!);
    const b = num(m[2]!);
    if (a >= b) throw new OptionError(`${what}: range ${t} is empty`);
    return { mode: '<>', a, b };
  }
  m = /^(<=|>=|<|>|=|!)?\s*(\d+)$/.exec(t);
  if (!m) throw new OptionError(`${what}: cannot parse "${t}"`);
  const a = num(m[2]!);
  const mode = (m[1] ?? '=') as UintMatch['mode'];
  if (mode === '<' && a === 0) throw new OptionError(`${what}: <0 matches nothing`);
  return { mode, a, b: 0 };
}

export function uintHolds(v: UintMatch, n: number): boolean {
  switch (v.mode) {
    case '=':
      return n === v.a;
    case '!':
      return n !== v.a;
    case '<':
      return n < v.a;
    case '>':
      return n > v.a;
    case '<=':
      return n <= v.a;
    case '>=':
      return n >= v.a;
    case '<>':
      return n > v.a && n < v.b;
  }
}
