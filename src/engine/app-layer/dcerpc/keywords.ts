/**
 * `dcerpc.iface` / `dce_iface`, `dcerpc.opnum` / `dce_opnum` and the `dcerpc.stub_data` /
 * `dce_stub_data` buffer, as Suricata 7/8 define them (rust/src/dcerpc/detect.rs and
 * rust/src/smb/detect.rs): shared by the `dcerpc` protocol (TCP) and `smb` (DCERPC over pipes).
 */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppTx } from '../types.js';
import { DceCall } from './conn.js';
import { DcePtype } from './types.js';

/** Suricata's unsigned-integer comparison (detect_parse_uint): N, =N, <N, <=N, >N, >=N, !N, !=N, A-B, A<>B. */
export interface UintMatch {
  readonly op: 'eq' | 'lt' | 'lte' | 'gt' | 'gte' | 'ne' | 'range';
  readonly a: number;
  readonly b: number;
}

export function parseUint(raw: string, max: number): UintMatch {
  const v = raw.trim();
  const num = (s: string): number => {
    if (!/^\d+$/.test(s.trim())) throw new Error(`not an unsigned integer: "${s}"`);
    const n = Number(s.trim());
    if (n > max) throw new Error(`${n} is over ${max}`);
    return n;
  };
  let m = /^(\d+)\s*(?:-|<>)\s*(\d+)$/.exec(v);
  if (m) {
    const a = num(m[1]!);
    const b = num(m[2]!);
    if (a >= b) throw new Error(`empty range "${v}"`);
    return { op: 'range', a, b };
  }
  m = /^(<=|>=|!=|<|>|=|!)?\s*(\d+)$/.exec(v);
  if (!m) throw new Error(`invalid value "${v}"`);
  const n = num(m[2]!);
  const op = ({ '<=': 'lte', '>=': 'gte', '!=': 'ne', '!': 'ne', '<': 'lt', '>': 'gt', '=': 'eq' } as const)[
    (m[1] ?? '=') as '<=' | '>=' | '!=' | '!' | '<' | '>' | '='
  ];
  return { op, a: n, b: 0 };
}

export function matchUint(u: UintMatch, x: number): boolean {
  switch (u.op) {
    case 'eq': return x === u.a;
    case 'ne': return x !== u.a;
    case 'lt': return x < u.a;
    case 'lte': return x <= u.a;
    case 'gt': return x > u.a;
    case 'gte': return x >= u.a;
    case 'range': return x > u.a && x < u.b;
  }
}

export interface DceIfaceParsed {
  /** Canonical byte order (as written in the rule). */
  readonly uuid: Uint8Array;
  readonly version: UintMatch | null;
  readonly anyFrag: boolean;
}

const UUID_RE = /^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})$/;

/** `<uuid>[,<op><version>][,any_frag]` (Suricata parse_iface_data). */
export function parseDceIface(value: string | null): DceIfaceParsed {
  if (value === null) throw new Error('dcerpc.iface needs a value');
  const parts = value.split(',');
  const m = UUID_RE.exec(parts[0]!.trim());
  if (!m) throw new Error(`invalid interface uuid "${parts[0]!.trim()}"`);
  const uuid = Uint8Array.from(Buffer.from(m.slice(1, 6).join(''), 'hex'));
  let version: UintMatch | null = null;
  let anyFrag = false;
  if (parts.length === 2) {
    if (parts[1]!.trim() === 'any_frag') anyFrag = true;
    else version = parseUint(parts[1]!, 0xffff);
  } else if (parts.length === 3) {
    version = parseUint(parts[1]!, 0xffff);
    if (parts[2]!.trim() !== 'any_frag') throw new Error(`expected any_frag, got "${parts[2]!.trim()}"`);
    anyFrag = true;
  } else if (parts.length > 3) {
    throw new Error('too many options');
  }
  return { uuid, version, anyFrag };
}

function sameUuid(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 16 || b.length !== 16) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function matchDceIface(tx: AppTx, p: DceIfaceParsed): boolean {
  if (!(tx instanceof DceCall)) return false;
  if (tx.transport === 'tcp') {
    if (!tx.firstRequestSeen) return false;
    if (!(tx.reqCmd === DcePtype.REQUEST || tx.respCmd === DcePtype.RESPONSE)) return false;
    for (const e of tx.ifaces.entries()) {
      if (!p.anyFrag && !e.firstFrag) continue;
      if (!e.acked || e.result !== 0) continue;
      if (!sameUuid(e.uuid, p.uuid)) continue;
      if (e.ctxid !== tx.ctxid) continue;
      if (p.version && !matchUint(p.version, e.version)) continue;
      return true;
    }
    return false;
  }
  // Over SMB (SCSmbTxGetDceIface): a REQUEST call, any acked interface of the SMB state.
  if (tx.reqCmd !== DcePtype.REQUEST) return false;
  for (const e of tx.ifaces.entries()) {
    if (e.acked && e.result === 0 && sameUuid(e.uuid, p.uuid) && (!p.version || matchUint(p.version, e.version))) return true;
  }
  return false;
}

export type DceOpnumParsed =
  | { readonly kind: 'ranges'; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly kind: 'uint'; readonly m: UintMatch };

/** `N`, `A-B` (inclusive) lists separated by commas, else one unsigned comparison (`>5`). */
export function parseDceOpnum(value: string | null): DceOpnumParsed {
  if (value === null) throw new Error('dcerpc.opnum needs a value');
  const ranges: [number, number][] = [];
  let ok = true;
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) {
      ok = false;
      break;
    }
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > 0xffffffff || b > 0xffffffff || b < a) {
      ok = false;
      break;
    }
    ranges.push([a, b]);
  }
  if (ok && ranges.length > 0) return { kind: 'ranges', ranges };
  return { kind: 'uint', m: parseUint(value, 0xffff) };
}

export function matchDceOpnum(tx: AppTx, p: DceOpnumParsed): boolean {
  if (!(tx instanceof DceCall)) return false;
  if (tx.transport === 'tcp' ? !tx.firstRequestSeen : tx.reqCmd !== DcePtype.REQUEST) return false;
  if (p.kind === 'uint') return matchUint(p.m, tx.opnum);
  return p.ranges.some(([a, b]) => tx.opnum >= a && tx.opnum <= b);
}

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];

export const dceIfaceKeyword: AppKeywordSpec<DceIfaceParsed> = {
  name: 'dcerpc.iface',
  aliases: ['dce_iface'],
  directions: BOTH,
  parse: parseDceIface,
  match: (tx, _dir, p) => matchDceIface(tx, p),
};

export const dceOpnumKeyword: AppKeywordSpec<DceOpnumParsed> = {
  name: 'dcerpc.opnum',
  aliases: ['dce_opnum'],
  directions: BOTH,
  parse: parseDceOpnum,
  match: (tx, _dir, p) => matchDceOpnum(tx, p),
};

export const DCERPC_KEYWORDS: readonly AppKeywordSpec[] = [
  dceIfaceKeyword,
  dceOpnumKeyword,
];

export const DCERPC_BUFFERS: readonly AppBufferSpec[] = [
  {
    name: 'dcerpc.stub_data',
    aliases: ['dce_stub_data'],
    directions: BOTH,
    multi: false,
    lowercaseOnly: false,
    pcreFlag: null,
  },
];
