/**
 * Suricata's `byte_extract` and `byte_math` keywords and the rule-local variables they define
 * (detect-byte-extract.c, detect-bytemath.c, Suricata 7/8). A variable is a slot in a per-verify
 * array (`VarSlots`): the rule parser names each slot, later keywords refer to it by index, and
 * the verifier fills it in rule order — a retry after backtracking re-runs the extraction, so a
 * slot always holds the value of the current match path.
 *
 * Where Suricata lets a variable stand for a number (7/8): content offset/depth/distance/within,
 * isdataat offset, byte_test count/value/offset, byte_jump count/offset, byte_math bytes/rvalue.
 *
 * Both keywords move the detection pointer past the bytes they read (Suricata sets
 * buffer_offset after the extraction), so a following relative keyword continues there.
 */
import { OptionError, Unsupported } from '../options.js';

/** Most variables one rule may define (Suricata has no fixed limit; this bounds a verify's slots). */
export const MAX_RULE_VARS = 16;

/** A number written in the rule, or a reference to a variable slot. */
export type NumOrVar = number | { var: number };

export interface ByteExtractCondition {
  kind: 'byte_extract';
  count: number;
  offset: number;
  relative: boolean;
  endian: 'big' | 'little';
  stringBase?: 8 | 10 | 16;
  multiplier: number;
  /** 0 = none; 2 or 4 rounds the value up to a multiple. */
  align: 0 | 2 | 4;
  /** Slot the value is stored in. */
  slot: number;
  name: string;
}

export type ByteMathOper = '+' | '-' | '*' | '/' | '<<' | '>>';

export interface ByteMathCondition {
  kind: 'byte_math';
  count: NumOrVar;
  offset: number;
  relative: boolean;
  endian: 'big' | 'little';
  stringBase?: 8 | 10 | 16;
  oper: ByteMathOper;
  rvalue: NumOrVar;
  bitmask?: number;
  slot: number;
  name: string;
}

/** Variable names of one rule → slot (the rule parser holds one per rule). */
export class RuleVars {
  private readonly slots = new Map<string, number>();
  get size(): number {
    return this.slots.size;
  }
  define(name: string): number {
    if (!/^[A-Za-z_][\w-]*$/.test(name)) throw new OptionError(`bad variable name "${name}"`);
    const have = this.slots.get(name);
    if (have !== undefined) return have; // Suricata lets a later byte_extract reuse a name: same slot
    if (this.slots.size >= MAX_RULE_VARS) throw new Unsupported(`more than ${MAX_RULE_VARS} byte_extract/byte_math variables`);
    const s = this.slots.size;
    this.slots.set(name, s);
    return s;
  }
  lookup(name: string): number | undefined {
    return this.slots.get(name);
  }
  /** A number, or a variable defined earlier in the rule (Suricata refuses an unknown name). */
  numOrVar(text: string, what: string, min: number, max: number): NumOrVar {
    const t = text.trim();
    if (/^[A-Za-z_]/.test(t)) {
      const s = this.slots.get(t);
      if (s === undefined) throw new OptionError(`${what}: unknown variable "${t}"`);
      return { var: s };
    }
    return intIn(t, what, min, max);
  }
}

function intIn(t: string, what: string, min: number, max: number): number {
  if (!/^[-+]?(\d+|0x[0-9a-fA-F]+)$/.test(t)) throw new OptionError(`${what}: expected an integer, got "${t}"`);
  const n = t.startsWith('-') ? -Number(t.slice(1)) : Number(t.replace(/^\+/, ''));
  if (n < min || n > max) throw new OptionError(`${what}: ${n} outside ${min}..${max}`);
  return n;
}

function baseOf(flags: readonly string[], hasString: boolean, what: string): 8 | 10 | 16 | undefined {
  const b = flags.includes('hex') ? 16 : flags.includes('oct') ? 8 : flags.includes('dec') ? 10 : undefined;
  if (!hasString) {
    if (b !== undefined) throw new OptionError(`${what}: a base needs "string"`);
    return undefined;
  }
  return b ?? 10;
}

/** byte_extract:<count>,<offset>,<name>[,relative][,multiplier N][,big|little][,dce][,string[,hex|dec|oct]][,align 2|4] */
export function parseByteExtract(v: string, vars: RuleVars): ByteExtractCondition {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length < 3) throw new OptionError('byte_extract: expected count, offset, name');
  const rest = parts.slice(3);
  const flags: string[] = [];
  let multiplier = 1;
  let align: 0 | 2 | 4 = 0;
  for (const r of rest) {
    const [k = '', arg] = r.split(/\s+/);
    if (k === 'multiplier') multiplier = intIn(arg ?? '', 'byte_extract multiplier', 1, 65535);
    else if (k === 'align') {
      const a = intIn(arg ?? '', 'byte_extract align', 2, 4);
      if (a !== 2 && a !== 4) throw new OptionError('byte_extract: align must be 2 or 4');
      align = a;
    } else if (k === 'dce') throw new Unsupported('byte_extract dce');
    else if (['relative', 'big', 'little', 'string', 'hex', 'dec', 'oct'].includes(k) && arg === undefined) flags.push(k);
    else throw new OptionError(`byte_extract: unknown option "${r}"`);
  }
  const hasString = flags.includes('string');
  const stringBase = baseOf(flags, hasString, 'byte_extract');
  const count = intIn(parts[0]!, 'byte_extract count', 1, hasString ? 23 : 8);
  if (hasString && (flags.includes('big') || flags.includes('little'))) throw new OptionError('byte_extract: string with an endianness');
  const name = parts[2]!;
  const c: ByteExtractCondition = {
    kind: 'byte_extract',
    count,
    offset: intIn(parts[1]!, 'byte_extract offset', -65535, 65535),
    relative: flags.includes('relative'),
    endian: flags.includes('little') ? 'little' : 'big',
    multiplier,
    align,
    slot: vars.define(name),
    name,
  };
  if (stringBase !== undefined) c.stringBase = stringBase;
  return c;
}

