/**
 * "Network attack detected" events: EVE-JSON compatible alert lines (docs/events.md).
 * - toAlertEvent: Detection → AlertEvent (pure).
 * - EventFolder: repeats of (source, signature) within a window fold into one event with a count.
 * - EventWriter: appends JSON lines to the event file through a bounded queue (drop-oldest),
 *   with size-based rotation; never blocks the packet path and never leaves a partial line.
 */
import { chmod, open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log/index.js';
import { errorMessage } from '../errors.js';
import type { Severity } from '../signatures/types.js';
import { APP_EVE_KEYS, type AlertEvent, type Detection } from './types.js';
import { printablePayload } from './detect/alert.js';

const EVE_SEVERITY: Record<Severity, number> = { critical: 1, high: 1, medium: 2, low: 3 };

/** EVE timestamp: local-offset ISO 8601 with microseconds, like Suricata ("2026-11-21T07:27:33.123456+0000"). */
export function eveTimestamp(ms: number): string {
  const d = new Date(Math.floor(ms));
  const us = Math.floor((ms - Math.floor(ms / 1000) * 1000) * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(us, 6)}+0000`
  );
}

/** Suricata's names of capture link types (util-datalink.c), "n/a" for others. */
const LINKTYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  9: 'PPP',
  12: 'RAW',
  101: 'RAW2',
  104: 'C_HDLC',
  113: 'LINUX_SLL',
  228: 'IPv4',
  229: 'IPv6',
  276: 'LINUX_SLL2',
  778: 'GRE_RAW',
};

export function linkTypeName(linkType: number): string {
  return LINKTYPE_NAMES[linkType] ?? 'n/a';
}

export interface AlertEventOptions {
  /** What the response layer did: 'blocked' when the source was blocked. */
  action: 'allowed' | 'blocked';
  /** Absolute end of the block (ms since the epoch). */
  blockedUntilMs?: number;
  /** Why a block was not applied although the signature asks for one (never-block, spoofable, rate cap, dry-run...). */
  blockSkipped?: string;
  /** Occurrences folded into this event (1 = just this one). */
  count: number;
  eventId: string;
  /** Write the payload fields (default true; config events.payload). */
  payload?: boolean;
  /** Write packet and packet_info (default true; config events.packet). */
  packet?: boolean;
  /**
   * Write alert.references (config events.references, on by default; unset here: not written).
   * Suricata 8's eve-log alert writes them only with `metadata.rule.reference: yes`.
   */
  references?: boolean;
  /** Suricata's alert `verdict.action` (offline scans: drop for a drop rule under --simulate-ips, else alert). */
  verdict?: 'alert' | 'drop';
}

export function toAlertEvent(d: Detection, o: AlertEventOptions): AlertEvent {
  const ev: AlertEvent = {
    timestamp: eveTimestamp(d.timestampMs),
    flow_id: d.flowId.toString(),
    event_type: 'alert',
    src_ip: d.srcIp,
    src_port: d.srcPort,
    dest_ip: d.destIp,
    dest_port: d.destPort,
    proto: d.proto,
    alert: {
      action: o.action,
      signature_id: d.signatureId,
      rev: d.rev,
      signature: d.signature,
      category: d.category,
      severity: EVE_SEVERITY[d.severity],
    },
    bulwark: {
      event: 'Network attack detected',
      event_id: o.eventId,
      attack: d.signature,
      severity: d.severity,
      count: o.count,
    },
  };
  if (d.pcapCnt !== undefined) ev.pcap_cnt = d.pcapCnt;
  if (o.verdict !== undefined) ev.verdict = { action: o.verdict };
  if (d.appProto !== undefined) ev.app_proto = d.appProto;
  if (d.appProtoOrig !== undefined) ev.app_proto_orig = d.appProtoOrig;
  if (d.txId !== undefined) ev.tx_id = d.txId;
  if (d.pktSrc !== undefined) ev.pkt_src = d.pktSrc;
  if (d.direction !== undefined) ev.direction = d.direction;
  if (d.flow !== undefined) {
    const f = d.flow;
    ev.flow = {
      pkts_toserver: f.pktsToServer,
      pkts_toclient: f.pktsToClient,
      bytes_toserver: f.bytesToServer,
      bytes_toclient: f.bytesToClient,
      start: eveTimestamp(f.startMs),
      src_ip: f.srcIp,
      dest_ip: f.destIp,
      src_port: f.srcPort,
      dest_port: f.destPort,
    };
  }
  if (d.payload !== undefined && o.payload !== false) {
    const pd = d.payload.data;
    // Suricata writes no payload keys for a stream match whose stream dump came out empty.
    if (pd.length > 0 || !d.payload.stream) {
      ev.payload = Buffer.from(pd.buffer, pd.byteOffset, pd.byteLength).toString('base64');
      ev.payload_printable = printablePayload(pd);
      ev.payload_length = pd.length;
    }
    ev.stream = d.payload.stream ? 1 : 0;
  }
  if (d.packet !== undefined && o.packet !== false) {
    ev.packet = Buffer.from(d.packet.data.buffer, d.packet.data.byteOffset, d.packet.data.byteLength).toString('base64');
    ev.packet_info = { linktype: d.packet.linkType, linktype_name: linkTypeName(d.packet.linkType) };
  }
  if (d.appEve !== undefined) for (const k of APP_EVE_KEYS) {
    const o = d.appEve[k];
    if (o !== undefined) ev[k] = o;
  }
  if (d.appFiles !== undefined && d.appFiles.length > 0) ev.files = [...d.appFiles];
  if (d.frame !== undefined) {
    const f = d.frame;
    const p = f.payload;
    ev.frame = {
      type: f.type, id: f.id, direction: f.direction, stream_offset: f.streamOffset, length: f.length, complete: f.complete,
      payload: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'), payload_printable: printablePayload(p),
    };
    if (f.txId !== undefined) ev.frame.tx_id = f.txId;
  }
  if (d.gid !== undefined) ev.alert.gid = d.gid;
  if (d.eve !== undefined) {
    ev.alert.category = d.eve.category;
    ev.alert.severity = d.eve.severity;
    if (o.references === true && d.eve.references.length > 0) ev.alert.references = [...d.eve.references];
  }
  if (d.metadata !== undefined && d.metadata.length > 0) {
    const md: Record<string, string[]> = {};
    for (const [k, v] of d.metadata) (md[k] ??= []).push(v);
    ev.alert.metadata = md;
  }
  if (d.target !== undefined) {
    // Suricata: target:dest_ip → the packet's destination is the target, its source the attacker.
    const src = { ip: d.srcIp, port: d.srcPort };
    const dst = { ip: d.destIp, port: d.destPort };
    ev.alert.source = d.target === 'dest_ip' ? src : dst;
    ev.alert.target = d.target === 'dest_ip' ? dst : src;
  }
  if (d.context !== undefined) ev.alert.context = d.context;
  if (d.flowvars !== undefined || d.pktvars !== undefined) {
    const md: NonNullable<AlertEvent['metadata']> = {};
    if (d.flowvars !== undefined) md.flowvars = d.flowvars.map(([k, v]) => ({ [k]: v }));
    if (d.pktvars !== undefined) md.pktvars = d.pktvars.map(([k, v]) => ({ [k]: v }));
    ev.metadata = md;
  }
  if (d.detector !== undefined) ev.bulwark.detector = d.detector;
  if (o.blockedUntilMs !== undefined) ev.bulwark.blocked_until = new Date(o.blockedUntilMs).toISOString();
  if (o.blockSkipped !== undefined) ev.bulwark.block_skipped = o.blockSkipped;
  if (d.payloadExcerpt !== undefined) ev.bulwark.payload_excerpt = d.payloadExcerpt.slice(0, 256);
  if (d.details !== undefined) ev.bulwark.details = d.details;
  if (d.evidence !== undefined) ev.bulwark.evidence = d.evidence;
  return ev;
}

interface FoldEntry {
  windowStartMs: number;
  /** Repeats since the window started (the first occurrence is not counted here). */
  repeats: number;
  last: Detection;
}

export interface EventFolderOptions {
  windowMs: number;
  /** Bound on (source, signature) keys; least recently seen keys are flushed when it is hit. */
  max?: number;
  /** Called with the last detection of a window and how many repeats were folded into it. */
  onFolded: (last: Detection, repeats: number) => void;
}

/**
 * Folds repeats: the first detection of a (source, signature) key is emitted at once
 * (offer returns true); later ones within `windowMs` (detection time) are counted and reported
 * once through onFolded when the window ends (tick), the key is evicted, or flush() is called.
 */
export class EventFolder {
  private readonly table: LRUCache<string, FoldEntry>;
  private readonly windowMs: number;
  private readonly onFolded: (last: Detection, repeats: number) => void;
  folded = 0;
  evicted = 0;

  constructor(o: EventFolderOptions) {
    this.windowMs = o.windowMs;
    this.onFolded = o.onFolded;
    this.table = new LRUCache<string, FoldEntry>({
      max: o.max ?? 10_000,
      dispose: (e, _k, reason) => {
        if (reason === 'evict') {
          this.evicted++;
          if (e.repeats > 0) this.onFolded(e.last, e.repeats);
        }
      },
    });
  }

  get size(): number {
    return this.table.size;
  }

  /** Returns true when `d` must be emitted now, false when it was folded into an open window. */
  offer(d: Detection): boolean {
    if (this.windowMs <= 0) return true;
    const key = `${d.srcIp}|${d.signatureId}`;
    const e = this.table.get(key);
    if (e !== undefined && d.timestampMs - e.windowStartMs < this.windowMs && d.timestampMs >= e.windowStartMs) {
      e.repeats++;
      e.last = d;
      this.folded++;
      return false;
    }
    if (e !== undefined && e.repeats > 0) this.onFolded(e.last, e.repeats);
    this.table.set(key, { windowStartMs: d.timestampMs, repeats: 0, last: d });
    return true;
  }

  /** Closes windows that ended before nowMs, reporting their repeats. */
  tick(nowMs: number): void {
    const done: string[] = [];
    for (const [k, e] of this.table.entries()) if (nowMs - e.windowStartMs >= this.windowMs) done.push(k);
    for (const k of done) {
      const e = this.table.get(k);
      if (e === undefined) continue;
      this.table.delete(k);
      if (e.repeats > 0) this.onFolded(e.last, e.repeats);
    }
  }

  /** Reports every open window with repeats (shutdown, end of an offline scan). */
  flush(): void {
    const all = [...this.table.values()];
    this.table.clear();
    for (const e of all) if (e.repeats > 0) this.onFolded(e.last, e.repeats);
  }
}

export interface EventWriterOptions {
  file: string;
  maxBytes: number;
  keep: number;
  queueSize: number;
  log: Logger;
  registry?: Registry;
}

/**
 * Event metrics are registered once per registry and shared by every writer on it (the service
 * re-creates its writer when the event file changes on reload; registering twice would throw).
 */
interface SharedEventMetrics {
  written: number;
  dropped: number;
  rotations: number;
  live: Set<EventWriter>;
}
const sharedByRegistry = new WeakMap<Registry, SharedEventMetrics>();

function sharedMetrics(registry: Registry): SharedEventMetrics {
  let m = sharedByRegistry.get(registry);
  if (m !== undefined) return m;
  const st: SharedEventMetrics = { written: 0, dropped: 0, rotations: 0, live: new Set() };
  m = st;
  sharedByRegistry.set(registry, st);
  new Counter({
    name: 'bulwark_events_written_total',
    help: 'Event lines written to the event file.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(st.written);
    },
  });
  new Counter({
    name: 'bulwark_events_dropped_total',
    help: 'Event lines dropped because the writer queue was full (oldest first) or the file failed.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(st.dropped);
    },
  });
  new Counter({
    name: 'bulwark_event_file_rotations_total',
    help: 'Event file rotations.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(st.rotations);
    },
  });
  new Gauge({
    name: 'bulwark_events_queued',
    help: 'Event lines waiting to be written.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const w of st.live) n += w.queued;
      this.set(n);
    },
  });
  return st;
}

/**
 * Cuts a partial last line (no trailing newline) off an open file; returns the new size. Reads at
 * most the last 64 KiB: a longer unterminated tail is ended with a newline instead.
 */
async function cutPartialLine(fh: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const n = Math.min(size, 64 * 1024);
  const tail = Buffer.alloc(n);
  await fh.read(tail, 0, n, size - n);
  if (tail[n - 1] === 0x0a) return size;
  const nl = tail.lastIndexOf(0x0a);
  if (nl < 0 && size > n) {
    await fh.write('\n');
    return size + 1;
  }
  const keep = size - n + nl + 1;
  await fh.truncate(keep);
  return keep;
}

export interface EventWriterStats {
  written: number;
  dropped: number;
  rotations: number;
  queued: number;
  errors: number;
}

/** Mode of a directory the writer creates for the event file (not subject to a loose umask). */
export const EVENTS_DIR_MODE = 0o750;

/**
 * Appends one JSON line per event. write() only enqueues (O(1)); a single async drain loop
 * writes batches. When the queue is full the oldest line is dropped and counted. When the file
 * would exceed maxBytes it is rotated: FILE → FILE.1 → … → FILE.keep (the oldest is deleted).
 *
 * Whole lines only: a batch is written until done or an error (ENOSPC, EIO); after a short or
 * failed write the file is truncated back to the end of the last complete line, the rest of the
 * batch is dropped and counted, and the next event starts on a fresh line. A file found ending in
 * a partial line when opened (a crash mid-write) is cut back the same way.
 */
export class EventWriter {
  private readonly q: string[] = [];
  private qHead = 0;
  private fh: FileHandle | null = null;
  private size = 0;
  private draining: Promise<void> | null = null;
  private closed = false;
  private readonly s: EventWriterStats = { written: 0, dropped: 0, rotations: 0, queued: 0, errors: 0 };

  private readonly shared: SharedEventMetrics | undefined;

  constructor(private readonly o: EventWriterOptions) {
    this.shared = o.registry ? sharedMetrics(o.registry) : undefined;
    this.shared?.live.add(this);
  }

  private count(k: 'written' | 'dropped' | 'rotations', n = 1): void {
    this.s[k] += n;
    if (this.shared) this.shared[k] += n;
  }

  /** Lines waiting in the queue. */
  get queued(): number {
    return this.q.length - this.qHead;
  }

  /** Enqueues one event (any JSON-serialisable object). Never blocks, never throws. */
  write(ev: object): void {
    if (this.closed) {
      this.count('dropped');
      return;
    }
    let line: string;
    try {
      line = JSON.stringify(ev) + '\n';
    } catch {
      this.count('dropped');
      return;
    }
    if (this.q.length - this.qHead >= this.o.queueSize) {
      this.qHead++;
      this.count('dropped');
    }
    this.q.push(line);
    if (this.qHead > 1024 && this.qHead * 2 > this.q.length) {
      this.q.splice(0, this.qHead);
      this.qHead = 0;
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async openFile(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    const created = await mkdir(dirname(this.o.file), { recursive: true, mode: EVENTS_DIR_MODE });
    // mkdir's mode is masked by the umask (0777 under `umask 000` before): set it exactly.
    if (created !== undefined) await chmod(dirname(this.o.file), EVENTS_DIR_MODE);
    const fh = await open(this.o.file, 'a+', 0o640);
    try {
      this.size = await cutPartialLine(fh, (await fh.stat()).size);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.fh = fh;
    return fh;
  }

  /**
   * Writes the batch's lines in full, or truncates back to the end of the last line that was
   * written completely. Returns how many lines are in the file; throws (after truncating) when
   * not all of them could be written.
   */
  private async writeLines(fh: FileHandle, lines: string[]): Promise<number> {
    const buf = Buffer.from(lines.join(''));
    let done = 0;
    let error: unknown;
    while (done < buf.length) {
      try {
        const { bytesWritten } = await fh.write(buf, done, buf.length - done);
        if (bytesWritten <= 0) throw new Error('write made no progress');
        done += bytesWritten;
      } catch (e) {
        error = e;
        break;
      }
    }
    if (error === undefined) return lines.length;
    // Keep the whole lines that made it, cut the partial one.
    let keep = 0;
    let complete = 0;
    for (const l of lines) {
      const n = Buffer.byteLength(l);
      if (keep + n > done) break;
      keep += n;
      complete++;
    }
    try {
      await fh.truncate(this.size + keep);
    } catch (e) {
      this.o.log.error({ err: e, file: this.o.file }, 'event file: cannot cut a partial line after a failed write');
    }
    this.size += keep;
    this.count('written', complete);
    throw Object.assign(error instanceof Error ? error : new Error(errorMessage(error)), { linesWritten: complete });
  }

  private async rotate(): Promise<void> {
    if (this.fh) {
      await this.fh.close();
      this.fh = null;
    }
    const f = this.o.file;
    if (this.o.keep <= 0) {
      await rm(f, { force: true });
    } else {
      await rm(`${f}.${this.o.keep}`, { force: true });
      for (let i = this.o.keep - 1; i >= 1; i--) {
        await rename(`${f}.${i}`, `${f}.${i + 1}`).catch(() => undefined);
      }
      await rename(f, `${f}.1`).catch(() => undefined);
    }
    this.count('rotations');
  }

  private async drain(): Promise<void> {
    while (this.q.length - this.qHead > 0) {
      const batch: string[] = [];
      let bytes = 0;
      let rotateFirst = false;
      try {
        await this.openFile();
      } catch (e) {
        this.fail(e, this.q.length - this.qHead);
        this.q.length = 0;
        this.qHead = 0;
        return;
      }
      // A batch never crosses the size limit: lines that would are written after a rotation.
      while (this.qHead < this.q.length && batch.length < 512) {
        const l = this.q[this.qHead]!;
        const n = Buffer.byteLength(l);
        if (this.size + bytes + n > this.o.maxBytes && this.size + bytes > 0) {
          if (batch.length === 0) rotateFirst = true;
          else break;
        }
        if (rotateFirst && batch.length > 0 && bytes + n > this.o.maxBytes) break;
        batch.push(l);
        bytes += n;
        this.qHead++;
      }
      if (this.qHead === this.q.length) {
        this.q.length = 0;
        this.qHead = 0;
      }
      try {
        if (rotateFirst) await this.rotate();
        const fh = await this.openFile();
        await this.writeLines(fh, batch);
        this.size += bytes;
        this.count('written', batch.length);
      } catch (e) {
        const written = (e as { linesWritten?: number }).linesWritten ?? 0;
        this.fail(e, batch.length - written);
      }
    }
  }

  private fail(e: unknown, lines: number): void {
    this.s.errors++;
    this.count('dropped', lines);
    this.o.log.warn({ err: e, file: this.o.file }, 'event file write failed');
    const fh = this.fh;
    this.fh = null;
    if (fh) fh.close().catch(() => undefined);
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.shared?.live.delete(this);
    if (this.fh) {
      await this.fh.close();
      this.fh = null;
    }
  }

  stats(): EventWriterStats {
    return { ...this.s, queued: this.q.length - this.qHead };
  }
}
