/**
 * In-memory FleetConnection for unit tests: streams with NATS subject matching and
 * MaxMsgsPerSubject retention, ordered "follow" (replay then live), KV with watch, core pub/sub.
 * Shared by several FakeFleetConnection instances through one FakeNats (one "cluster").
 */
import type { ConnState, FleetConnection, FleetMsg, FleetSub, KvEntry, StartAt } from '../../../src/fleet/types.js';

/** NATS subject matching: "*" one token, ">" the rest (one or more tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

interface Stored {
  subject: string;
  seq: number;
  data: Uint8Array;
}

interface Follower {
  stream: string;
  filter: string;
  fn: (m: FleetMsg) => void | Promise<void>;
  conn: FakeFleetConnection;
}

export class FakeNats {
  readonly streams = new Map<string, { subjects: string[]; maxPerSubject: number; msgs: Stored[]; seq: number }>();
  readonly kv = new Map<string, Map<string, { revision: number; value: Uint8Array | undefined }>>();
  private revision = 0;
  readonly followers = new Set<Follower>();
  readonly kvWatchers = new Set<{ bucket: string; key: string; fn: (e: KvEntry) => void; conn: FakeFleetConnection }>();
  readonly subs = new Set<{ subject: string; fn: (m: FleetMsg) => void; conn: FakeFleetConnection }>();
  /** Every core publish, for assertions. */
  readonly published: { subject: string; data: Uint8Array }[] = [];

  addStream(name: string, subjects: string[], maxPerSubject = -1): void {
    this.streams.set(name, { subjects, maxPerSubject, msgs: [], seq: 0 });
  }

  store(subject: string, data: Uint8Array): number {
    for (const [name, s] of this.streams) {
      if (!s.subjects.some((p) => subjectMatches(p, subject))) continue;
      const seq = ++s.seq;
      s.msgs.push({ subject, seq, data });
      if (s.maxPerSubject > 0) {
        const same = s.msgs.filter((m) => m.subject === subject);
        if (same.length > s.maxPerSubject) s.msgs = s.msgs.filter((m) => m.subject !== subject || same.slice(-s.maxPerSubject).includes(m));
      }
      for (const f of this.followers) {
        if (f.stream === name && f.conn.state === 'connected' && subjectMatches(f.filter, subject)) void f.fn({ subject, seq, data, pending: 0 });
      }
      return seq;
    }
    throw new Error(`no stream for ${subject}`);
  }

  kvPut(bucket: string, key: string, value: Uint8Array | undefined): number {
    let b = this.kv.get(bucket);
    if (!b) {
      b = new Map();
      this.kv.set(bucket, b);
    }
    const revision = ++this.revision;
    b.set(key, { revision, value });
    for (const w of this.kvWatchers) if (w.bucket === bucket && w.key === key && w.conn.state === 'connected') w.fn({ key, revision, value });
    return revision;
  }
}

export class FakeFleetConnection implements FleetConnection {
  state: ConnState = 'connected';
  private readonly listeners: ((s: ConnState, d?: string) => void)[] = [];
  /** Makes publishStream fail (e.g. while "disconnected"). */
  failPublish = false;

  constructor(readonly nats: FakeNats) {}

  /** Core publishes made while reconnecting: sent when connected again (the client's reconnect buffer). */
  private readonly buffered: { subject: string; data: Uint8Array }[] = [];

  setState(s: ConnState): void {
    this.state = s;
    for (const l of this.listeners) l(s);
    if (s === 'connected') for (const b of this.buffered.splice(0)) this.publish(b.subject, b.data);
  }

  onState(fn: (s: ConnState, d?: string) => void): void {
    this.listeners.push(fn);
  }

  publishStream(subject: string, data: Uint8Array): Promise<number> {
    if (this.failPublish || this.state !== 'connected') return Promise.reject(new Error('timeout'));
    return Promise.resolve(this.nats.store(subject, data));
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.state === 'reconnecting') {
      this.buffered.push({ subject, data });
      return;
    }
    if (this.state !== 'connected') throw new Error('not connected');
    this.nats.published.push({ subject, data });
    for (const s of this.nats.subs) if (subjectMatches(s.subject, subject)) s.fn({ subject, seq: 0, data, pending: 0 });
  }

  subscribe(subject: string, fn: (m: FleetMsg) => void): FleetSub {
    const s = { subject, fn, conn: this };
    this.nats.subs.add(s);
    return { stop: () => this.nats.subs.delete(s) };
  }

  follow(stream: string, filter: string, start: StartAt, fn: (m: FleetMsg) => void | Promise<void>): FleetSub {
    const st = this.nats.streams.get(stream);
    const f: Follower = { stream, filter, fn, conn: this };
    if (st) {
      const from = typeof start === 'object' ? start.seq : 0;
      const replay = st.msgs.filter((m) => m.seq >= from && subjectMatches(filter, m.subject));
      replay.forEach((m, i) => void fn({ subject: m.subject, seq: m.seq, data: m.data, pending: replay.length - i - 1 }));
    }
    this.nats.followers.add(f);
    return { stop: () => this.nats.followers.delete(f) };
  }

  fetchLastPerSubject(stream: string, filter: string): Promise<FleetMsg[]> {
    const st = this.nats.streams.get(stream);
    const last = new Map<string, Stored>();
    for (const m of st?.msgs ?? []) if (subjectMatches(filter, m.subject)) last.set(m.subject, m);
    return Promise.resolve([...last.values()].map((m) => ({ subject: m.subject, seq: m.seq, data: m.data, pending: 0 })));
  }

  kvGet(bucket: string, key: string): Promise<KvEntry | undefined> {
    const e = this.nats.kv.get(bucket)?.get(key);
    return Promise.resolve(e ? { key, revision: e.revision, value: e.value } : undefined);
  }

  kvPut(bucket: string, key: string, value: Uint8Array): Promise<number> {
    if (this.state !== 'connected') return Promise.reject(new Error('not connected'));
    return Promise.resolve(this.nats.kvPut(bucket, key, value));
  }

  kvDelete(bucket: string, key: string): Promise<void> {
    this.nats.kvPut(bucket, key, undefined);
    return Promise.resolve();
  }

  kvKeys(bucket: string): Promise<string[]> {
    return Promise.resolve([...(this.nats.kv.get(bucket)?.entries() ?? [])].filter(([, v]) => v.value !== undefined).map(([k]) => k));
  }

  kvWatch(bucket: string, key: string, fn: (e: KvEntry) => void): FleetSub {
    const cur = this.nats.kv.get(bucket)?.get(key);
    if (cur) fn({ key, revision: cur.revision, value: cur.value });
    const w = { bucket, key, fn, conn: this };
    this.nats.kvWatchers.add(w);
    return { stop: () => this.nats.kvWatchers.delete(w) };
  }

  streamInfo(stream: string): Promise<{ replicas: number; leader: string | undefined; messages: number; currentReplicas: number }> {
    return Promise.resolve({ replicas: 1, leader: 'fake', messages: this.nats.streams.get(stream)?.msgs.length ?? 0, currentReplicas: 1 });
  }

  close(): Promise<void> {
    this.setState('closed');
    return Promise.resolve();
  }
}

/** Lets queued promise callbacks run. */
export async function flushAsync(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
