/**
 * The real FleetConnection: @nats-io/transport-node + @nats-io/jetstream + @nats-io/kv (v3).
 * Thin on purpose: every decision about what to do with a message lives in the fleet logic, which
 * is unit-tested against test/unit/fleet/fake.ts. Works with nats-server 2.9 (Debian bookworm):
 * only single-filter ordered consumers, no per-message TTL, no multi-key KV watch (2.10+).
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { FleetConfig } from '../config/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { KV_HOSTS, KV_POLICY, STREAM_DECISIONS, STREAM_EVENTS, STREAM_ORDERS, type ConnState, type FleetConnection, type FleetLayout, type FleetMsg, type FleetSub, type KvEntry, type StartAt } from './types.js';
import { subjects } from './subjects.js';
import { serverHost } from './host-addrs.js';
import { realScheduler } from '../scheduler.js';
import { StreamFollower, type ConsumerRun } from './follow.js';
import { systemClock } from '../clock.js';

const NS = 1_000_000;
/** Server heartbeat of followed consumers while idle, and the silence after which one is re-created. */
const FOLLOW_HEARTBEAT_MS = 2_000;
const FOLLOW_SILENCE_MS = 5_000;
/**
 * JetStream API timeout of followed consumers (creation, the library's checks). While a stream or
 * the meta group elects a leader these requests go unanswered: a short timeout retries every
 * ~2 s, where the client default (5 s) left a host up to 5 s behind a cluster already back.
 */
const FOLLOW_API_TIMEOUT_MS = 2_000;

/**
 * JetStream answers nothing for a few seconds while a stream or the meta group elects a new leader
 * (a server died): retry such calls (publishes carry a message id, so a retry is never stored twice).
 */
export async function withRetry<T>(fn: () => Promise<T>, budgetMs = 15_000): Promise<T> {
  const end = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    const began = Date.now();
    try {
      return await fn();
    } catch (e) {
      const msg = errorMessage(e);
      // "jetstream is not enabled" is also what a server answers while the meta group has no leader.
      const transient = /timeout|no responders|not available|not enabled|leader|503|no suitable peers|temporarily unavailable/i.test(msg);
      if (!transient || Date.now() > end) throw e;
      // Attempts start at most every 200 ms doubling to 1 s: one that waited out its timeout is
      // retried at once. While a stream has no leader a publish fails at once (no responders),
      // so the cap is how long after the election an operator's unblock may still wait (with
      // 2 s the unblock was stored ~5 s after the command decided it in most e2e runs).
      const wait = Math.min(1000, 200 * 2 ** attempt) - (Date.now() - began);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Read through a call: a flag set by another callback while this one awaited. */
function isStopped(st: { stopped: boolean }): boolean {
  return st.stopped;
}

/** Refuses a fleet section without TLS or credentials unless allowInsecure (tests, labs). */
export function checkFleetSecurity(f: FleetConfig): void {
  if (f.allowInsecure) return;
  const problems: string[] = [];
  if (!f.tls) problems.push('no tls (fleet.tls.ca)');
  if (f.credentials === undefined && f.nkey === undefined && f.user === undefined) problems.push('no credentials (fleet.credentials, fleet.nkey or fleet.user)');
  if (f.servers.some((s) => s.startsWith('nats://'))) problems.push('a nats:// server URL (use tls://)');
  if (problems.length > 0) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet: ${problems.join(', ')}; TLS and credentials are required (fleet.allowInsecure: true only for tests)`);
  }
}

function readSecret(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet.${what} ${path}: cannot read (${errorMessage(e)})`, { cause: e });
  }
}

