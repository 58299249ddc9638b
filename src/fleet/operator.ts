/**
 * The operator side of fleet mode (`bulwark fleet …`, from any machine with operator credentials):
 * the fleet view, shared blocks, fleet-wide unblock, signed orders with acknowledgements, policy
 * documents. Talks only through a FleetConnection and a Signer.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { checkSharedAddress, encodeJson, parseDecision, parseHostRecord, parseObject } from './messages.js';
import { parsePolicyDoc, validateSettings } from './policy.js';
import { verifyEnvelope, type Signer } from './sign.js';
import { isName, isPolicyKey, originOf, scopeOf, subjects } from './subjects.js';
import { KV_HOSTS, KV_POLICY, OPERATOR_ORIGIN, POLICY_SETTINGS, STREAM_DECISIONS, STREAM_ORDERS, type Decision, type FleetConnection, type HostRecord, type Order, type OrderAck, type OrderKind, type PolicyDoc, type PolicySetting } from './types.js';

export interface OperatorDeps {
  conn: FleetConnection;
  clock: Clock;
  /** Needed for anything that changes the fleet (orders, unblock, policy writes). */
  signer?: Signer;
  /** Operator keys trusted when reading (own key at least), to show whether stored documents verify. */
  trusted: ReadonlySet<string>;
}

export interface SharedBlock {
  address: string;
  origins: string[];
  scopes: string[];
  reason: string;
  signatureId?: number;
  decidedAt: number;
  expiresAt: number;
}

/**
 * Each publish attempt of an unblock or an order waits this long for the stream's answer, then
 * is retried (its message id makes a retry land once). Right after a server died, attempts
 * went unanswered for seconds although the stream had a new leader (e2e: stored 16 s after
 * the kill with 5 s attempts while the hosts' consumers were back after 6 s): short attempts
 * follow the cluster closely.
 */
export const PUBLISH_ATTEMPT_MS = 2000;

/** Orders are valid this long unless --valid says otherwise: a host offline longer does not act on a stale order. */
export const DEFAULT_ORDER_VALIDITY_MS = 10 * 60_000;

function needSigner(d: OperatorDeps): Signer {
  if (!d.signer) throw new BulwarkError('BULWARK_ERR_CONFIG', 'this command signs what it sends: set fleet.signingKey (operator nkey seed file) in the config');
  return d.signer;
}

export async function listHosts(d: OperatorDeps): Promise<HostRecord[]> {
  const out: HostRecord[] = [];
  for (const k of await d.conn.kvKeys(KV_HOSTS)) {
    const e = await d.conn.kvGet(KV_HOSTS, k);
    const r = e?.value ? parseHostRecord(e.value) : undefined;
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.hostId.localeCompare(b.hostId));
}

/** Blocks in force fleet-wide: per address, the newest decision (by stream sequence) when it is a live block. */
export async function listSharedBlocks(d: OperatorDeps): Promise<SharedBlock[]> {
  const now = d.clock.now();
  const msgs = await d.conn.fetchLastPerSubject(STREAM_DECISIONS, subjects.decisionsAll);
  const latest = new Map<string, { seq: number; dec: Decision; scope: string }[]>();
  for (const m of msgs) {
    let body: Uint8Array | string = m.data;
    if (originOf(m.subject) === OPERATOR_ORIGIN) {
      const v = verifyEnvelope(m.data, d.trusted);
      if (!v.ok) continue;
      body = v.body;
    }
    const p = parseDecision(body, 0);
    if (!p.ok || p.value.origin !== originOf(m.subject)) continue;
    const list = latest.get(p.value.address) ?? [];
    list.push({ seq: m.seq, dec: p.value, scope: scopeOf(m.subject) });
    latest.set(p.value.address, list);
  }
  const out: SharedBlock[] = [];
  for (const [address, list] of latest) {
    const lastUnblock = Math.max(0, ...list.filter((x) => x.dec.kind === 'unblock').map((x) => x.seq));
    const live = list.filter((x) => x.dec.kind === 'block' && x.seq > lastUnblock && x.dec.expiresAt > now);
    if (live.length === 0) continue;
    const newest = live.reduce((a, b) => (b.seq > a.seq ? b : a));
    out.push({
      address,
      origins: [...new Set(live.map((x) => x.dec.origin))].sort(),
      scopes: [...new Set(live.map((x) => x.scope))].sort(),
      reason: newest.dec.reason,
      ...(newest.dec.signatureId !== undefined ? { signatureId: newest.dec.signatureId } : {}),
      decidedAt: Math.min(...live.map((x) => x.dec.decidedAt)),
      expiresAt: Math.max(...live.map((x) => x.dec.expiresAt)),
    });
  }
  return out.sort((a, b) => a.decidedAt - b.decidedAt);
}

