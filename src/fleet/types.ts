/**
 * Fleet mode contract (docs/fleet.md): what travels over NATS JetStream between bulwark hosts and
 * operators, and the one connection adapter the fleet logic talks through (src/fleet/nats.ts is
 * the real one, test/unit/fleet/fake.ts an in-memory one).
 *
 * Streams and buckets (created by `bulwark fleet setup`, replicas configurable):
 *   stream BULWARK_DECISIONS  subjects bulwark.decisions.<scope>.<addr>.<origin>
 *       MaxMsgsPerSubject 1 (a newer decision of the same origin replaces the older), max age =
 *       the longest block (NATS 2.9 has no per-message TTL: the expiry is in the message).
 *   stream BULWARK_ORDERS     subjects bulwark.orders.<hostId>       (signed operator orders)
 *   stream BULWARK_EVENTS     subjects bulwark.events.<hostId>.<type> (EVE JSON, bounded)
 *   KV bulwark-policy         keys fleet, group.<name>, host.<hostId> (signed policy documents)
 *   KV bulwark-hosts          keys <hostId>                           (host heartbeats: the fleet view)
 *   core subjects bulwark.acks.<hostId>.<orderId>                     (order acknowledgements)
 */
import type { ExclusionRule, IsolationPolicy } from '../config/types.js';

export const STREAM_DECISIONS = 'BULWARK_DECISIONS';
export const STREAM_ORDERS = 'BULWARK_ORDERS';
export const STREAM_EVENTS = 'BULWARK_EVENTS';
export const KV_POLICY = 'bulwark-policy';
export const KV_HOSTS = 'bulwark-hosts';

/** Origin token of decisions published by an operator (fleet unblock / block). */
export const OPERATOR_ORIGIN = 'operator';

/** Bounds on what a host accepts (bigger messages are counted and dropped). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Widest shared block accepted: no prefix wider than /16 (IPv4) or /48 (IPv6). */
export const MIN_PREFIX = { 4: 16, 6: 48 } as const;

/** Why an incoming message was dropped (bounded label values of bulwark_fleet_messages_dropped_total). */
export type DropReason = 'malformed' | 'oversized' | 'expired' | 'other-host' | 'bad-signature' | 'unsigned' | 'unknown-key' | 'too-wide' | 'rate-limit' | 'not-allowed' | 'duplicate';

export type ConnState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export type ShareScope = 'fleet' | 'group' | 'none';

/** A block or unblock decision (body of a message on bulwark.decisions.…). */
export interface Decision {
  v: 1;
  /** Unique id (uuid); acks of an operator unblock name it. */
  id: string;
  kind: 'block' | 'unblock';
  /** Normalised address or CIDR. */
  address: string;
  /** Host id of the detecting host, or "operator". */
  origin: string;
  reason: string;
  signatureId?: number;
  /** ms epoch. */
  decidedAt: number;
  /** ms epoch; a block is applied with expiresAt - now left, and not at all once passed. */
  expiresAt: number;
}

export type OrderKind = 'isolate' | 'release' | 'exclusion';

/** An operator order to one host (body of a signed envelope on bulwark.orders.<hostId>). */
export interface Order {
  v: 1;
  /** Unique id: a re-delivered order is answered with the first ack (idempotent). */
  id: string;
  kind: OrderKind;
  host: string;
  issuedAt: number;
  /** ms epoch; an order delivered after this is dropped (counted as expired). */
  expiresAt: number;
  /** isolate: forMs?, reason?; exclusion: op, rule?, ref?. */
  args: Record<string, unknown>;
}

export interface OrderAck {
  v: 1;
  orderId: string;
  host: string;
  ok: boolean;
  error?: string;
  /** What the kernel says after the change (isolation status, exclusions, or set membership). */
  result?: unknown;
  at: number;
}

/** Settings a console manages (fleet → groups in config order → host; later wins, locks stick). */
export interface PolicySettings {
  protection?: boolean;
  action?: 'block' | 'alert';
  /** ms */
  blockDuration?: number;
  /** Added to the local never-block list (union over every level). */
  neverBlock?: string[];
  /** ms */
  isolationDuration?: number;
  profiles?: string[];
  /** Policy-scope isolation exclusions (apply to automatic isolation). */
  exclusions?: ExclusionRule[];
  isolationPolicy?: IsolationPolicy;
  share?: ShareScope;
}

export type PolicySetting = keyof PolicySettings;