/** Connection options from the fleet config. `inboxPrefix` keeps a host's replies under its own prefix (permissions). */
export function connectOptions(f: FleetConfig, name: string, inboxPrefix: string | undefined, persistent = true): ConnectionOptions {
  const o: ConnectionOptions = {
    servers: f.servers,
    name,
    // The daemon never gives up (it protects with its last policy meanwhile); the CLI does.
    maxReconnectAttempts: persistent ? -1 : 2,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: persistent,
    pingInterval: 5000,
    maxPingOut: 2,
    timeout: 5000,
  };
  if (inboxPrefix !== undefined) o.inboxPrefix = inboxPrefix;
  if (f.tls) {
    const hosts = f.servers.map(serverHost);
    // The client passes no TLS server name for IP-literal servers, so Node would check the
    // certificate against "localhost". The chain is still verified against fleet.tls.ca; the
    // name check accepts a certificate valid for one of the configured servers.
    const checkIdentity = (hostname: string, cert: PeerCertificate): Error | undefined => {
      if (hostname !== '' && hostname !== 'localhost') return checkServerIdentity(hostname, cert);
      if (hosts.some((h) => checkServerIdentity(h, cert) === undefined)) return undefined;
      return new Error(`the server certificate is valid for none of fleet.servers (${hosts.join(', ')})`);
    };
    o.tls = {
      caFile: f.tls.ca,
      ...(f.tls.cert !== undefined ? { certFile: f.tls.cert } : {}),
      ...(f.tls.key !== undefined ? { keyFile: f.tls.key } : {}),
      checkServerIdentity: checkIdentity,
    } as NonNullable<ConnectionOptions['tls']>;
  }
  if (f.credentials !== undefined) o.authenticator = credsAuthenticator(new TextEncoder().encode(readSecret(f.credentials, 'credentials')));
  else if (f.nkey !== undefined) {
    const seed = readSecret(f.nkey, 'nkey').split('\n').map((l) => l.trim()).find((l) => l.startsWith('SU'));
    if (seed === undefined) throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet.nkey ${f.nkey}: no user nkey seed (SU…) in the file`);
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (f.user !== undefined) {
    o.user = f.user;
    if (f.password !== undefined) o.pass = f.password;
  }
  return o;
}

export function streamConfigs(l: FleetLayout): Partial<StreamConfig>[] {
  const base = { retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: l.replicas, discard: DiscardPolicy.Old };
  return [
    // One subject per (address, origin), one message each: the newest decision replaces the older.
    { ...base, name: STREAM_DECISIONS, subjects: [subjects.decisionsAll], max_msgs_per_subject: 1, max_age: l.decisionsMaxAgeMs * NS, max_msgs: 1_000_000, max_msg_size: 64 * 1024, duplicate_window: 60 * 1e9 },
    { ...base, name: STREAM_ORDERS, subjects: [subjects.ordersAll], max_msgs_per_subject: 100, max_age: l.ordersMaxAgeMs * NS, max_msg_size: 64 * 1024, duplicate_window: 60 * 1e9 },
    { ...base, name: STREAM_EVENTS, subjects: [subjects.eventsAll], max_age: l.eventsMaxAgeMs * NS, max_bytes: l.eventsMaxBytes, max_msg_size: 256 * 1024 },
  ];
}

export class NatsFleetConnection implements FleetConnection {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  /** Same connection, FOLLOW_API_TIMEOUT_MS: for followed consumers. */
  private jsFollow: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private kvm: Kvm | undefined;
  private readonly kvs = new Map<string, Promise<KV>>();
  private st: ConnState = 'connecting';
  private readonly listeners: ((s: ConnState, d?: string) => void)[] = [];
  private readonly ready: Promise<NatsConnection>;
  private closed = false;

  constructor(
    opts: ConnectionOptions,
    private readonly onError: (e: unknown, what: string) => void = () => undefined,
    /** How long transient JetStream failures (leader elections) are retried. */
    private readonly retryBudgetMs = 15_000,
    /** Recoveries worth a log line (a followed consumer re-created). */
    private readonly onNotice: (what: string) => void = () => undefined,
  ) {
    this.ready = connect(opts).then((nc) => {
      this.nc = nc;
      this.js = jetstream(nc);
      this.jsFollow = jetstream(nc, { timeout: FOLLOW_API_TIMEOUT_MS });
      this.kvm = new Kvm(nc);
      this.setState('connected');
      void this.watchStatus(nc);
      void nc.closed().then((err) => {
        this.setState('closed', err ? errorMessage(err) : undefined);
      });
      return nc;
    });
    this.ready.catch((e: unknown) => {
      this.setState('closed', errorMessage(e));
    });
  }

  /** Resolves once connected the first time (rejects when connecting was given up or closed). */
  connected(): Promise<void> {
    return this.ready.then(() => undefined);
  }

  get state(): ConnState {
    return this.st;
  }

  onState(fn: (s: ConnState, d?: string) => void): void {
    this.listeners.push(fn);
  }

  private setState(s: ConnState, d?: string): void {
    if (this.st === s) return;
    this.st = s;
    // A copy: a follower removes its listener when the connection closes.
    for (const l of [...this.listeners]) l(s, d);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.setState('reconnecting', s.server);
      else if (s.type === 'reconnect') this.setState('connected', s.server);
      else if (s.type === 'error') this.onError(s.error, 'connection');
    }
  }

  private async client(): Promise<JetStreamClient> {
    await this.ready;
    return this.js!;
  }

  private async manager(): Promise<JetStreamManager> {
    const nc = await this.ready;
    this.jsm ??= await jetstreamManager(nc, { checkAPI: false });
    return this.jsm;
  }

  private kv(bucket: string): Promise<KV> {
    let p = this.kvs.get(bucket);
    if (!p) {
      p = this.ready.then(() => this.kvm!.open(bucket));
      this.kvs.set(bucket, p);
      p.catch(() => this.kvs.delete(bucket));
    }
    return p;
  }

  async publishStream(subject: string, data: Uint8Array, opts: { msgId?: string; timeoutMs?: number } = {}): Promise<number> {
    const js = await this.client();
    const publish = async (): Promise<number> => (await js.publish(subject, data, { timeout: opts.timeoutMs ?? 5000, ...(opts.msgId !== undefined ? { msgID: opts.msgId } : {}) })).seq;
    // Without a message id a retry could store the message twice: one attempt only.
    return opts.msgId === undefined ? publish() : withRetry(publish, this.retryBudgetMs);
  }

  publish(subject: string, data: Uint8Array): void {
    if (!this.nc) throw new BulwarkError('BULWARK_ERR_FLEET', 'not connected to NATS yet');
    this.nc.publish(subject, data);
  }

  subscribe(subject: string, fn: (m: FleetMsg) => void): FleetSub {
    let sub: Subscription | undefined;
    const st = { stopped: false };
    void this.ready.then((nc) => {
      if (st.stopped) return;
      sub = nc.subscribe(subject, {
        callback: (err, m) => {
          if (err) {
            this.onError(err, `subscription ${subject}`);
            return;
          }
          fn({ subject: m.subject, seq: 0, data: m.data, pending: 0 });
        },
      });
    });
    return {
      stop() {
        st.stopped = true;
        sub?.unsubscribe();
      },
    };
  }

  follow(stream: string, filter: string, start: StartAt, fn: (m: FleetMsg) => void | Promise<void>): FleetSub {
    const f = new StreamFollower(
      {
        source: { open: (at, alive) => this.openConsumer(stream, filter, at, alive) },
        state: () => (this.closed ? 'closed' : this.st),
        onState: (l) => {
          this.listeners.push(l);
          return () => {
            const i = this.listeners.indexOf(l);
            if (i >= 0) this.listeners.splice(i, 1);
          };
        },
        clock: systemClock,
        scheduler: realScheduler,
        random: Math.random,
        onError: this.onError,
        onNotice: this.onNotice,
        label: `${stream} ${filter}`,
        silenceMs: FOLLOW_SILENCE_MS,
        maxBackoffMs: 2000,
      },
      start,
      fn,
    );
    void f.run();
    return {
      stop() {
        f.stop();
      },
    };
  }

  /** One ordered consumer (ephemeral, R1, memory) with short pulls and server heartbeats. */
  private async openConsumer(stream: string, filter: string, start: StartAt, alive: () => void): Promise<ConsumerRun> {
    await this.ready;
    const js = this.jsFollow!;
    const opts =
      start === 'all'
        ? { deliver_policy: DeliverPolicy.All }
        : start === 'last-per-subject'
          ? { deliver_policy: DeliverPolicy.LastPerSubject }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start.seq) };
    const c = await js.consumers.get(stream, { filter_subjects: filter, ...opts });
    const it = await c.consume({ max_messages: 256, expires: 10_000, idle_heartbeat: FOLLOW_HEARTBEAT_MS });
    // Server-sent statuses are signs of life for the watchdog; client-side ones ("next", "reset",
    // "heartbeats_missed") are not.
    void (async () => {
      for await (const n of it.status()) {
        if (n.type === 'heartbeat' || n.type === 'discard' || n.type === 'ordered_consumer_recreated') alive();
      }
    })().catch(() => undefined);
    async function* messages(): AsyncGenerator<FleetMsg> {
      for await (const m of it) yield { subject: m.subject, seq: m.seq, data: m.data, pending: m.info.pending };
    }
    return {
      messages: messages(),
      close: async () => {
        // The server-side consumer goes too when its server is alive (otherwise it would linger
        // until its inactivity threshold); not awaited: its server may be the dead one.
        if (!this.closed) void c.delete().catch(() => undefined);
        await it.close();
      },
    };
  }

  async fetchLastPerSubject(stream: string, filter: string): Promise<FleetMsg[]> {
    return withRetry(() => this.fetchLastOnce(stream, filter), this.retryBudgetMs);
  }

  private async fetchLastOnce(stream: string, filter: string): Promise<FleetMsg[]> {
    const js = await this.client();
    const c = await js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    const info = await c.info(true);
    const out: FleetMsg[] = [];
    let left = info.num_pending;
    while (left > 0) {
      const batch = await c.fetch({ max_messages: Math.min(left, 1000), expires: 5000 });
      let got = 0;
      for await (const m of batch) {
        out.push({ subject: m.subject, seq: m.seq, data: m.data, pending: m.info.pending });
        got++;
        left = m.info.pending;
      }
      if (got === 0) break;
    }
    await c.delete().catch(() => undefined);
    return out;
  }

  async kvGet(bucket: string, key: string): Promise<KvEntry | undefined> {
    const kv = await this.kv(bucket);
    const e = await withRetry(() => kv.get(key), this.retryBudgetMs);
    if (!e) return undefined;
    return { key: e.key, revision: e.revision, value: e.operation === 'PUT' ? e.value : undefined };
  }

  async kvPut(bucket: string, key: string, value: Uint8Array): Promise<number> {
    const kv = await this.kv(bucket);
    return withRetry(() => kv.put(key, value), this.retryBudgetMs);
  }

  async kvDelete(bucket: string, key: string): Promise<void> {
    await (await this.kv(bucket)).delete(key);
  }

  async kvKeys(bucket: string): Promise<string[]> {
    // From the bucket stream's per-subject state (one request the stream leader answers), not
    // the client's key listing: that creates an R1 consumer, which right after a server died
    // may be placed on the dead server and leave the listing hanging until its timeout, again
    // and again (e2e: `fleet unblock` read the fleet view 25 s after a leader kill although the
    // stream had its new leader after 4 s).
    const jsm = await this.manager();
    const prefix = `$KV.${bucket}.`;
    const si = await withRetry(() => jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` }), this.retryBudgetMs);
    return Object.keys(si.state.subjects ?? {})
      .filter((s) => s.startsWith(prefix))
      .map((s) => s.slice(prefix.length));
  }

  kvWatch(bucket: string, key: string, fn: (e: KvEntry) => void): FleetSub {
    const st = { stopped: false };
    let stop: (() => void) | undefined;
    const run = async (): Promise<void> => {
      for (let attempt = 0; !st.stopped; attempt++) {
        try {
          const kv = await this.kv(bucket);
          const w = await kv.watch({ key });
          stop = () => {
            w.stop();
          };
          if (isStopped(st)) {
            w.stop();
            return;
          }
          for await (const e of w) fn({ key: e.key, revision: e.revision, value: e.operation === 'PUT' ? e.value : undefined });
          return;
        } catch (e) {
          if (isStopped(st) || this.closed) return;
          this.onError(e, `watch ${bucket}/${key}`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
        }
      }
    };
    void run();
    return {
      stop() {
        st.stopped = true;
        stop?.();
      },
    };
  }

  async streamInfo(stream: string): Promise<{ replicas: number; leader: string | undefined; messages: number; currentReplicas: number }> {
    const jsm = await this.manager();
    const si = await withRetry(() => jsm.streams.info(stream), this.retryBudgetMs);
    const peers = si.cluster?.replicas ?? [];
    return {
      replicas: si.config.num_replicas,
      leader: si.cluster?.leader,
      messages: si.state.messages,
      currentReplicas: (si.cluster?.leader !== undefined ? 1 : 0) + peers.filter((p) => p.current && !p.offline).length,
    };
  }

  /** Creates or updates the streams and buckets (operator: `bulwark fleet setup`). */
  async ensureLayout(l: FleetLayout): Promise<string[]> {
    const jsm = await this.manager();
    const done: string[] = [];
    for (const cfg of streamConfigs(l)) {
      const name = cfg.name!;
      try {
        await jsm.streams.info(name);
        await jsm.streams.update(name, cfg);
        done.push(`stream ${name} updated`);
      } catch (e) {
        if (!/not found/i.test(errorMessage(e))) throw e;
        await jsm.streams.add({ ...cfg, name });
        done.push(`stream ${name} created`);
      }
    }
    const kvm = this.kvm!;
    for (const b of [KV_POLICY, KV_HOSTS]) {
      await kvm.create(b, { history: 1, replicas: l.replicas, ...(b === KV_HOSTS ? { ttl: 30 * 86_400_000 } : {}) });
      done.push(`bucket ${b} ready`);
    }
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.nc) {
      // Still trying to connect: close as soon as it succeeds.
      void this.ready.then((nc) => nc.close()).catch(() => undefined);
      this.setState('closed');
      return;
    }
    await this.nc.drain().catch(() => this.nc?.close());
  }
}
