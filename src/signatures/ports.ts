/**
 * Port sets: Suricata port expressions (`any`, `80`, `1024:`, `[80,443,!8080]`, `$HTTP_PORTS`)
 * and the YAML form (`[80, "8000-8100"]`), parsed to a symbolic PortSpec and resolved to ranges
 * once the set that `any` stands for is known (config databases.anyPorts, default: the union of
 * the other rules' ports). `any` never means all 65,535 ports: bulwark intercepts the ports it
 * inspects, so a wildcard would make it listen everywhere.
 */
import type { PortRange } from './types.js';

export class PortError extends Error {}

export interface PortSpec {
  /** The expression contains `any` (positively). */
  any: boolean;
  include: PortRange[];
  exclude: PortRange[];
}

/** Ranges wider than this are treated like `any` (intersected with the any-port set). */
export const WIDE_RANGE = 1024;

function parsePortNumber(s: string, whole: string): number {
  if (!/^\d+$/.test(s)) throw new PortError(`bad port "${s}" in "${whole}"`);
  const n = Number(s);
  if (n > 65535) throw new PortError(`port ${n} out of range in "${whole}"`);
  return n;
}

/** Splits the inside of a Suricata bracket list at top-level commas (items trimmed); undefined when the brackets do not balance. */
export function splitTopLevel(s: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (depth < 0) return undefined;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) return undefined;
  out.push(cur.trim());
  return out;
}

function splitTop(s: string, whole: string): string[] {
  const parts = splitTopLevel(s);
  if (parts === undefined) throw new PortError(`unbalanced brackets in "${whole}"`);
  return parts;
}

/** Parses a Suricata port expression; variables are looked up in `vars` (without the `$`). */
export function parseSuricataPorts(expr: string, vars: Record<string, string>, depth = 0): PortSpec {
  const spec: PortSpec = { any: false, include: [], exclude: [] };
  add(spec, expr.trim(), false, vars, expr, depth);
  return spec;
}

function add(spec: PortSpec, e: string, negated: boolean, vars: Record<string, string>, whole: string, depth: number): void {
  if (depth > 16) throw new PortError(`port variables nest too deeply in "${whole}"`);
  if (e === '') throw new PortError(`empty port in "${whole}"`);
  if (e.startsWith('!')) {
    if (negated) throw new PortError(`double negation in "${whole}"`);
    add(spec, e.slice(1).trim(), true, vars, whole, depth);
    return;
  }
  if (e.startsWith('[')) {
    if (!e.endsWith(']')) throw new PortError(`unbalanced brackets in "${whole}"`);
    for (const part of splitTop(e.slice(1, -1), whole)) add(spec, part, negated, vars, whole, depth);
    return;
  }
  if (e.startsWith('$')) {
    const name = e.slice(1);
    const val = vars[name];
    if (val === undefined) throw new PortError(`undefined port variable $${name}`);
    add(spec, val.trim(), negated, vars, whole, depth + 1);
    return;
  }
  if (e === 'any') {
    if (negated) throw new PortError(`"!any" matches nothing in "${whole}"`);
    spec.any = true;
    return;
  }
  let range: PortRange;
  const colon = e.indexOf(':');
  if (colon >= 0) {
    const a = e.slice(0, colon).trim();
    const b = e.slice(colon + 1).trim();
    range = { from: a === '' ? 0 : parsePortNumber(a, whole), to: b === '' ? 65535 : parsePortNumber(b, whole) };
    if (range.from > range.to) throw new PortError(`port range ${e} is reversed in "${whole}"`);
  } else {
    const p = parsePortNumber(e, whole);
    range = { from: p, to: p };
  }
  (negated ? spec.exclude : spec.include).push(range);
}

/** YAML `ports:` item: a number, "80", "8000-8100". */
export function parseYamlPort(item: unknown): PortRange {
  if (typeof item === 'number') {
    if (!Number.isInteger(item) || item < 1 || item > 65535) throw new PortError(`port ${item} out of range 1-65535`);
    return { from: item, to: item };
  }
  if (typeof item === 'string') {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!m) throw new PortError(`bad port or range "${item}" (use 8000 or "8000-8100")`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 65535) throw new PortError(`port range "${item}" outside 1-65535`);
    if (from > to) throw new PortError(`port range "${item}" is reversed`);
    return { from, to };
  }
  throw new PortError(`bad port ${JSON.stringify(item)} (use 8000 or "8000-8100")`);
}

/** Sorted, merged, non-overlapping ranges. */
export function normalizeRanges(ranges: readonly PortRange[]): PortRange[] {
  const s = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: PortRange[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}

export function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  let cur = normalizeRanges(a);
  for (const x of normalizeRanges(b)) {
    const next: PortRange[] = [];
    for (const r of cur) {
      if (x.to < r.from || x.from > r.to) next.push(r);
      else {
        if (r.from < x.from) next.push({ from: r.from, to: x.from - 1 });
        if (r.to > x.to) next.push({ from: x.to + 1, to: r.to });
      }
    }
    cur = next;
  }
  return cur;
}

export function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of normalizeRanges(a)) {
    for (const y of normalizeRanges(b)) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  }
  return normalizeRanges(out);
}

/** The explicit (non-any, non-wide) ports of a spec: what contributes to the default any-port set. */
export function concretePorts(spec: PortSpec): PortRange[] {
  return subtractRanges(
    spec.include.filter((r) => r.to - r.from + 1 <= WIDE_RANGE),
    spec.exclude,
  );
}

/** Resolves a spec against the any-port set (normalised ranges). */
export function resolvePorts(spec: PortSpec, anyPorts: readonly PortRange[]): PortRange[] {
  const inc: PortRange[] = [];
  for (const r of spec.include) {
    if (r.to - r.from + 1 > WIDE_RANGE) inc.push(...intersectRanges([r], anyPorts));
    else inc.push(r);
  }
  if (spec.any || (spec.include.length === 0 && spec.exclude.length > 0)) inc.push(...anyPorts);
  return subtractRanges(inc, spec.exclude);
}

export function portCount(ranges: readonly PortRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.to - r.from + 1;
  return n;
}

export function formatRanges(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(',');
}
