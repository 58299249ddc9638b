/**
 * SMB over TCP: NetBIOS session service (RFC 1002 4.3) records in both directions, each holding
 * an SMB1 ("\xffSMB"), SMB2 ("\xfeSMB"), SMB3 transform ("\xfdSMB", encrypted: skipped) or
 * compression transform ("\xfcSMB": skipped) message. Records may span segments and are
 * buffered up to `maxRecordBytes`; gaps inside a record of known length are skipped, other gaps
 * resynchronise on the next NBSS header followed by an SMB signature.
 */
import type { AppDirection, AppFrame, AppParser, AppParserState, AppTx } from '../types.js';
import { FrameLog, StreamPos } from '../frames.js';
import { nbssFrames, smbFrames } from './frames.js';
import { DceConn, DceIfaceTable, dceHeaderOk, type DceCall, type DceSink } from '../dcerpc/conn.js';
import { DEFAULT_DCERPC_LIMITS, type DcerpcCounter } from '../dcerpc/types.js';
import { smb1Record } from './smb1.js';
import { smb2Record } from './smb2.js';
import type { PendingRequest, SmbState, SmbTree } from './state.js';
import { SmbTx } from './tx.js';
import { SmbFileTx } from './file.js';
import { DEFAULT_SMB_LIMITS, type SmbCounter, type SmbLimits, type SmbTxKind } from './types.js';

const NBSS_HDR = 4;

interface Side {
  /** Header bytes of the record being read (< 4 while incomplete). */
  hdr: Uint8Array;
  hdrLen: number;
  /** Current record: declared length, bytes kept (≤ maxRecordBytes), bytes still to skip. */
  recLen: number;
  rec: Uint8Array | null;
  recHave: number;
  skip: number;
  /** Bytes consumed of the current record (kept or skipped). */
  recSeen: number;
  /** Lost framing after a gap: search for the next record start. */
  resync: boolean;
  /** Tail kept while resynchronising (a header split over feeds). */
  tail: Uint8Array;
  /** Stream position of the current record's NBSS header (frames). */
  recPos: number;
}

function newSide(): Side {
  return { hdr: new Uint8Array(NBSS_HDR), hdrLen: 0, recLen: 0, rec: null, recHave: 0, skip: 0, recSeen: 0, resync: false, tail: new Uint8Array(0), recPos: 0 };
}

/** "\xffSMB" / "\xfeSMB" / "\xfdSMB" / "\xfcSMB" at `o`. */
function smbMagic(d: Uint8Array, o: number): number {
  if (o + 4 > d.length) return -1;
  const m = d[o]!;
  if ((m === 0xff || m === 0xfe || m === 0xfd || m === 0xfc) && d[o + 1] === 0x53 && d[o + 2] === 0x4d && d[o + 3] === 0x42) return m;
  return -1;
}

export class SmbParser implements AppParser, SmbState {
  readonly limits: Readonly<SmbLimits>;
  private readonly sides: Record<AppDirection, Side> = { to_server: newSide(), to_client: newSide() };
  private readonly list: AppTx[] = [];
  private readonly counts: Record<string, number> = {};
  private nextTxId = 0;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly trees = new Map<string, SmbTree>();
  private readonly pipes = new Map<string, DceConn>();
  /** Names of open files by file key (from their CREATE), and the live file tx per file key and direction. */
  private readonly fileNames = new Map<string, Uint8Array>();
  private readonly files = new Map<string, SmbFileTx>();
  /** File bytes kept by the live file txs (bounded by maxFileBytesPerFlow). */
  private fileBytes = 0;
  private readonly ifaces = new DceIfaceTable('smb');
  private readonly dceSink: DceSink;
  /** Frames (only when asked for: `frames` option) and the stream position they are counted in. */
  private readonly frames: FrameLog | null;
  private readonly pos = new StreamPos();

  constructor(limits: Partial<SmbLimits> = {}, opts: { frames?: boolean } = {}) {
    this.limits = Object.freeze({ ...DEFAULT_SMB_LIMITS, ...limits });
    this.frames = opts.frames === true ? new FrameLog() : null;
    this.dceSink = {
      nextId: () => this.nextTxId++,
      added: (tx) => {
        this.addTx(tx);
      },
      count: (name: DcerpcCounter, n = 1) => {
        this.count(`dcerpc_${name}`, n);
      },
    };
  }

