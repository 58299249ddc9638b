/**
 * nftables JSON batches for `table inet bulwark` (pure: builds commands, never runs nft).
 *
 * Layout (also docs/nftables.md). Single addresses — nearly every block — live in plain hash sets
 * with timeouts (blocked4/blocked6): nft 1.0.6 loads every element of an *interval* set before any
 * element operation on it, which made one block cost ~0.7-2 s with 100k blocks, while an element
 * operation on a hash set of 100k costs a few ms. The interval sets stay small: CIDR blocks
 * (blockednet4/blockednet6) and the never-block list (allow4/allow6). Each blocked set holds one
 * canary element (CANARY4/CANARY6, special addresses that are also in the allow sets, so never
 * dropped): its absence says the set was flushed or re-created, without listing 100k elements.
 *
 * Install rules:
 *  - `add table/set/chain` are idempotent, so installing over an existing table keeps every
 *    blocked element, the operator's `bypass` chain and the isolation chains/sets untouched;
 *  - only the base chains input/forward/output (owned here) are flushed and refilled, in the
 *    same transaction, so there is no instant without the rules; every rule they hold carries a
 *    `bulwark: …` comment, the check compares chain contents by those comments;
 *  - allow4/allow6 (the never-block list) are owned here too and are flushed and refilled;
 *  - a table of the previous layout (blocked4/blocked6 with flags interval) is migrated in the
 *    same transaction (`migrate`): the base chains are flushed first (they reference the sets),
 *    the two sets deleted and re-created, and the caller adds the old elements back;
 *  - nothing outside the table is ever touched and there is no `flush ruleset`.
 */
import { cidrRange, formatAddress, isHostAddress, parseCidr, rangeAsCidr, type Range } from './address.js';
import { TABLE_FAMILY, TABLE_NAME, type NftCommand } from './types.js';

export const SET_BLOCKED4 = 'blocked4';
export const SET_BLOCKED6 = 'blocked6';
export const SET_BLOCKEDNET4 = 'blockednet4';
export const SET_BLOCKEDNET6 = 'blockednet6';
export const SET_ALLOW4 = 'allow4';
export const SET_ALLOW6 = 'allow6';
/** Every set owned by src/blocklist. */
export const BLOCKLIST_SETS = [SET_BLOCKED4, SET_BLOCKED6, SET_BLOCKEDNET4, SET_BLOCKEDNET6, SET_ALLOW4, SET_ALLOW6] as const;
export const CHAIN_BYPASS = 'bypass';
/** Regular chains owned by src/isolation; created empty here and jumped to last from each base chain. */
export const ISO_CHAINS = { input: 'iso_in', output: 'iso_out', forward: 'iso_fwd' } as const;
export const BASE_CHAINS = ['input', 'forward', 'output'] as const;
export type BaseChain = (typeof BASE_CHAINS)[number];
/** `filter - 10`: before the usual filter tables, so a later accept elsewhere cannot undo a block. */
export const BASE_PRIORITY = -10;
/**
 * Canary elements of blocked4/blocked6: in SPECIAL_RANGES (0.0.0.0/8, ::/96), so never blocked
 * for real and always in the allow sets — they never drop a packet. Their timeout is ten years,
 * renewed by every install.
 */
export const CANARY4 = '0.0.0.1';
export const CANARY6 = '::2';
export const CANARY_TIMEOUT_S = 3650 * 24 * 3600;

export function canary(family: 4 | 6): string {
  return family === 4 ? CANARY4 : CANARY6;
}

/** Hash set of single addresses. */
export function blockedSet(family: 4 | 6): string {
  return family === 4 ? SET_BLOCKED4 : SET_BLOCKED6;
}
/** Interval set of CIDR blocks. */
export function blockedNetSet(family: 4 | 6): string {
  return family === 4 ? SET_BLOCKEDNET4 : SET_BLOCKEDNET6;
}
export function allowSet(family: 4 | 6): string {
  return family === 4 ? SET_ALLOW4 : SET_ALLOW6;
}
/** The set a normalised address or CIDR goes to. */
export function setFor(address: string, family: 4 | 6): string {
  return isHostAddress(address) ? blockedSet(family) : blockedNetSet(family);
}