const OPERS: readonly ByteMathOper[] = ['+', '-', '*', '/', '<<', '>>'];

/** byte_math:bytes N, offset N, oper OP, rvalue N|var, result name[, relative][, endian big|little][, string hex|dec|oct][, dce][, bitmask N] */
export function parseByteMath(v: string, vars: RuleVars): ByteMathCondition {
  const kv = new Map<string, string>();
  const flags: string[] = [];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const m = /^(\w+)\s+(.+)$/.exec(t);
    if (m) {
      if (kv.has(m[1]!)) throw new OptionError(`byte_math: ${m[1]!} given twice`);
      kv.set(m[1]!, m[2]!.trim());
    } else flags.push(t);
  }
  for (const f of flags) {
    if (f === 'dce') throw new Unsupported('byte_math dce');
    if (f !== 'relative') throw new OptionError(`byte_math: unknown option "${f}"`);
  }
  for (const k of kv.keys()) if (!['bytes', 'offset', 'oper', 'rvalue', 'result', 'endian', 'string', 'bitmask'].includes(k)) throw new OptionError(`byte_math: unknown option "${k}"`);
  const need = (k: string): string => {
    const x = kv.get(k);
    if (x === undefined) throw new OptionError(`byte_math: "${k}" is required`);
    return x;
  };
  const oper = need('oper') as ByteMathOper;
  if (!OPERS.includes(oper)) throw new OptionError(`byte_math: unknown oper "${oper}"`);
  const str = kv.get('string');
  let stringBase: 8 | 10 | 16 | undefined;
  if (str !== undefined) {
    if (str === 'hex') stringBase = 16;
    else if (str === 'dec') stringBase = 10;
    else if (str === 'oct') stringBase = 8;
    else throw new OptionError(`byte_math: bad string base "${str}"`);
  }
  const endian = kv.get('endian') ?? 'big';
  if (endian === 'dce') throw new Unsupported('byte_math dce');
  if (endian !== 'big' && endian !== 'little') throw new OptionError(`byte_math: bad endian "${endian}"`);
  const count = vars.numOrVar(need('bytes'), 'byte_math bytes', 1, 10);
  if (typeof count === 'number' && stringBase === undefined && count > 8) throw new OptionError('byte_math: more than 8 bytes without string');
  const rvalue = vars.numOrVar(need('rvalue'), 'byte_math rvalue', 0, 0xffffffff);
  const result = need('result');
  const c: ByteMathCondition = {
    kind: 'byte_math',
    count,
    offset: intIn(need('offset'), 'byte_math offset', -65535, 65535),
    relative: flags.includes('relative'),
    endian,
    oper,
    rvalue,
    slot: vars.define(result),
    name: result,
  };
  if (stringBase !== undefined) c.stringBase = stringBase;
  const bm = kv.get('bitmask');
  if (bm !== undefined) c.bitmask = intIn(bm, 'byte_math bitmask', 1, 0xffffffff);
  return c;
}

/** Resolves a number-or-variable against the slots of the current verify. */
export function resolve(n: NumOrVar, slots: Float64Array): number {
  return typeof n === 'number' ? n : slots[n.var]!;
}

/**
 * Reads `count` bytes at `pos` as Suricata's ByteExtractUint64 / ByteExtractStringUint64 do:
 * binary big/little endian, or an ASCII number in `base` (strtoull: leading digits; none = failure).
 */
export function readNumber(data: Uint8Array, length: number, pos: number, count: number, endian: 'big' | 'little', base: 8 | 10 | 16 | undefined): { value: number; used: number } | undefined {
  if (pos < 0 || count < 0 || pos + count > length) return undefined;
  if (base !== undefined) {
    let v = 0;
    let digits = 0;
    for (let i = pos; i < pos + count; i++) {
      const ch = data[i]!;
      let d: number;
      if (ch >= 0x30 && ch <= 0x39) d = ch - 0x30;
      else if (ch >= 0x61 && ch <= 0x66) d = ch - 0x61 + 10;
      else if (ch >= 0x41 && ch <= 0x46) d = ch - 0x41 + 10;
      else break;
      if (d >= base) break;
      v = v * base + d;
      digits++;
    }
    return digits === 0 ? undefined : { value: v, used: count };
  }
  let v = 0;
  if (endian === 'big') for (let i = 0; i < count; i++) v = v * 256 + data[pos + i]!;
  else for (let i = count - 1; i >= 0; i--) v = v * 256 + data[pos + i]!;
  return { value: v, used: count };
}

