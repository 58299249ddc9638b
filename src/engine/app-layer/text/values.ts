/**
 * Keyword value syntaxes shared by the protocol keywords of this stage, as Suricata parses them
 * (rust/src/detect/uint.rs `detect_parse_uint`, and the yes/no booleans).
 */

/** A parsed unsigned-integer comparison (Suricata `DetectUintData`). */
export type UintMatch =
  | { readonly op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; readonly a: number }
  | { readonly op: 'range' | 'notrange'; readonly a: number; readonly b: number };

function num(s: string, max: number, what: string): number {
  const t = s.trim();
  if (!/^(?:0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new Error(`${what}: invalid number "${s}"`);
  const v = Number(t);
  if (!Number.isSafeInteger(v) || v > max) throw new Error(`${what}: ${t} out of range 0-${max}`);
  return v;
}

/**
 * Suricata's unsigned-integer syntax: `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`, `>N`, `>=N`,
 * `N-M` and `N<>M` (exclusive range: N < x < M), `!N-M` (outside). Throws with a reason.
 */
export function parseUint(value: string | null, max: number, what: string): UintMatch {
  if (value === null || value.trim() === '') throw new Error(`${what}: value required`);
  const v = value.trim();
  const range = /^(!?)\s*([0-9a-fx]+)\s*(?:-|<>)\s*([0-9a-fx]+)$/i.exec(v);
  if (range) {
    const a = num(range[2]!, max, what);
    const b = num(range[3]!, max, what);
    if (a >= b) throw new Error(`${what}: empty range ${v}`);
    return { op: range[1] === '!' ? 'notrange' : 'range', a, b };
  }
  const m = /^(<=|>=|!=|<|>|=|!)?\s*(.+)$/.exec(v);
  const ops: Record<string, 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'> = { '': 'eq', '=': 'eq', '!': 'ne', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' };
  const op = ops[m?.[1] ?? '']!;
  const a = num(m?.[2] ?? '', max, what);
  if ((op === 'lt' && a === 0) || (op === 'gt' && a === max)) throw new Error(`${what}: ${v} can never match`);
  return { op, a };
}

export function matchUint(m: UintMatch, x: number): boolean {
  switch (m.op) {
    case 'eq': return x === m.a;
    case 'ne': return x !== m.a;
    case 'lt': return x < m.a;
    case 'le': return x <= m.a;
    case 'gt': return x > m.a;
    case 'ge': return x >= m.a;
    case 'range': return x > m.a && x < m.b;
    case 'notrange': return x <= m.a || x >= m.b;
  }
}

/** `yes|on|true|no|off|false` (Suricata's boolean keyword values, unquoted). */
export function parseYesNo(value: string | null, what: string): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (v === 'yes' || v === 'on' || v === 'true') return true;
  if (v === 'no' || v === 'off' || v === 'false') return false;
  throw new Error(`${what}: expected yes|on|no|off, got "${value ?? ''}"`);
}

/** A keyword that takes no value (`ftpbounce`). */
export function parseNoValue(value: string | null, what: string): true {
  if (value !== null && value.trim() !== '') throw new Error(`${what} takes no value`);
  return true;
}