  // ---- AppParser

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    const n = Math.max(0, Math.min(len, data.length - off));
    const at = this.pos.advance(dir, n);
    this.consume(dir, data, off, off + n, at - off);
  }

  takeFrames(dir: AppDirection): readonly AppFrame[] {
    return this.frames === null ? [] : this.frames.take(dir);
  }

  /** Parses data[o, end); `base + i` is the stream position of data[i]. */
  private consume(dir: AppDirection, data: Uint8Array, from: number, end: number, base: number): void {
    const s = this.sides[dir];
    let o = from;
    while (o < end) {
      if (s.resync) {
        o = this.resync(dir, s, data, o, end, base);
        continue;
      }
      if (s.skip > 0) {
        const n = Math.min(s.skip, end - o);
        s.skip -= n;
        s.recSeen += n;
        o += n;
        if (s.skip === 0) this.finishRecord(dir, s);
        continue;
      }
      if (s.rec === null) {
        if (s.hdrLen === 0) s.recPos = base + o;
        const n = Math.min(NBSS_HDR - s.hdrLen, end - o);
        s.hdr.set(data.subarray(o, o + n), s.hdrLen);
        s.hdrLen += n;
        o += n;
        if (s.hdrLen === NBSS_HDR) this.startRecord(dir, s);
        continue;
      }
      const want = s.rec.length - s.recHave;
      const n = Math.min(want, end - o);
      s.rec.set(data.subarray(o, o + n), s.recHave);
      s.recHave += n;
      s.recSeen += n;
      o += n;
      if (s.recHave === s.rec.length) {
        if (s.recLen > s.rec.length) s.skip = s.recLen - s.rec.length;
        if (s.skip === 0) this.finishRecord(dir, s);
      }
    }
  }

  gap(dir: AppDirection, len: number): void {
    const s = this.sides[dir];
    this.pos.advance(dir, len);
    this.count('gaps');
    for (const c of this.pipes.values()) c.gap(dir);
    if (s.resync) return;
    // Inside a record of known length: skip the missing bytes and keep the framing (the
    // record's content is incomplete, so it is not parsed).
    if (s.rec !== null || s.skip > 0) {
      const left = s.recLen - s.recSeen;
      if (len <= left) {
        this.count('gap_skipped_in_record');
        s.rec = null;
        s.recHave = 0;
        s.skip = left - len;
        s.recSeen += len;
        if (s.skip === 0) this.resetRecord(s);
        return;
      }
    }
    this.resetRecord(s);
    s.resync = true;
    s.tail = new Uint8Array(0);
  }

  end(dir: AppDirection): void {
    for (const c of this.pipes.values()) c.end(dir);
    for (const t of this.list) {
      if (t instanceof SmbTx) {
        if (dir === 'to_server') t.reqDone = true;
        else t.respDone = true;
      } else if (t instanceof SmbFileTx && t.direction === dir) {
        t.closed = true;
        this.files.delete(`${t.fileKey}|${dir}`);
      }
    }
  }

  readonly state: AppParserState = 'ok';
  readonly failReason = null;
  readonly upgradeTo = null;

  txs(): Iterable<AppTx> {
    return this.list;
  }

  release(id: number): void {
    let k = 0;
    while (k < this.list.length && this.list[k]!.id <= id) k++;
    for (const t of this.list.splice(0, k)) this.forgetFile(t);
    for (const c of this.pipes.values()) c.release(id);
  }

  memory(): number {
    let m = 0;
    for (const s of Object.values(this.sides)) m += (s.rec?.length ?? 0) + s.tail.length;
    for (const t of this.list) m += t instanceof SmbTx || t instanceof SmbFileTx ? t.memory() : 0;
    for (const c of this.pipes.values()) m += c.memory();
    m += (this.pending.size + this.trees.size + this.fileNames.size) * 96;
    return m;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  // ---- SmbState

  count(name: SmbCounter | `dcerpc_${DcerpcCounter}`, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  newTx(version: 1 | 2, command: number, kind: SmbTxKind, key: string): SmbTx {
    const tx = new SmbTx(this.nextTxId++, version, command, kind, key);
    this.count('transactions');
    this.addTx(tx);
    return tx;
  }

  txByKey(key: string): SmbTx | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const t = this.list[i]!;
      if (t instanceof SmbTx && t.key === key && !t.respDone) return t;
    }
    return undefined;
  }

  /** The newest NEGOTIATE tx still waiting: an SMB2 NEGOTIATE response may answer an SMB1 request. */
  negotiateTx(): SmbTx | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const t = this.list[i]!;
      if (t instanceof SmbTx && t.kind === 'negotiate' && !t.respDone) return t;
    }
    return undefined;
  }

  setPending(key: string, p: PendingRequest): void {
    if (this.pending.size >= this.limits.maxPendingRequests && !this.pending.has(key)) {
      this.count('limit_pending_requests');
      const first = this.pending.keys().next();
      if (!first.done) this.pending.delete(first.value);
    }
    this.pending.set(key, p);
  }

  takePending(key: string): PendingRequest | undefined {
    const p = this.pending.get(key);
    if (p) this.pending.delete(key);
    return p;
  }

  setTree(key: string, t: SmbTree): void {
    if (this.trees.size >= this.limits.maxTrees && !this.trees.has(key)) {
      this.count('limit_trees');
      const first = this.trees.keys().next();
      if (!first.done) this.trees.delete(first.value);
    }
    this.trees.set(key, t);
  }

  tree(key: string): SmbTree | undefined {
    return this.trees.get(key);
  }

  pipeData(dir: AppDirection, version: 1 | 2, treeKey: string | undefined, fileKey: string, data: Uint8Array, fileOffset: number | null = null): void {
    if (data.length === 0) return;
    let conn = this.pipes.get(fileKey);
    if (!conn) {
      const tree = treeKey === undefined ? undefined : this.trees.get(treeKey);
      // A known disk tree carries file data, not DCERPC. A pipe tree, or a tree whose connect
      // was not seen, is DCERPC when the data starts with a valid DCERPC header (Suricata's
      // smb_dcerpc_probe fallback for missed TREE_CONNECTs); an unknown tree's other data is a file.
      if (tree && !tree.isPipe) {
        if (fileOffset !== null) this.fileData(dir, version, fileKey, fileOffset, data);
        return;
      }
      if (!dceHeaderOk(data, 0, data.length)) {
        if (!tree && fileOffset !== null) this.fileData(dir, version, fileKey, fileOffset, data);
        return;
      }
      if (this.pipes.size >= this.limits.maxPipes) {
        this.count('limit_pipes');
        const first = this.pipes.keys().next();
        if (!first.done) this.pipes.delete(first.value);
      }
      conn = new DceConn('smb', this.ifaces, DEFAULT_DCERPC_LIMITS, this.dceSink, version);
      this.pipes.set(fileKey, conn);
    }
    this.count('dcerpc_records');
    conn.feed(dir, data, 0, data.length, version);
  }

  closeFile(fileKey: string): void {
    this.pipes.delete(fileKey);
    this.fileNames.delete(fileKey);
    for (const dir of ['to_server', 'to_client'] as const) {
      const f = this.files.get(`${fileKey}|${dir}`);
      if (f) {
        f.closed = true;
        this.files.delete(`${fileKey}|${dir}`);
      }
    }
  }

  openFile(fileKey: string, name: Uint8Array): void {
    if (this.fileNames.size >= this.limits.maxFiles && !this.fileNames.has(fileKey)) {
      this.count('limit_files');
      const first = this.fileNames.keys().next();
      if (!first.done) this.fileNames.delete(first.value);
    }
    this.fileNames.set(fileKey, name);
  }

  /** File content of a READ response / WRITE request at `at` in the file (see ./file.ts). */
  private fileData(dir: AppDirection, version: 1 | 2, fileKey: string, at: number, data: Uint8Array): void {
    if (at < 0 || !Number.isSafeInteger(at)) {
      this.count('malformed');
      return;
    }
    const key = `${fileKey}|${dir}`;
    let f = this.files.get(key);
    if (!f) {
      if (this.files.size >= this.limits.maxFiles) {
        // The oldest live file stops collecting (its tx stays until inspected and released).
        this.count('limit_files');
        const first = this.files.entries().next();
        if (!first.done) {
          first.value[1].closed = true;
          this.files.delete(first.value[0]);
        }
      }
      f = new SmbFileTx(this.nextTxId++, version, fileKey, dir, this.fileNames.get(fileKey) ?? null);
      this.files.set(key, f);
      this.count('transactions');
      this.addTx(f);
    }
    this.count('file_bytes', data.length);
    // Suricata (smb1/smb2 READ/WRITE handling): data starting before what the file tracker has
    // in order so far raises `file_overlap`, on a tx of its own (SMBState::set_event).
    const overlapping = at < f.prefix();
    const r = f.add(data, at, this.limits.maxFileDataBytes, this.limits.maxFileBytesPerFlow - this.fileBytes, this.limits.maxFileRanges);
    this.fileBytes += r.kept;
    if (r.overlap > 0) this.count('file_overlap_bytes', r.overlap);
    if (overlapping) this.eventTx(version, dir, 'file_overlap');
    if (r.refused) this.count('limit_file_ranges');
    else if (r.cut > 0) this.count('limit_file_data');
  }

  /** An event on a tx of its own, complete both ways (Suricata's SMBState::set_event). */
  private eventTx(version: 1 | 2, dir: AppDirection, name: string): void {
    const cmd = version === 1 ? (dir === 'to_server' ? 0x2f : 0x2e) : dir === 'to_server' ? 0x09 : 0x08;
    const tx = this.newTx(version, cmd, 'generic', `event:${this.nextTxId}`);
    tx.reqDone = true;
    tx.respDone = true;
    tx.events.push(`smb.${name}`);
    if (name === 'file_overlap') this.count('event_file_overlap');
  }

  /** A tx leaves the list (released or dropped over the limit): its file bytes leave the flow's budget. */
  private forgetFile(t: AppTx): void {
    if (!(t instanceof SmbFileTx)) return;
    this.fileBytes -= t.kept();
    const key = `${t.fileKey}|${t.direction}`;
    if (this.files.get(key) === t) this.files.delete(key);
  }

  name(d: Uint8Array): Uint8Array {
    if (d.length <= this.limits.maxNameBytes) return d.slice();
    this.count('limit_name_bytes');
    return d.slice(0, this.limits.maxNameBytes);
  }

  /** DCERPC calls carried on this flow's pipes (tests, EVE). */
  dceCalls(): DceCall[] {
    return [...this.pipes.values()].flatMap((c) => c.calls);
  }

  // ---- framing

  private addTx(tx: AppTx): void {
    if (this.list.length >= this.limits.maxTransactions) {
      this.count('limit_transactions');
      const old = this.list.shift();
      if (old !== undefined) this.forgetFile(old);
    }
    this.list.push(tx);
  }

  private startRecord(dir: AppDirection, s: Side): void {
    const h = s.hdr;
    // Length: 17 bits per RFC 1002 + the extension bit; SMB2 direct TCP uses 24 bits (MS-SMB2 2.1).
    s.recLen = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
    s.hdrLen = 0;
    s.recSeen = 0;
    this.count('records');
    if (this.frames !== null) nbssFrames(this.frames, dir, s.recPos, s.recLen);
    if (h[0] !== 0x00) {
      // Session request/response, keep-alive...: no SMB inside.
      this.count('nbss_control');
      s.rec = null;
      s.skip = s.recLen;
      if (s.skip === 0) this.resetRecord(s);
      return;
    }
    if (s.recLen === 0) {
      this.resetRecord(s);
      return;
    }
    const keep = Math.min(s.recLen, this.limits.maxRecordBytes);
    if (keep < s.recLen) this.count('limit_record_bytes');
    s.rec = new Uint8Array(keep);
    s.recHave = 0;
  }

  private finishRecord(dir: AppDirection, s: Side): void {
    const rec = s.rec;
    const complete = rec !== null && s.recHave === rec.length;
    const recLen = s.recLen;
    this.resetRecord(s);
    if (!complete) return;
    if (this.frames !== null) smbFrames(this.frames, dir, rec, recLen, s.recPos + NBSS_HDR);
    switch (smbMagic(rec, 0)) {
      case 0xff:
        this.count('smb1_records');
        smb1Record(this, dir, rec);
        return;
      case 0xfe:
        this.count('smb2_records');
        smb2Record(this, dir, rec);
        return;
      case 0xfd:
        this.count('encrypted_records');
        return;
      case 0xfc:
        this.count('compressed_records');
        return;
      default:
        this.count('not_smb');
    }
  }

  private resetRecord(s: Side): void {
    s.rec = null;
    s.recHave = 0;
    s.recLen = 0;
    s.skip = 0;
    s.recSeen = 0;
    s.hdrLen = 0;
  }

  /**
   * After a gap: find "00 LL LL LL" followed by an SMB signature, start the record there.
   * Returns the offset in `data` where normal parsing resumes (or `end` when not found yet).
   */
  private resync(dir: AppDirection, s: Side, data: Uint8Array, o: number, end: number, base: number): number {
    const joinedAt = base + o - s.tail.length;
    const joined = new Uint8Array(s.tail.length + (end - o));
    joined.set(s.tail);
    joined.set(data.subarray(o, end), s.tail.length);
    for (let k = 0; k + 8 <= joined.length; k++) {
      if (joined[k] === 0 && smbMagic(joined, k + 4) >= 0) {
        s.resync = false;
        s.tail = new Uint8Array(0);
        this.count('gap_resynced');
        // Feed the bytes from the found header on (they may start inside the old tail).
        this.consume(dir, joined, k, joined.length, joinedAt);
        return end;
      }
    }
    s.tail = joined.slice(Math.max(0, joined.length - 7));
    return end;
  }
}