/** byte_extract at detection pointer `prev`: { value, end } (end = new pointer) or undefined (no match). */
export function evalByteExtract(c: ByteExtractCondition, data: Uint8Array, length: number, prev: number): { value: number; end: number } | undefined {
  const pos = (c.relative ? prev : 0) + c.offset;
  const r = readNumber(data, length, pos, c.count, c.endian, c.stringBase);
  if (r === undefined) return undefined;
  let v = r.value * c.multiplier;
  if (c.align !== 0 && v % c.align !== 0) v += c.align - (v % c.align);
  return { value: v, end: pos + c.count };
}

const U64 = (1n << 64n) - 1n;

/** byte_math at `prev` with the resolved byte count and rvalue; undefined when nothing can be read. */
export function evalByteMath(c: ByteMathCondition, data: Uint8Array, length: number, prev: number, count: number, rvalue: number): { value: number; end: number } | undefined {
  if (length === 0 || count < 1 || count > (c.stringBase === undefined ? 8 : 23)) return undefined;
  let pos: number;
  if (c.relative) {
    pos = prev + c.offset;
    if (length - pos <= 0) return undefined; // no relative base left
  } else pos = c.offset;
  const r = readNumber(data, length, pos, count, c.endian, c.stringBase);
  if (r === undefined) return undefined;
  // uint64 arithmetic like Suricata (a subtraction below zero wraps).
  let v = BigInt(r.value);
  const rv = BigInt(Math.trunc(rvalue));
  switch (c.oper) {
    case '+':
      v = (v + rv) & U64;
      break;
    case '-':
      v = (v - rv) & U64;
      break;
    case '*':
      v = (v * rv) & U64;
      break;
    case '/':
      if (rv === 0n) return undefined; // Suricata refuses a division by zero at run time
      v = v / rv;
      break;
    case '<<':
      v = rv >= 64n ? 0n : (v << rv) & U64;
      break;
    case '>>':
      v = rv >= 64n ? 0n : v >> rv;
      break;
  }
  if (c.bitmask !== undefined) {
    let mask = c.bitmask;
    v &= BigInt(mask);
    if (v !== 0n) {
      while (mask !== 0 && (mask & 1) === 0) {
        mask >>>= 1;
        v >>= 1n;
      }
    }
  }
  return { value: Number(v), end: pos + count };
}

/**
 * Wraps a positional keyword parser so that the listed fields may name a variable: the name is
 * replaced by `placeholder` for the number parser and its slot returned by field index.
 */
function substituteVars(v: string, fields: readonly number[], vars: RuleVars, what: string, placeholder: string): { text: string; slots: Map<number, number> } {
  const parts = v.split(',');
  const slots = new Map<number, number>();
  for (const f of fields) {
    const raw = parts[f];
    if (raw === undefined) continue;
    let t = raw.trim();
    let neg = '';
    if (f === 0 && what === 'isdataat' && t.startsWith('!')) {
      neg = '!';
      t = t.slice(1).trim();
    }
    if (!/^[A-Za-z_][\w-]*$/.test(t)) continue;
    const s = vars.lookup(t);
    if (s === undefined) throw new OptionError(`${what}: unknown variable "${t}"`);
    slots.set(f, s);
    parts[f] = neg + placeholder;
  }
  return { text: parts.join(','), slots };
}

/** byte_test with variables for count (field 0), value (2) and offset (3). */
export function withByteTestVars<T extends { countVar?: number; valueVar?: number; offsetVar?: number }>(v: string, vars: RuleVars, parse: (text: string) => T): T {
  const { text, slots } = substituteVars(v, [0, 2, 3], vars, 'byte_test', '1');
  const c = parse(text);
  const cv = slots.get(0);
  const vv = slots.get(2);
  const ov = slots.get(3);
  if (cv !== undefined) c.countVar = cv;
  if (vv !== undefined) c.valueVar = vv;
  if (ov !== undefined) c.offsetVar = ov;
  return c;
}

/** byte_jump with variables for count (field 0) and offset (1). */
export function withByteJumpVars<T extends { countVar?: number; offsetVar?: number }>(v: string, vars: RuleVars, parse: (text: string) => T): T {
  const { text, slots } = substituteVars(v, [0, 1], vars, 'byte_jump', '1');
  const c = parse(text);
  const cv = slots.get(0);
  const ov = slots.get(1);
  if (cv !== undefined) c.countVar = cv;
  if (ov !== undefined) c.offsetVar = ov;
  return c;
}

/** isdataat with a variable offset. */
export function withIsDataAtVars<T extends { offsetVar?: number }>(v: string, vars: RuleVars, parse: (text: string) => T): T {
  const { text, slots } = substituteVars(v, [0], vars, 'isdataat', '0');
  const c = parse(text);
  const ov = slots.get(0);
  if (ov !== undefined) c.offsetVar = ov;
  return c;
}