export const POLICY_SETTINGS: readonly PolicySetting[] = ['protection', 'action', 'blockDuration', 'neverBlock', 'isolationDuration', 'profiles', 'exclusions', 'isolationPolicy', 'share'];

export type PolicyLevel = 'fleet' | 'group' | 'host';

/** Body of a signed envelope stored under bulwark-policy/<key>. */
export interface PolicyDoc {
  v: 1;
  /** "fleet", "group.web", "host.h1". */
  key: string;
  settings: PolicySettings;
  /** Settings that local CLI and local config may not change. */
  locks: PolicySetting[];
  updatedAt: number;
}

/** A signed message: `body` is the exact JSON text that was signed with nkey `key` (U…, base32). */
export interface Envelope {
  body: string;
  key: string;
  /** base64 Ed25519 signature of body's UTF-8 bytes. */
  sig: string;
}

/** The effective policy on one host, with where each value came from. */
export interface EffectivePolicy {
  settings: PolicySettings;
  /** setting → policy key that set the value in force. */
  source: Partial<Record<PolicySetting, string>>;
  /** setting → policy key that locked it. */
  locked: Partial<Record<PolicySetting, string>>;
  /** Policy keys that contributed, in merge order. */
  keys: string[];
}

/** Value of bulwark-hosts/<hostId>: what `bulwark fleet hosts` lists. */
export interface HostRecord {
  v: 1;
  hostId: string;
  name: string;
  groups: string[];
  version: string;
  protection: { enabled: boolean; reason?: string };
  blocks: number;
  isolation: { isolated: boolean; tag?: string; endsAt?: string; mode?: string };
  policy: string[];
  lastSeen: number;
}

// ---------------------------------------------------------------- the connection adapter

export interface FleetMsg {
  subject: string;
  /** Stream sequence (0 for core messages). */
  seq: number;
  data: Uint8Array;
  /** Messages still pending for this consumer after this one (lag). */
  pending: number;
}

export interface KvEntry {
  key: string;
  revision: number;
  /** undefined when the key was deleted or purged. */
  value: Uint8Array | undefined;
}

export interface FleetSub {
  stop(): void;
}

/** Where an ordered stream consumer starts. */
export type StartAt = { seq: number } | 'all' | 'last-per-subject';

/**
 * Everything the fleet logic needs from NATS. Reconnection is the adapter's job: `follow` and
 * `kvWatch` survive reconnects and resume where they were (ordered consumers).
 */
export interface FleetConnection {
  readonly state: ConnState;
  onState(fn: (s: ConnState, detail?: string) => void): void;
  /** JetStream publish; resolves with the stream sequence once the stream stored it. */
  publishStream(subject: string, data: Uint8Array, opts?: { msgId?: string; timeoutMs?: number }): Promise<number>;
  /** Core publish (acks, events): no confirmation; buffered by the client while reconnecting. */
  publish(subject: string, data: Uint8Array): void;
  /** Core subscription (acks). */
  subscribe(subject: string, fn: (m: FleetMsg) => void): FleetSub;
  /**
   * Ordered consumer of one filter subject of a stream: replays from `start`, then follows live.
   * A returned promise is awaited before the next message (backpressure).
   */
  follow(stream: string, filter: string, start: StartAt, fn: (m: FleetMsg) => void | Promise<void>): FleetSub;
  /** Every message currently held for `filter` (last per subject), then stops. */
  fetchLastPerSubject(stream: string, filter: string): Promise<FleetMsg[]>;
  kvGet(bucket: string, key: string): Promise<KvEntry | undefined>;
  kvPut(bucket: string, key: string, value: Uint8Array): Promise<number>;
  kvDelete(bucket: string, key: string): Promise<void>;
  /** Keys held in the bucket, each once; may include deleted keys (their kvGet has no value). */
  kvKeys(bucket: string): Promise<string[]>;
  /** Current value (if any) then every change of one key. */
  kvWatch(bucket: string, key: string, fn: (e: KvEntry) => void): FleetSub;
  /** Stream facts for status and tests (replicas, leader, messages). */
  streamInfo(stream: string): Promise<{ replicas: number; leader: string | undefined; messages: number; currentReplicas: number }>;
  close(): Promise<void>;
}

/** Stream and bucket layout `bulwark fleet setup` creates. */
export interface FleetLayout {
  replicas: number;
  /** Longest block (max age of BULWARK_DECISIONS). */
  decisionsMaxAgeMs: number;
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  ordersMaxAgeMs: number;
}
