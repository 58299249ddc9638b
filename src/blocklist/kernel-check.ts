/**
 * What the kernel holds of the blocklist's part of `table inet bulwark`, read cheaply, and how it
 * differs from what it should hold (pure: parses nft output, builds probe scripts).
 *
 * Costs with 100,000 blocks (nft 1.0.6, docs/nftables.md): `nft -j -t list ruleset` (tables, sets,
 * chains and rules, no elements) ~10 ms; `nft -j list set` of a small set ~4 ms; a probe
 * transaction ~10 ms; listing blocked4 or the whole table ~0.3-1 s (nft fetches every element),
 * so the periodic check never lists the big sets: their contents are vouched for by a canary
 * element, and a rare full compare (kernel-sync.ts) lists them.
 */
import { cidrRange, normalizeAddress, parseCidr, mergeRanges, type Range } from './address.js';
import {
  BASE_CHAINS,
  BLOCKLIST_SETS,
  CHAIN_BYPASS,
  ISO_CHAINS,
  SET_ALLOW4,
  SET_ALLOW6,
  SET_BLOCKED4,
  SET_BLOCKED6,
  SET_BLOCKEDNET4,
  SET_BLOCKEDNET6,
  baseChainComments,
  blockedSet,
  canary,
} from './ruleset.js';
import { TABLE_FAMILY, TABLE_NAME, type NftListOutput } from './types.js';

export interface KernelLayout {
  table: boolean;
  /** Our table's sets → their flags. */
  sets: Map<string, string[]>;
  /** Our table's chains → the comments of their rules in order ("" for a rule without one). */
  chains: Map<string, string[]>;
}

function ours(o: { family?: unknown; table?: unknown } | undefined): boolean {
  return o?.family === TABLE_FAMILY && o.table === TABLE_NAME;
}

/** Reads `nft -j -t list ruleset` (or any listing of the table without elements). */
export function parseLayout(out: NftListOutput): KernelLayout {
  const l: KernelLayout = { table: false, sets: new Map(), chains: new Map() };
  for (const item of out.nftables) {
    const t = item.table as { family?: unknown; name?: unknown } | undefined;
    if (t?.family === TABLE_FAMILY && t.name === TABLE_NAME) l.table = true;
    const s = item.set as { family?: unknown; table?: unknown; name?: unknown; flags?: unknown } | undefined;
    if (ours(s) && typeof s?.name === 'string') l.sets.set(s.name, Array.isArray(s.flags) ? s.flags.filter((f): f is string => typeof f === 'string') : []);
    const c = item.chain as { family?: unknown; table?: unknown; name?: unknown } | undefined;
    if (ours(c) && typeof c?.name === 'string' && !l.chains.has(c.name)) l.chains.set(c.name, []);
    const r = item.rule as { family?: unknown; table?: unknown; chain?: unknown; comment?: unknown } | undefined;
    if (ours(r) && typeof r?.chain === 'string') {
      let list = l.chains.get(r.chain);
      if (!list) l.chains.set(r.chain, (list = []));
      list.push(typeof r.comment === 'string' ? r.comment : '');
    }
  }
  return l;
}

/** blocked4/blocked6 of the previous layout (one interval set for addresses and CIDRs): to be migrated. */
export function isOldLayout(l: KernelLayout): boolean {
  return [SET_BLOCKED4, SET_BLOCKED6].some((n) => l.sets.get(n)?.includes('interval') === true);
}

export interface LayoutProblems {
  /** Objects missing (everything when the table is gone): re-create with every block. */
  missing: string[];
  /** Base chains whose rules differ from ours (flushed, edited, rules inserted): re-install them. */
  chains: string[];
  oldLayout: boolean;
}

export function layoutProblems(l: KernelLayout): LayoutProblems {
  const missing: string[] = [];
  if (!l.table) missing.push('table');
  else {
    for (const s of BLOCKLIST_SETS) if (!l.sets.has(s)) missing.push(`set ${s}`);
    for (const c of [CHAIN_BYPASS, ...BASE_CHAINS, ...Object.values(ISO_CHAINS)]) if (!l.chains.has(c)) missing.push(`chain ${c}`);
  }
  const chains: string[] = [];
  for (const c of BASE_CHAINS) {
    const have = l.chains.get(c);
    if (have !== undefined && have.join('\n') !== baseChainComments(c).join('\n')) chains.push(c);
  }
  return { missing, chains, oldLayout: isOldLayout(l) };
}

/**
 * A probe for the canaries of blocked4/blocked6 (ruleset.ts). Line 1 always fails while the table
 * exists (and if it does not, lines 2-3 fail): the batch never commits. Line 2/3 is refused with
 * "File exists" exactly when that canary is present.
 */
