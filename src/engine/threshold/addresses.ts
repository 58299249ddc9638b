/**
 * The `ip` of a threshold.config suppress entry, in Suricata's address syntax: an address, a CIDR
 * (host bits are masked, as Suricata does), a range `A-B`, `any`, `$VAR` (from databases.vars),
 * `!X`, and bracket lists `[A, !B, [C, D]]` nested. A list is the union of its positive items
 * minus its negated ones; a list of only negated items is everything but them.
 */
import { isIP } from 'node:net';
import { cidrRange, parseCidr, type Range } from '../../blocklist/address.js';
import { splitTopLevel } from '../../signatures/ports.js';
import type { AddressMatcher } from './types.js';

export class AddressSyntaxError extends Error {}

type Node = { kind: 'any' } | { kind: 'range'; range: Range } | { kind: 'not'; inner: Node } | { kind: 'list'; items: Node[] };

/** Bounds: a list this long or variables nested this deep are refused (a typo, or a loop). */
export const MAX_ADDRESS_ITEMS = 10_000;
const MAX_VAR_DEPTH = 16;

function splitTop(s: string, whole: string): string[] {
  const parts = splitTopLevel(s);
  if (parts === undefined) throw new AddressSyntaxError(`unbalanced brackets in "${whole}"`);
  return parts;
}

function single(text: string, whole: string): Range {
  try {
    return cidrRange(parseCidr(text, { clearHostBits: true }));
  } catch {
    throw new AddressSyntaxError(`"${text}" is not an address, CIDR or range (in "${whole}")`);
  }
}

function parse(e: string, vars: Record<string, string>, whole: string, depth: number, count: { n: number }): Node {
  if (depth > MAX_VAR_DEPTH) throw new AddressSyntaxError(`address variables nest too deeply in "${whole}"`);
  if (++count.n > MAX_ADDRESS_ITEMS) throw new AddressSyntaxError(`more than ${MAX_ADDRESS_ITEMS} items in "${whole.slice(0, 60)}…"`);
  if (e === '') throw new AddressSyntaxError(`empty address in "${whole}"`);
  if (e.startsWith('!')) return { kind: 'not', inner: parse(e.slice(1).trim(), vars, whole, depth, count) };
  if (e.startsWith('[')) {
    if (!e.endsWith(']')) throw new AddressSyntaxError(`unbalanced brackets in "${whole}"`);
    return { kind: 'list', items: splitTop(e.slice(1, -1), whole).map((p) => parse(p, vars, whole, depth, count)) };
  }
  if (e.startsWith('$')) {
    const val = vars[e.slice(1)];
    if (val === undefined) throw new AddressSyntaxError(`undefined address variable ${e} (databases.vars)`);
    return parse(val.trim(), vars, whole, depth + 1, count);
  }
  if (e === 'any') return { kind: 'any' };
  const dash = e.indexOf('-');
  if (dash > 0 && !e.includes('/')) {
    const a = single(e.slice(0, dash).trim(), whole);
    const b = single(e.slice(dash + 1).trim(), whole);
    if (a.family !== b.family || a.first > b.last) throw new AddressSyntaxError(`bad range "${e}" in "${whole}"`);
    return { kind: 'range', range: { family: a.family, first: a.first, last: b.last } };
  }
  return { kind: 'range', range: single(e, whole) };
}

function matches(n: Node, family: 4 | 6, v: bigint): boolean {
  switch (n.kind) {
    case 'any':
      return true;
    case 'range':
      return n.range.family === family && v >= n.range.first && v <= n.range.last;
    case 'not':
      return !matches(n.inner, family, v);
    case 'list': {
      let positives = 0;
      let hit = false;
      for (const it of n.items) {
        if (it.kind === 'not') {
          if (matches(it.inner, family, v)) return false;
        } else {
          positives++;
          if (!hit && matches(it, family, v)) hit = true;
        }
      }
      return positives === 0 || hit;
    }
  }
}

/** The numeric value of a textual address, or undefined when it is none. */
function addressValue(address: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIP(address) === 0) return undefined;
  const c = parseCidr(address, { clearHostBits: true });
  return { family: c.family, value: c.base };
}

/** Parses an address expression; throws AddressSyntaxError with the reason. */
export function parseAddressMatcher(text: string, vars: Record<string, string>): AddressMatcher {
  const root = parse(text.trim(), vars, text.trim(), 0, { n: 0 });
  return {
    text: text.trim(),
    has(address: string): boolean {
      const a = addressValue(address);
      return a !== undefined && matches(root, a.family, a.value);
    },
  };
}
