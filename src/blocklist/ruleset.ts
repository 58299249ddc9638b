/**
 * nftables JSON batches for `table inet bulwark` (pure: builds commands, never runs nft).
 *
 * Install rules (also docs/nftables.md):
 *  - `add table/set/chain` are idempotent, so installing over an existing table keeps every
 *    blocked element, the operator's `bypass` chain and the isolation chains/sets untouched;
 *  - only the base chains input/forward/output (owned here) are flushed and refilled, in the
 *    same transaction, so there is no instant without the rules;
 *  - allow4/allow6 (the never-block list) are owned here too and are flushed and refilled;
 *  - nothing outside the table is ever touched and there is no `flush ruleset`.
 */
import { cidrRange, formatAddress, isHostAddress, parseCidr, rangeAsCidr, type Range } from './address.js';
import { TABLE_FAMILY, TABLE_NAME, type NftCommand } from './types.js';

export const SET_BLOCKED4 = 'blocked4';
export const SET_BLOCKED6 = 'blocked6';
export const SET_ALLOW4 = 'allow4';
export const SET_ALLOW6 = 'allow6';
export const CHAIN_BYPASS = 'bypass';
/** Regular chains owned by src/isolation; created empty here and jumped to last from each base chain. */
export const ISO_CHAINS = { input: 'iso_in', output: 'iso_out', forward: 'iso_fwd' } as const;
export const BASE_CHAINS = ['input', 'forward', 'output'] as const;
export type BaseChain = (typeof BASE_CHAINS)[number];
/** `filter - 10`: before the usual filter tables, so a later accept elsewhere cannot undo a block. */
export const BASE_PRIORITY = -10;

export function blockedSet(family: 4 | 6): string {
  return family === 4 ? SET_BLOCKED4 : SET_BLOCKED6;
}
export function allowSet(family: 4 | 6): string {
  return family === 4 ? SET_ALLOW4 : SET_ALLOW6;
}

export interface InstallOptions {
  /** Default element timeout of blocked4/blocked6 (config blockDurationMs). */
  defaultTimeoutMs: number;
  /** Never-block ranges (any overlap allowed: they are merged here). Undefined: allow sets are left as they are. */
  allow?: Range[];
}

const T = { family: TABLE_FAMILY, table: TABLE_NAME } as const;