export function canaryProbeScript(): string {
  return [
    `create table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `create element ${TABLE_FAMILY} ${TABLE_NAME} ${blockedSet(4)} { ${canary(4)} }`,
    `create element ${TABLE_FAMILY} ${TABLE_NAME} ${blockedSet(6)} { ${canary(6)} }`,
  ].join('\n') + '\n';
}

/** Families whose canary is gone, from the probe's refused lines. */
export function missingCanaries(refused: Map<number, string>): (4 | 6)[] {
  const out: (4 | 6)[] = [];
  if (!/exists/i.test(refused.get(2) ?? '')) out.push(4);
  if (!/exists/i.test(refused.get(3) ?? '')) out.push(6);
  return out;
}

/** The address range of one element value of an nft set listing (string, prefix or range). */
export function elementRange(val: unknown): Range | undefined {
  try {
    if (typeof val === 'string') return cidrRange(parseCidr(val));
    if (typeof val === 'object' && val !== null) {
      if ('prefix' in val) {
        const p = (val as { prefix: { addr: string; len: number } }).prefix;
        return cidrRange(parseCidr(`${p.addr}/${p.len}`));
      }
      if ('range' in val) {
        const [a, b] = (val as { range: [string, string] }).range;
        const first = cidrRange(parseCidr(a));
        const last = cidrRange(parseCidr(b));
        if (first.family !== last.family) return undefined;
        return { family: first.family, first: first.first, last: last.last };
      }
    }
  } catch {
    /* not an address we can read */
  }
  return undefined;
}

function rawValues(out: NftListOutput, setName: string): unknown[] {
  const vals: unknown[] = [];
  for (const item of out.nftables) {
    const s = item.set as { name?: string; elem?: unknown[] } | undefined;
    if (s?.name !== setName || !s.elem) continue;
    for (const raw of s.elem) vals.push(typeof raw === 'object' && raw !== null && 'elem' in raw ? (raw as { elem: { val: unknown } }).elem.val : raw);
  }
  return vals;
}

/** True when an allow set's listing covers exactly the given (merged) ranges of its family. */
export function allowSetMatches(out: NftListOutput, family: 4 | 6, want: Range[]): boolean {
  const name = family === 4 ? SET_ALLOW4 : SET_ALLOW6;
  const have: Range[] = [];
  for (const v of rawValues(out, name)) {
    const r = elementRange(v);
    if (!r) return false;
    have.push(r);
  }
  const a = mergeRanges(have);
  const b = mergeRanges(want.filter((r) => r.family === family));
  return a.length === b.length && a.every((r, i) => r.first === b[i]!.first && r.last === b[i]!.last);
}

export interface KernelElement {
  address: string;
  family: 4 | 6;
  /** Seconds left as reported by the kernel; undefined = no timeout. */
  expiresSec: number | undefined;
}

const SET_FAMILY: Record<string, 4 | 6> = { [SET_BLOCKED4]: 4, [SET_BLOCKED6]: 6, [SET_BLOCKEDNET4]: 4, [SET_BLOCKEDNET6]: 6 };

/**
 * Blocked elements of `nft -j list set|table` output as normalised addresses / CIDR strings,
 * from the four blocked sets (old layout: blocked4/blocked6 hold CIDRs too). The canaries are not
 * blocks and are left out. With `family`, every set in the output counts as that family.
 */
export function parseKernelElements(out: NftListOutput, family?: 4 | 6): KernelElement[] {
  const res: KernelElement[] = [];
  for (const item of out.nftables) {
    const set = item.set as { name?: string; elem?: unknown[] } | undefined;
    if (!set?.elem) continue;
    const fam = family ?? (set.name === undefined ? undefined : SET_FAMILY[set.name]);
    if (fam === undefined) continue;
    for (const raw of set.elem) {
      let val: unknown = raw;
      let expiresSec: number | undefined;
      if (typeof raw === 'object' && raw !== null && 'elem' in raw) {
        const e = (raw as { elem: { val: unknown; expires?: number } }).elem;
        val = e.val;
        expiresSec = typeof e.expires === 'number' ? e.expires : undefined;
      }
      let address: string | undefined;
      if (typeof val === 'string') address = val;
      else if (typeof val === 'object' && val !== null && 'prefix' in val) {
        const p = (val as { prefix: { addr: string; len: number } }).prefix;
        address = `${p.addr}/${p.len}`;
      }
      // Ranges are never written by bulwark; an operator's range element is left alone.
      if (address === undefined) continue;
      try {
        const a = normalizeAddress(address);
        if (a === canary(fam)) continue;
        res.push({ address: a, family: fam, expiresSec });
      } catch {
        /* not ours to interpret */
      }
    }
  }
  return res;
}