/**
 * Collects acknowledgements on bulwark.acks.*.<id> until every expected host answered or time ran
 * out. The expected hosts may be given later (`expect`): acks arriving before are kept.
 */
function collectAcks(d: OperatorDeps, id: string, expectedAtStart: ReadonlySet<string> | undefined, waitMs: number): { done: Promise<OrderAck[]>; stop: () => void; expect: (hosts: ReadonlySet<string>) => void } {
  const acks = new Map<string, OrderAck>();
  let expected = expectedAtStart;
  const complete = (): boolean => expected !== undefined && expected.size > 0 && [...expected].every((h) => acks.has(h));
  let finish: () => void = () => undefined;
  const done = new Promise<OrderAck[]>((resolve) => {
    const timer = setTimeout(() => {
      finish();
    }, waitMs);
    finish = () => {
      clearTimeout(timer);
      sub.stop();
      resolve([...acks.values()].sort((a, b) => a.host.localeCompare(b.host)));
    };
  });
  const sub = d.conn.subscribe(subjects.acksFor(id), (m) => {
    const p = parseObject(m.data);
    if (!p.ok) return;
    const a = p.value as unknown as OrderAck;
    if (a.orderId !== id || typeof a.host !== 'string') return;
    acks.set(a.host, a);
    if (complete()) finish();
  });
  return {
    done,
    stop: () => {
      finish();
    },
    expect: (hosts) => {
      expected = hosts;
      if (complete()) finish();
    },
  };
}

/** Hosts seen recently (the ones an unblock should reach). */
async function liveHosts(d: OperatorDeps, withinMs: number): Promise<Set<string>> {
  const now = d.clock.now();
  return new Set((await listHosts(d)).filter((h) => now - h.lastSeen < withinMs).map((h) => h.hostId));
}

/**
 * Fleet-wide unblock: a signed operator decision on bulwark.decisions.fleet.<addr>.operator. Newer
 * than every block of that address, so every host (and every host that catches up later) removes it.
 */
export async function unblockEverywhere(d: OperatorDeps, address: string, waitMs: number): Promise<{ id: string; seq: number; acks: OrderAck[]; expected: string[] }> {
  const s = needSigner(d);
  const a = checkSharedAddress(address);
  if (!a.ok) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `fleet unblock: ${a.detail ?? a.reason}`);
  const now = d.clock.now();
  const dec: Decision = { v: 1, id: randomUUID(), kind: 'unblock', address: a.value, origin: OPERATOR_ORIGIN, reason: `unblocked by operator ${s.publicKey.slice(0, 12)}…`, decidedAt: now, expiresAt: now + 1000 };
  const c = collectAcks(d, dec.id, undefined, waitMs);
  // The unblock is published while the fleet view (which hosts should answer) is read, not after:
  // right after a server died each can wait for a different leader election, and the hosts
  // should not wait for the operator's bookkeeping.
  const hosts = liveHosts(d, 120_000);
  hosts.catch(() => undefined);
  let seq: number;
  try {
    seq = await d.conn.publishStream(subjects.decision('fleet', a.value, OPERATOR_ORIGIN), new TextEncoder().encode(JSON.stringify(s.sign(JSON.stringify(dec)))), { msgId: dec.id, timeoutMs: PUBLISH_ATTEMPT_MS });
  } catch (e) {
    c.stop();
    throw new BulwarkError('BULWARK_ERR_FLEET', `fleet unblock ${a.value}: publish failed: ${errorMessage(e)}`, { cause: e });
  }
  let expected: Set<string>;
  try {
    expected = await hosts;
  } catch (e) {
    c.stop();
    throw new BulwarkError('BULWARK_ERR_FLEET', `fleet unblock ${a.value}: published (sequence ${seq}; every host applies it), but the fleet view to wait for their acknowledgements could not be read: ${errorMessage(e)}`, { cause: e });
  }
  c.expect(expected);
  return { id: dec.id, seq, acks: await c.done, expected: [...expected].sort() };
}

