/**
 * Parsing and validation of everything a host receives (pure, never throws): a message that is
 * malformed, oversized, expired, too wide or meant for another host is reported with a bounded
 * DropReason so the caller counts and drops it.
 */
import { normalizeAddress, parseCidr } from '../blocklist/address.js';
import { isName } from './subjects.js';
import { MAX_MESSAGE_BYTES, MIN_PREFIX, OPERATOR_ORIGIN, type Decision, type DropReason, type HostRecord, type Order, type OrderKind } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: DropReason; detail?: string };

const dec = new TextDecoder();
const enc = new TextEncoder();

export function encodeJson(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

/** JSON object from bytes, with the size bound. */
export function parseObject(raw: Uint8Array | string): Parsed<Record<string, unknown>> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversized', detail: `${size} bytes` };
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : dec.decode(raw));
  } catch {
    return { ok: false, reason: 'malformed', detail: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'malformed', detail: 'not an object' };
  return { ok: true, value: v as Record<string, unknown> };
}

const bad = (detail: string): { ok: false; reason: DropReason; detail: string } => ({ ok: false, reason: 'malformed', detail });

function str(o: Record<string, unknown>, k: string, max: number): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

function time(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * A shared address: normalised, and no wider than /16 (IPv4) or /48 (IPv6) — one host's detection
 * must never cut a whole provider off every host.
 */
export function checkSharedAddress(address: string): Parsed<string> {
  let a: string;
  try {
    a = normalizeAddress(address);
  } catch (e) {
    return bad(e instanceof Error ? e.message : 'bad address');
  }
  const c = parseCidr(a);
  if (c.prefix < MIN_PREFIX[c.family]) return { ok: false, reason: 'too-wide', detail: `${a} is wider than /${MIN_PREFIX[c.family]}` };
  return { ok: true, value: a };
}

/** A decision body; `now` rejects blocks already expired. */
export function parseDecision(raw: Uint8Array | string, now: number): Parsed<Decision> {
  const p = parseObject(raw);
  if (!p.ok) return p;
  const o = p.value;
  if (o.v !== 1) return bad('unknown version');
  const id = str(o, 'id', 64);
  const kind = o.kind === 'block' || o.kind === 'unblock' ? o.kind : undefined;
  const address = str(o, 'address', 64);
  const origin = str(o, 'origin', 64);
  const reason = str(o, 'reason', 512);
  const decidedAt = time(o, 'decidedAt');
  const expiresAt = time(o, 'expiresAt');
  if (id === undefined || kind === undefined || address === undefined || origin === undefined || reason === undefined || decidedAt === undefined || expiresAt === undefined) {
    return bad('missing or bad fields');
  }
  if (origin !== OPERATOR_ORIGIN && !isName(origin)) return bad('bad origin');
  const sid = o.signatureId;
  if (sid !== undefined && (typeof sid !== 'number' || !Number.isInteger(sid) || sid < 0)) return bad('bad signatureId');
  const a = checkSharedAddress(address);
  if (!a.ok) return a;
  if (kind === 'block' && expiresAt <= now) return { ok: false, reason: 'expired' };
  const d: Decision = { v: 1, id, kind, address: a.value, origin, reason, decidedAt, expiresAt };
  if (typeof sid === 'number') d.signatureId = sid;
  return { ok: true, value: d };
}

const ORDER_KINDS: readonly OrderKind[] = ['isolate', 'release', 'exclusion'];

/** An order body (already signature-checked); refuses other hosts' and expired orders. */
export function parseOrder(body: string, hostId: string, now: number): Parsed<Order> {
  const p = parseObject(body);
  if (!p.ok) return p;
  const o = p.value;
  if (o.v !== 1) return bad('unknown version');
  const id = str(o, 'id', 64);
  const kind = ORDER_KINDS.find((k) => k === o.kind);
  const host = str(o, 'host', 64);
  const issuedAt = time(o, 'issuedAt');
  const expiresAt = time(o, 'expiresAt');
  const args = o.args;
  if (id === undefined || !/^[A-Za-z0-9_-]+$/.test(id) || kind === undefined || host === undefined || issuedAt === undefined || expiresAt === undefined) return bad('missing or bad fields');
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return bad('args must be an object');
  if (host !== hostId) return { ok: false, reason: 'other-host', detail: host };
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, value: { v: 1, id, kind, host, issuedAt, expiresAt, args: args as Record<string, unknown> } };
}

/** A host record from bulwark-hosts (for the fleet view; tolerant of missing optional parts). */
export function parseHostRecord(raw: Uint8Array): HostRecord | undefined {
  const p = parseObject(raw);
  if (!p.ok) return undefined;
  const o = p.value as Partial<HostRecord>;
  if (o.v !== 1 || typeof o.hostId !== 'string' || typeof o.lastSeen !== 'number') return undefined;
  return o as HostRecord;
}
