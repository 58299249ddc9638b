/**
 * Suricata rule header addresses (detect-engine-address.c): `any`, an address, a CIDR, an IPv4
 * range `a-b`, `$VAR`, lists `[…]` (nested), and negation `!x` / `![…]`. Parsed once into plain
 * ranges (structured-cloneable: rulesets travel from the compile worker) and matched per packet.
 *
 * Semantics as Suricata's: a packet address matches when it lies in one of the positive entries
 * (none written = every address) and in none of the negated ones; a family with no entry at all
 * (a rule on IPv4 networks only) never matches the other family.
 */
/** A header address Suricata would refuse (the rule is then an invalid rule). */
export class AddressError extends Error {}
const RuleError = AddressError;

/** Inclusive IPv4 range as unsigned 32-bit numbers. */
export type Range4 = [number, number];
/** Inclusive IPv6 range as 32 hex digits each (fixed width: compares as text). */
export type Range6 = [string, string];

export interface AddressMatch {
  /** Positive entries; null = every address of that family (only negations were written). */
  pos4: Range4[] | null;
  pos6: Range6[] | null;
  neg4: Range4[];
  neg6: Range6[];
}

/** Nesting and size bounds: a header is a few entries; a variable cycle must not recurse forever. */
const MAX_DEPTH = 16;
const MAX_ENTRIES = 4096;

interface Item {
  negated: boolean;
  v4?: Range4;
  v6?: Range6;
  any?: true;
}

/**
 * Parses a header address. Returns null for `any` (no constraint). `vars` resolves `$NAME`
 * (without the `$`). Throws RuleError on syntax errors and undefined variables.
 */
export function parseAddressSpec(text: string, vars: Record<string, string>): AddressMatch | null {
  const items: Item[] = [];
  expand(text.trim(), vars, false, 0, items);
  const m: AddressMatch = { pos4: [], pos6: [], neg4: [], neg6: [] };
  let anyPos = false;
  let anyNeg = false;
  for (const it of items) {
    if (it.any === true) {
      if (it.negated) anyNeg = true;
      else anyPos = true;
    } else if (it.v4 !== undefined) (it.negated ? m.neg4 : m.pos4!).push(it.v4);
    else if (it.v6 !== undefined) (it.negated ? m.neg6 : m.pos6!).push(it.v6);
  }
  // Suricata refuses `!any` (it would match nothing).
  if (anyNeg) throw new RuleError(`address "${text}" negates any`);
  if (anyPos && m.neg4.length === 0 && m.neg6.length === 0) return null;
  const onlyNeg = m.pos4!.length === 0 && m.pos6!.length === 0;
  if (anyPos || onlyNeg) {
    m.pos4 = null;
    m.pos6 = null;
  }
  return m;
}

/** True when the header names a negated address (Suricata: the rule is then "like IP-only"). */
export function hasNegation(m: AddressMatch | null): boolean {
  return m !== null && (m.neg4.length > 0 || m.neg6.length > 0 || m.pos4 === null);
}

function expand(text: string, vars: Record<string, string>, negated: boolean, depth: number, out: Item[]): void {
  if (depth > MAX_DEPTH) throw new RuleError(`address "${text}": variables or lists nested too deep`);
  if (out.length > MAX_ENTRIES) throw new RuleError('address list too long');
  let t = text.trim();
  while (t.startsWith('!')) {
    negated = !negated;
    t = t.slice(1).trim();
  }
  if (t === '') throw new RuleError('empty address');
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new RuleError(`address list "${text}" is not closed`);
    for (const part of splitList(t.slice(1, -1))) expand(part, vars, negated, depth + 1, out);
    return;
  }
  if (t.startsWith('$')) {
    const v = vars[t.slice(1)];
    if (v === undefined) throw new RuleError(`undefined address variable ${t}`);
    expand(v, vars, negated, depth + 1, out);
    return;
  }
  if (t.toLowerCase() === 'any') {
    out.push({ negated, any: true });
    return;
  }
  out.push({ negated, ...parseOne(t) });
}