/** Sends a signed order to one host and waits for its acknowledgement (kernel read-back). */
export async function sendOrder(d: OperatorDeps, host: string, kind: OrderKind, args: Record<string, unknown>, o: { waitMs: number; validMs?: number }): Promise<{ order: Order; seq: number; ack: OrderAck | undefined }> {
  const s = needSigner(d);
  if (!isName(host)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${host}" is not a host id`);
  const now = d.clock.now();
  const order: Order = { v: 1, id: randomUUID(), kind, host, issuedAt: now, expiresAt: now + (o.validMs ?? DEFAULT_ORDER_VALIDITY_MS), args };
  const c = collectAcks(d, order.id, new Set([host]), o.waitMs);
  let seq: number;
  try {
    seq = await d.conn.publishStream(subjects.orders(host), new TextEncoder().encode(JSON.stringify(s.sign(JSON.stringify(order)))), { msgId: order.id, timeoutMs: PUBLISH_ATTEMPT_MS });
  } catch (e) {
    c.stop();
    throw new BulwarkError('BULWARK_ERR_FLEET', `order ${kind} for ${host}: publish failed: ${errorMessage(e)}`, { cause: e });
  }
  const acks = await c.done;
  return { order, seq, ack: acks.find((a) => a.host === host) };
}

/** Orders still waiting in the stream for a host (e.g. while it is offline). */
export async function pendingOrders(d: OperatorDeps, host: string): Promise<number> {
  return (await d.conn.fetchLastPerSubject(STREAM_ORDERS, subjects.orders(host))).length;
}

export interface PolicyView {
  key: string;
  doc: PolicyDoc | undefined;
  signedBy?: string;
  problem?: string;
}

export async function getPolicy(d: OperatorDeps, key: string): Promise<PolicyView> {
  if (!isPolicyKey(key)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${key}" is not a policy key (fleet, group.NAME, host.ID)`);
  const e = await d.conn.kvGet(KV_POLICY, key);
  if (!e?.value) return { key, doc: undefined };
  const v = verifyEnvelope(e.value, d.trusted);
  if (!v.ok) return { key, doc: undefined, problem: `stored document does not verify (${v.reason})` };
  const p = parsePolicyDoc(v.body, key);
  if (!p.ok) return { key, doc: undefined, signedBy: v.key, problem: `stored document invalid (${p.detail ?? p.reason})` };
  return { key, doc: p.value, signedBy: v.key };
}

/** Read-modify-write of one policy document, signed. `set` values null remove a setting. */
export async function updatePolicy(d: OperatorDeps, key: string, change: { set?: Record<string, unknown>; lock?: string[]; unlock?: string[] }): Promise<PolicyDoc> {
  const s = needSigner(d);
  const cur = await getPolicy(d, key);
  const raw: Record<string, unknown> = { ...(cur.doc?.settings ?? {}) };
  for (const [k, v] of Object.entries(change.set ?? {})) {
    if (v === null) Reflect.deleteProperty(raw, k);
    else raw[k] = v;
  }
  const settings = validateSettings(raw, `policy ${key}`);
  const locks = new Set<PolicySetting>(cur.doc?.locks ?? []);
  for (const l of [...(change.lock ?? []), ...(change.unlock ?? [])]) {
    if (!(POLICY_SETTINGS as readonly string[]).includes(l)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `unknown setting "${l}" (known: ${POLICY_SETTINGS.join(', ')})`);
  }
  for (const l of change.lock ?? []) locks.add(l as PolicySetting);
  for (const l of change.unlock ?? []) locks.delete(l as PolicySetting);
  const doc: PolicyDoc = { v: 1, key, settings, locks: [...locks], updatedAt: d.clock.now() };
  await d.conn.kvPut(KV_POLICY, key, encodeJson(s.sign(JSON.stringify(doc))));
  return doc;
}