export interface InstallOptions {
  /** Default element timeout of the blocked sets (config blockDurationMs). */
  defaultTimeoutMs: number;
  /** Never-block ranges (any overlap allowed: they are merged here). Undefined: allow sets are left as they are. */
  allow?: Range[];
  /** The table has blocked4/blocked6 of the previous (interval) layout: re-create them (their elements are lost: add them back). */
  migrate?: boolean;
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

/** `ip saddr @blocked4 ip saddr != @allow4 drop`, the same for @blockednet4, and their v6 twins. */
function blockRules(chain: BaseChain, field: 'saddr' | 'daddr'): NftCommand[] {
  const out: NftCommand[] = [];
  const dir = field === 'saddr' ? 'source' : 'destination';
  for (const f of [4, 6] as const) {
    const proto = f === 4 ? 'ip' : 'ip6';
    for (const [set, what] of [
      [blockedSet(f), 'blocked'],
      [blockedNetSet(f), 'blocked network'],
    ] as const) {
      out.push(rule(chain, `${what} ${dir} v${f}`, [match(payload(proto, field), `@${set}`), match(payload(proto, field), `@${allowSet(f)}`, '!='), { drop: null }]));
    }
  }
  return out;
}

/** Every owned rule has a comment "bulwark: …": the kernel check compares chains by them. */
function rule(chain: string, what: string, expr: unknown[]): NftCommand {
  return { add: { rule: { ...T, chain, comment: `bulwark: ${what}`, expr } } };
}

/** The rules of one base chain, in order: lo accept → jump bypass → (output: RST goto iso_out) → blocked drop → jump iso_*. */
export function baseChainRules(chain: BaseChain): NftCommand[] {
  const out: NftCommand[] = [];
  if (chain === 'input') out.push(rule(chain, 'loopback', [match({ meta: { key: 'iif' } }, 'lo'), { accept: null }]));
  if (chain === 'output') out.push(rule(chain, 'loopback', [match({ meta: { key: 'oif' } }, 'lo'), { accept: null }]));
  out.push(rule(chain, 'operator bypass', [{ jump: { target: CHAIN_BYPASS } }]));
  // Our own RSTs skip the blocked drop (but not isolation): severing a blocked attacker's
  // connections with ss -K only closes its end if the RST leaves (see the isolation findings).
  if (chain === 'output') {
    out.push(rule(chain, 'own resets', [match({ '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, 'rst'] }, 'rst'), { goto: { target: ISO_CHAINS[chain] } }]));
  }
  if (chain === 'input' || chain === 'forward') out.push(...blockRules(chain, 'saddr'));
  if (chain === 'output' || chain === 'forward') out.push(...blockRules(chain, 'daddr'));
  out.push(rule(chain, 'isolation', [{ jump: { target: ISO_CHAINS[chain] } }]));
  return out;
}

/** The comments of a base chain's rules, in order (what the kernel check expects to find). */
export function baseChainComments(chain: BaseChain): string[] {
  return baseChainRules(chain).map((c) => (c.add as { rule: { comment: string } }).rule.comment);
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
  if (opts.migrate === true) {
    // The old sets are referenced by the base chains: empty those first (refilled below; `add`
    // first so a chain deleted by hand does not fail the flush).
    for (const c of BASE_CHAINS) cmds.push(baseChain(c), { flush: { chain: { ...T, name: c } } });
    for (const f of [4, 6] as const) cmds.push({ delete: { set: { ...T, name: blockedSet(f) } } });
  }
  for (const f of [4, 6] as const) {
    const type = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
    cmds.push({ add: { set: { ...T, name: blockedSet(f), type, flags: ['timeout'], timeout } } });
    cmds.push({ add: { set: { ...T, name: blockedNetSet(f), type, flags: ['interval', 'timeout'], timeout } } });
    cmds.push({ add: { set: { ...T, name: allowSet(f), type, flags: ['interval'] } } });
    cmds.push(canaryCommand(f));
  }
  cmds.push({ add: { chain: { ...T, name: CHAIN_BYPASS } } });
  for (const c of BASE_CHAINS) cmds.push({ add: { chain: { ...T, name: ISO_CHAINS[c] } } });
  for (const c of BASE_CHAINS) {
    cmds.push(baseChain(c));
    cmds.push({ flush: { chain: { ...T, name: c } } });
    cmds.push(...baseChainRules(c));
  }
  if (opts.allow) cmds.push(...allowSetCommands(opts.allow));
  return cmds;
}

function baseChain(c: BaseChain): NftCommand {
  return { add: { chain: { ...T, name: c, type: 'filter', hook: c, prio: BASE_PRIORITY, policy: 'accept' } } };
}

/** Adds (or renews) the canary of blocked4/blocked6. */
export function canaryCommand(family: 4 | 6): NftCommand {
  return { add: { element: { ...T, name: blockedSet(family), elem: [{ elem: { val: canary(family), timeout: CANARY_TIMEOUT_S } }] } } };
}

export interface ElementSpec {
  /** Normalised address or CIDR. */
  address: string;
  family: 4 | 6;
  /** Remaining lifetime (ms); the kernel expires the element after it. */
  timeoutMs?: number;
}

/** Elements grouped by the set they belong to, in a fixed set order. */
function bySet<E extends Pick<ElementSpec, 'address' | 'family'>>(elems: E[]): [string, E[]][] {
  const groups = new Map<string, E[]>([
    [SET_BLOCKED4, []],
    [SET_BLOCKEDNET4, []],
    [SET_BLOCKED6, []],
    [SET_BLOCKEDNET6, []],
  ]);
  for (const e of elems) groups.get(setFor(e.address, e.family))!.push(e);
  return [...groups].filter(([, l]) => l.length > 0);
}

/** One `add element` per set for many addresses (never one command per address). */
export function addElementsCommands(elems: ElementSpec[]): NftCommand[] {
  return bySet(elems).map(([name, list]) => ({
    add: { element: { ...T, name, elem: list.map((e) => (e.timeoutMs === undefined ? addressValue(e.address) : { elem: { val: addressValue(e.address), timeout: secs(e.timeoutMs) } })) } },
  }));
}

export function deleteElementsCommands(elems: Pick<ElementSpec, 'address' | 'family'>[]): NftCommand[] {
  return bySet(elems).map(([name, list]) => ({ delete: { element: { ...T, name, elem: list.map((e) => addressValue(e.address)) } } }));
}

/** Empties the four blocked sets and puts the canaries back (`unblock --all`). */
export function flushBlockedCommands(): NftCommand[] {
  const out: NftCommand[] = [];
  for (const f of [4, 6] as const) {
    out.push({ flush: { set: { ...T, name: blockedSet(f) } } }, { flush: { set: { ...T, name: blockedNetSet(f) } } }, canaryCommand(f));
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