/** Splits a list body at top-level commas. */
function splitList(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of body) {
    if (c === '[') depth++;
    else if (c === ']') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (depth !== 0) throw new RuleError(`address list "[${body}]" is not balanced`);
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseOne(t: string): { v4: Range4 } | { v6: Range6 } {
  const dash = t.indexOf('-');
  if (dash > 0 && !t.includes(':')) {
    const a = parse4(t.slice(0, dash).trim(), t);
    const b = parse4(t.slice(dash + 1).trim(), t);
    if (b < a) throw new RuleError(`address range "${t}" is reversed`);
    return { v4: [a, b] };
  }
  const slash = t.indexOf('/');
  const host = slash < 0 ? t : t.slice(0, slash);
  const lenText = slash < 0 ? undefined : t.slice(slash + 1);
  if (host.includes(':')) {
    const bits = parse6(host, t);
    const len = lenText === undefined ? 128 : prefix(lenText, 128, t);
    return { v6: range6(bits, len) };
  }
  const a = parse4(host, t);
  let len = 32;
  if (lenText !== undefined) {
    // Suricata also takes a dotted netmask (1.2.3.0/255.255.255.0).
    if (lenText.includes('.')) {
      const mask = parse4(lenText, t);
      len = maskLength(mask, t);
    } else len = prefix(lenText, 32, t);
  }
  const size = len === 0 ? 0x1_0000_0000 : 2 ** (32 - len);
  const base = len === 0 ? 0 : a - (a % size);
  return { v4: [base, base + size - 1] };
}

function maskLength(mask: number, t: string): number {
  let len = 0;
  while (len < 32 && (mask & (0x8000_0000 >>> len)) !== 0) len++;
  if (((mask << len) >>> 0) !== 0 && len < 32) throw new RuleError(`address "${t}": netmask is not contiguous`);
  return len;
}

function prefix(s: string, max: number, t: string): number {
  if (!/^[0-9]{1,3}$/.test(s)) throw new RuleError(`address "${t}": bad prefix length`);
  const n = Number(s);
  if (n > max) throw new RuleError(`address "${t}": prefix length over ${max}`);
  return n;
}

function parse4(s: string, t: string): number {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(s);
  if (m === null) throw new RuleError(`bad address "${t}"`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new RuleError(`bad address "${t}"`);
    v = v * 256 + o;
  }
  return v;
}

/** IPv6 text → 32 hex digits (IPv4-embedded tails included). */
function parse6(s: string, t: string): string {
  let text = s;
  const tail4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail4 !== null) {
    const v = parse4(tail4[1]!, t);
    text = text.slice(0, tail4.index + 1) + ((v >>> 16) & 0xffff).toString(16) + ':' + (v & 0xffff).toString(16);
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new RuleError(`bad address "${t}"`);
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) throw new RuleError(`bad address "${t}"`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  let out = '';
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new RuleError(`bad address "${t}"`);
    out += g.toLowerCase().padStart(4, '0');
  }
  return out;
}

function range6(hex: string, len: number): Range6 {
  // Per bit over the hex digits: clear (low end) or set (high end) the host bits.
  let lo = '';
  let hi = '';
  for (let i = 0; i < 32; i++) {
    const d = parseInt(hex[i]!, 16);
    const netBits = Math.max(0, Math.min(4, len - i * 4));
    const keep = netBits === 0 ? 0 : (0xf << (4 - netBits)) & 0xf;
    lo += (d & keep).toString(16);
    hi += ((d & keep) | (~keep & 0xf)).toString(16);
  }
  return [lo, hi];
}

function in4(rs: readonly Range4[], a: number): boolean {
  for (const r of rs) if (a >= r[0] && a <= r[1]) return true;
  return false;
}

function in6(rs: readonly Range6[], a: string): boolean {
  for (const r of rs) if (a >= r[0] && a <= r[1]) return true;
  return false;
}

/** Does the IPv4 address (unsigned 32-bit) match? `m` null = any. */
export function matchAddr4(m: AddressMatch | null, a: number): boolean {
  if (m === null) return true;
  if (m.pos4 === null) {
    // only negations: every IPv4 address except them (IPv6-only negations leave IPv4 open)
    return !in4(m.neg4, a);
  }
  return in4(m.pos4, a) && !in4(m.neg4, a);
}

/** Does the IPv6 address (16 bytes of `buf` at `off`) match? `m` null = any. */
export function matchAddr6(m: AddressMatch | null, buf: Uint8Array, off: number): boolean {
  if (m === null) return true;
  let hex = '';
  for (let i = 0; i < 16; i++) hex += buf[off + i]!.toString(16).padStart(2, '0');
  if (m.pos6 === null) return !in6(m.neg6, hex);
  return in6(m.pos6, hex) && !in6(m.neg6, hex);
}