function secs(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** nft JSON value of one address, CIDR or range. */
export function elementValue(r: Range): unknown {
  const c = rangeAsCidr(r);
  if (c) {
    const addr = formatAddress(c.family, c.base);
    return c.prefix === (c.family === 4 ? 32 : 128) ? addr : { prefix: { addr, len: c.prefix } };
  }
  return { range: [formatAddress(r.family, r.first), formatAddress(r.family, r.last)] };
}

/** nft JSON value of a normalised address or CIDR string. */
export function addressValue(address: string): unknown {
  if (isHostAddress(address)) return address;
  return elementValue(cidrRange(parseCidr(address)));
}

function match(left: unknown, right: unknown, op: '==' | '!=' = '=='): NftCommand {
  return { match: { op, left, right } };
}
const payload = (protocol: 'ip' | 'ip6', field: 'saddr' | 'daddr'): unknown => ({ payload: { protocol, field } });

/** `ip saddr @blocked4 ip saddr != @allow4 drop` and its v6 twin. */
function blockRules(chain: BaseChain, field: 'saddr' | 'daddr'): NftCommand[] {
  return ([4, 6] as const).map((f) => {
    const proto = f === 4 ? 'ip' : 'ip6';
    return {
      add: {
        rule: {
          ...T,
          chain,
          comment: `bulwark: blocked ${field === 'saddr' ? 'source' : 'destination'} v${f}`,
          expr: [match(payload(proto, field), `@${blockedSet(f)}`), match(payload(proto, field), `@${allowSet(f)}`, '!='), { drop: null }],
        },
      },
    };
  });
}

function rule(chain: string, expr: unknown[]): NftCommand {
  return { add: { rule: { ...T, chain, expr } } };
}

/** The rules of one base chain, in order: lo accept → jump bypass → (output: RST goto iso_out) → blocked drop → jump iso_*. */
export function baseChainRules(chain: BaseChain): NftCommand[] {
  const out: NftCommand[] = [];
  if (chain === 'input') out.push(rule(chain, [match({ meta: { key: 'iif' } }, 'lo'), { accept: null }]));
  if (chain === 'output') out.push(rule(chain, [match({ meta: { key: 'oif' } }, 'lo'), { accept: null }]));
  out.push(rule(chain, [{ jump: { target: CHAIN_BYPASS } }]));
  // Our own RSTs skip the blocked drop (but not isolation): severing a blocked attacker's
  // connections with ss -K only closes its end if the RST leaves (see the isolation findings).
  if (chain === 'output') {
    out.push(rule(chain, [match({ '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, 'rst'] }, 'rst'), { goto: { target: ISO_CHAINS[chain] } }]));
  }
  if (chain === 'input' || chain === 'forward') out.push(...blockRules(chain, 'saddr'));
  if (chain === 'output' || chain === 'forward') out.push(...blockRules(chain, 'daddr'));
  out.push(rule(chain, [{ jump: { target: ISO_CHAINS[chain] } }]));
  return out;
}

/** Commands that replace the contents of allow4/allow6 with the (merged) ranges. */
export function allowSetCommands(ranges: Range[]): NftCommand[] {
  const out: NftCommand[] = [];
  for (const f of [4, 6] as const) {
    const name = allowSet(f);
    out.push({ flush: { set: { ...T, name } } });
    const elem = ranges.filter((r) => r.family === f).map(elementValue);
    if (elem.length > 0) out.push({ add: { element: { ...T, name, elem } } });
  }
  return out;
}

/**
 * The install batch: idempotent, atomic, keeps blocked elements, the bypass chain and the
 * isolation chains/sets. src/isolation may prepend/append its own commands to the same array.
 */
export function buildInstallBatch(opts: InstallOptions): NftCommand[] {
  const timeout = secs(opts.defaultTimeoutMs);
  const cmds: NftCommand[] = [{ add: { table: { family: TABLE_FAMILY, name: TABLE_NAME } } }];
  for (const f of [4, 6] as const) {
    const type = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
    cmds.push({ add: { set: { ...T, name: blockedSet(f), type, flags: ['interval', 'timeout'], timeout } } });
    cmds.push({ add: { set: { ...T, name: allowSet(f), type, flags: ['interval'] } } });
  }
  cmds.push({ add: { chain: { ...T, name: CHAIN_BYPASS } } });
  for (const c of BASE_CHAINS) cmds.push({ add: { chain: { ...T, name: ISO_CHAINS[c] } } });
  for (const c of BASE_CHAINS) {
    cmds.push({ add: { chain: { ...T, name: c, type: 'filter', hook: c, prio: BASE_PRIORITY, policy: 'accept' } } });
    cmds.push({ flush: { chain: { ...T, name: c } } });
    cmds.push(...baseChainRules(c));
  }
  if (opts.allow) cmds.push(...allowSetCommands(opts.allow));
  return cmds;
}

export interface ElementSpec {
  /** Normalised address or CIDR. */
  address: string;
  family: 4 | 6;
  /** Remaining lifetime (ms); the kernel expires the element after it. */
  timeoutMs?: number;
}

/** One `add element` per family for many addresses (never one command per address). */
export function addElementsCommands(elems: ElementSpec[]): NftCommand[] {
  const out: NftCommand[] = [];
  for (const f of [4, 6] as const) {
    const elem = elems
      .filter((e) => e.family === f)
      .map((e) => (e.timeoutMs === undefined ? addressValue(e.address) : { elem: { val: addressValue(e.address), timeout: secs(e.timeoutMs) } }));
    if (elem.length > 0) out.push({ add: { element: { ...T, name: blockedSet(f), elem } } });
  }
  return out;
}

export function deleteElementsCommands(elems: Pick<ElementSpec, 'address' | 'family'>[]): NftCommand[] {
  const out: NftCommand[] = [];
  for (const f of [4, 6] as const) {
    const elem = elems.filter((e) => e.family === f).map((e) => addressValue(e.address));
    if (elem.length > 0) out.push({ delete: { element: { ...T, name: blockedSet(f), elem } } });
  }
  return out;
}

/**
 * Changing an element's timeout portably: add (no-op if present) → delete → add with the new
 * timeout, all in one transaction, so it works whether or not the kernel still holds the element
 * (it may have expired it a moment before our model did) and on kernels without timeout update.
 */
export function replaceElementsCommands(elems: ElementSpec[]): NftCommand[] {
  return [...addElementsCommands(elems.map((e) => ({ address: e.address, family: e.family }))), ...deleteElementsCommands(elems), ...addElementsCommands(elems)];
}
