/**
 * DCERPC connection-oriented state: PDU framing per direction (PDUs split over segments or SMB
 * writes), BIND/BIND_ACK interface tracking, REQUEST/RESPONSE calls with stub data reassembled
 * over fragments. Used for DCERPC over TCP (one per flow) and over SMB (one per named pipe,
 * sharing the flow's interface table the way Suricata keeps one list per SMB state).
 */
import type { AppDirection, AppTx } from '../types.js';
import {
  DCE_HDR_LEN, DcePtype, PFC_FIRST_FRAG, PFC_LAST_FRAG, PFC_OBJECT_UUID,
  type DceIfaceEntry, type DcerpcCounter, type DcerpcLimits, type DceTransport,
} from './types.js';

/** Chunks appended in order, concatenated on read (cached until the next append). */
export class ByteAccumulator {
  private chunks: Uint8Array[] = [];
  private joined: Uint8Array | null = null;
  length = 0;
  append(d: Uint8Array): void {
    if (d.length === 0) return;
    this.chunks.push(d);
    this.length += d.length;
    this.joined = null;
  }
  bytes(): Uint8Array {
    if (this.joined) return this.joined;
    if (this.chunks.length === 1) return (this.joined = this.chunks[0]!);
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = out.length > 0 ? [out] : [];
    return (this.joined = out);
  }
}

/**
 * Interfaces bound on a connection. Over TCP, accepted interfaces accumulate (an entry with the
 * same context id replaces the older one); over SMB a BIND replaces the list (Suricata's
 * `dcerpc_ifaces` of the SMB state). BIND_ACK results apply by position to the last BIND.
 */
export class DceIfaceTable {
  private pending: DceIfaceEntry[] = [];
  private accepted: DceIfaceEntry[] = [];
  constructor(private readonly transport: DceTransport) {}
  bind(entries: DceIfaceEntry[]): void {
    this.pending = entries;
    if (this.transport === 'smb') this.accepted = entries;
  }
  ack(results: readonly number[]): void {
    for (const e of this.pending) {
      const r = results[e.index];
      if (r === undefined) continue;
      e.acked = true;
      e.result = r;
      if (this.transport === 'tcp' && r === 0) {
        this.accepted = this.accepted.filter((a) => a.ctxid !== e.ctxid);
        this.accepted.push(e);
      }
    }
  }
  /** Interfaces a rule's `dcerpc.iface` is checked against. */
  entries(): readonly DceIfaceEntry[] {
    return this.accepted;
  }
}

/** One DCERPC call (a BIND/BIND_ACK exchange or a REQUEST/RESPONSE pair), keyed by call_id. */
export class DceCall implements AppTx {
  reqCmd = -1;
  respCmd = -1;
  ctxid = 0;
  opnum = 0;
  firstRequestSeen = false;
  reqDone = false;
  respDone = false;
  reqFrags = 0;
  respFrags = 0;
  /** Data representation of the last PDU: true little-endian (drep[0] & 0x10). */
  littleEndian = true;

  /** AppTx: byte_test/byte_jump `dce` read the stub data in this byte order. */
  get dceLittleEndian(): boolean {
    return this.littleEndian;
  }
  rpcVersionMinor = 0;
  readonly stubTs = new ByteAccumulator();
  readonly stubTc = new ByteAccumulator();
  stubTruncated = false;
  readonly events: string[] = [];
  constructor(
    readonly id: number,
    readonly callId: number,
    readonly transport: DceTransport,
    readonly ifaces: DceIfaceTable,
    /** SMB version (1 or 2) of the command that carried it; 0 over TCP. */
    readonly smbVersion: number,
  ) {}
  progress(dir: AppDirection): number {
    return this.complete(dir) ? 1 : 0;
  }
  complete(dir: AppDirection): boolean {
    return dir === 'to_server' ? this.reqDone : this.respDone;
  }
  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (name !== 'dcerpc.stub_data') return null;
    const acc = dir === 'to_server' ? this.stubTs : this.stubTc;
    // Suricata hands the stub buffer whenever the tx exists; an empty one matches nothing.
    return acc.length > 0 ? acc.bytes() : null;
  }
  multiBuffer(): readonly Uint8Array[] {
    return [];
  }
  memory(): number {
    return this.stubTs.length + this.stubTc.length + 128;
  }
}

/** What a connection reports to its owner (the TCP parser or the SMB parser). */
export interface DceSink {
  /** Next tx id of the flow (ids are per flow, shared with SMB commands over SMB). */
  nextId(): number;
  added(tx: DceCall): void;
  count(name: DcerpcCounter, n?: number): void;
}

function u16(d: Uint8Array, o: number, le: boolean): number {
  return le ? d[o]! | (d[o + 1]! << 8) : (d[o]! << 8) | d[o + 1]!;
}
function u32(d: Uint8Array, o: number, le: boolean): number {
  return le
    ? (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0
    : ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
}

/** A UUID from the wire (first three fields in the PDU's byte order) in canonical byte order. */
export function wireUuid(d: Uint8Array, o: number, le: boolean): Uint8Array {
  const u = d.slice(o, o + 16);
  if (le) {
    u.set([d[o + 3]!, d[o + 2]!, d[o + 1]!, d[o]!, d[o + 5]!, d[o + 4]!, d[o + 7]!, d[o + 6]!], 0);
  }
  return u;
}

/** A valid connection-oriented header at `o` (Suricata's header check: version 5, minor 0 or 1). */
export function dceHeaderOk(d: Uint8Array, o: number, len: number): boolean {
  if (len - o < DCE_HDR_LEN) return false;
  if (d[o] !== 5 || (d[o + 1] !== 0 && d[o + 1] !== 1)) return false;
  const le = (d[o + 4]! & 0x10) !== 0;
  return u16(d, o + 8, le) >= DCE_HDR_LEN;
}

/** Per-direction PDU assembler state. */
interface Side {
  pending: Uint8Array;
  pendingLen: number;
  /** After a gap: look for the next "05 00" before parsing (Suricata's resync). */
  resync: boolean;
  failed: boolean;
}

/**
 * DCERPC over one byte stream pair (a TCP flow or one SMB pipe). `feed` takes in-order bytes of
 * one direction; complete PDUs are processed as soon as they are whole.
 */
export class DceConn {
  private readonly sides: Record<AppDirection, Side> = {
    to_server: { pending: new Uint8Array(0), pendingLen: 0, resync: false, failed: false },
    to_client: { pending: new Uint8Array(0), pendingLen: 0, resync: false, failed: false },
  };
  /** Live calls of this connection, oldest first. */
  readonly calls: DceCall[] = [];

  constructor(
    readonly transport: DceTransport,
    readonly ifaces: DceIfaceTable,
    private readonly limits: Readonly<DcerpcLimits>,
    private readonly sink: DceSink,
    private readonly smbVersion = 0,
  ) {}

  /**
   * Called for every PDU taken from `dir` with its length and how many bytes before the end of
   * the data fed so far it starts (DCERPC over TCP places its frames with it).
   */
  onPdu: ((dir: AppDirection, back: number, len: number) => void) | null = null;

  /** True once a direction stopped for good (bad header, pending limit). */
  failed(dir: AppDirection): boolean {
    return this.sides[dir].failed;
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number, smbVersion?: number): void {
    const s = this.sides[dir];
    if (s.failed || len <= 0) return;
    if (s.pendingLen + len > this.limits.maxPendingBytes) {
      this.sink.count('limit_pending_bytes');
      s.failed = true;
      s.pending = new Uint8Array(0);
      s.pendingLen = 0;
      return;
    }
    if (s.pending.length < s.pendingLen + len) {
      const grown = new Uint8Array(Math.max(s.pendingLen + len, s.pending.length * 2, 64));
      grown.set(s.pending.subarray(0, s.pendingLen));
      s.pending = grown;
    }
    s.pending.set(data.subarray(off, off + len), s.pendingLen);
    s.pendingLen += len;
    this.drain(dir, s, smbVersion ?? this.smbVersion);
  }

  /** Bytes are missing in `dir`: drop the partial PDU and resynchronise on the next header. */
  gap(dir: AppDirection): void {
    const s = this.sides[dir];
    this.sink.count('gaps');
    s.pendingLen = 0;
    s.resync = true;
    // Calls waiting for more of this direction will not get it: Suricata marks them done.
    for (const c of this.calls) {
      if (dir === 'to_server') c.reqDone = true;
      else c.respDone = true;
    }
  }

  /** The direction ended: calls waiting on it are done. */
  end(dir: AppDirection): void {
    for (const c of this.calls) {
      if (dir === 'to_server') c.reqDone = true;
      else c.respDone = true;
    }
  }

  memory(): number {
    let m = this.sides.to_server.pending.length + this.sides.to_client.pending.length;
    for (const c of this.calls) m += c.memory();
    return m;
  }

  release(id: number): void {
    while (this.calls.length > 0 && this.calls[0]!.id <= id) this.calls.shift();
    // Calls in the middle (ids interleaved with SMB commands) go when their id is released too.
    for (let i = this.calls.length - 1; i >= 0; i--) if (this.calls[i]!.id <= id) this.calls.splice(i, 1);
  }

  private drain(dir: AppDirection, s: Side, smbVersion: number): void {
    let o = 0;
    const d = s.pending;
    const n = s.pendingLen;
    while (o < n) {
      if (s.resync) {
        let k = o;
        while (k + 1 < n && !(d[k] === 5 && d[k + 1] === 0)) k++;
        if (k + 1 >= n) {
          o = k; // keep a trailing 05 candidate
          break;
        }
        o = k;
        if (n - o < DCE_HDR_LEN) break;
        if (!dceHeaderOk(d, o, n)) {
          o += 1;
          continue;
        }
        s.resync = false;
        this.sink.count('resyncs');
      }
      if (n - o < DCE_HDR_LEN) break;
      if (!dceHeaderOk(d, o, n)) {
        this.sink.count('bad_header');
        if (this.transport === 'tcp') {
          // Suricata's TCP parser errors out: the direction stops.
          s.failed = true;
          s.pendingLen = 0;
          return;
        }
        // On a pipe each SMB read/write is its own record: look for the next PDU instead.
        s.resync = true;
        continue;
      }
      const le = (d[o + 4]! & 0x10) !== 0;
      const fragLen = u16(d, o + 8, le);
      if (n - o < fragLen) break;
      this.sink.count('pdus');
      this.onPdu?.(dir, n - o, fragLen);
      this.pdu(dir, d.subarray(o, o + fragLen), smbVersion);
      o += fragLen;
    }
    if (o > 0) {
      d.copyWithin(0, o, n);
      s.pendingLen = n - o;
    }
    if (s.pendingLen === 0 && s.pending.length > 4096) s.pending = new Uint8Array(0);
  }

  private newCall(callId: number, smbVersion: number): DceCall {
    if (this.calls.length >= this.limits.maxTransactions) {
      this.sink.count('limit_transactions');
      this.calls.shift();
    }
    const c = new DceCall(this.sink.nextId(), callId, this.transport, this.ifaces, smbVersion);
    this.calls.push(c);
    this.sink.count('transactions');
    this.sink.added(c);
    return c;
  }

  /** The open call for `callId` in `dir` (a request not yet complete, or a call awaiting its response). */
  private findCall(callId: number, dir: AppDirection): DceCall | undefined {
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const c = this.calls[i]!;
      if (c.callId !== callId) continue;
      if (dir === 'to_server' ? !c.reqDone || c.reqCmd === -1 : c.respCmd === -1 || !c.respDone) return c;
    }
    return undefined;
  }

  private pdu(dir: AppDirection, p: Uint8Array, smbVersion: number): void {
    const ptype = p[2]!;
    const flags = p[3]!;
    const le = (p[4]! & 0x10) !== 0;
    const callId = u32(p, 12, le);
    const body = DCE_HDR_LEN;
    switch (ptype) {
      case DcePtype.BIND:
      case DcePtype.ALTER_CONTEXT: {
        if (dir !== 'to_server' || p.length < body + 12) { this.bad(); return; }
        const num = p[body + 8]!;
        const entries: DceIfaceEntry[] = [];
        let o = body + 12;
        for (let i = 0; i < num; i++) {
          if (o + 4 > p.length) { this.bad(); return; }
          const ctxid = u16(p, o, le);
          const ntrans = p[o + 2]!;
          const itemLen = 4 + 20 + 20 * ntrans;
          if (o + itemLen > p.length) { this.bad(); return; }
          if (entries.length < this.limits.maxContextItems) {
            entries.push({
              uuid: wireUuid(p, o + 4, le),
              version: u16(p, o + 20, le),
              versionMinor: u16(p, o + 22, le),
              ctxid,
              index: i,
              firstFrag: (flags & PFC_FIRST_FRAG) !== 0,
              acked: false,
              result: -1,
            });
          } else this.sink.count('limit_context_items');
          o += itemLen;
        }
        this.ifaces.bind(entries);
        const c = this.newCall(callId, smbVersion);
        c.reqCmd = ptype;
        c.reqDone = true;
        c.reqFrags = 1;
        c.littleEndian = le;
        c.rpcVersionMinor = p[1]!;
        return;
      }
      case DcePtype.BIND_ACK:
      case DcePtype.ALTER_CONTEXT_RESP: {
        if (p.length < body + 10) { this.bad(); return; }
        const secLen = u16(p, body + 8, le);
        let o = body + 10 + secLen;
        o += (4 - (o % 4)) % 4; // results are 4-byte aligned from the PDU start
        if (o + 4 > p.length) { this.bad(); return; }
        const num = p[o]!;
        o += 4;
        const results: number[] = [];
        for (let i = 0; i < num && o + 24 <= p.length; i++, o += 24) results.push(u16(p, o, le));
        this.ifaces.ack(results);
        const c = this.findCall(callId, 'to_client') ?? this.newCall(callId, smbVersion);
        c.respCmd = ptype;
        c.respDone = true;
        c.respFrags = 1;
        return;
      }
      case DcePtype.REQUEST: {
        let hdr = body + 8;
        if (flags & PFC_OBJECT_UUID) hdr += 16;
        if (p.length < hdr) { this.bad(); return; }
        let c = this.findCall(callId, 'to_server');
        if (c && c.reqCmd === DcePtype.REQUEST && c.reqDone) c = undefined;
        if (c && (flags & PFC_FIRST_FRAG) !== 0 && c.reqFrags > 0) c = undefined;
        c ??= this.newCall(callId, smbVersion);
        c.reqCmd = DcePtype.REQUEST;
        c.ctxid = u16(p, body + 4, le);
        c.opnum = u16(p, body + 6, le);
        c.firstRequestSeen = true;
        c.littleEndian = le;
        c.rpcVersionMinor = p[1]!;
        c.reqFrags++;
        this.stub(c, c.stubTs, p.subarray(hdr));
        // The last fragment ends the request (a single PDU has FIRST|LAST; neither is a middle fragment).
        if ((flags & PFC_LAST_FRAG) !== 0) c.reqDone = true;
        return;
      }
      case DcePtype.RESPONSE: {
        let c = this.findCall(callId, 'to_client');
        if (c && c.respCmd === DcePtype.RESPONSE && c.respDone) c = undefined;
        c ??= this.newCall(callId, smbVersion);
        c.respCmd = DcePtype.RESPONSE;
        c.respFrags++;
        // Suricata's TCP parser hands the response stub from right after the 16-byte common
        // header (alloc_hint, p_cont_id, cancel_count included); its SMB parser from after the
        // 8-byte response header (parse_dcerpc_response_record). Kept for identical offsets.
        this.stub(c, c.stubTc, p.subarray(this.transport === 'tcp' ? body : Math.min(body + 8, p.length)));
        if ((flags & PFC_LAST_FRAG) !== 0) c.respDone = true;
        return;
      }
      default:
        // FAULT, AUTH3, BIND_NAK, SHUTDOWN...: not parsed (Suricata stops the flow on them;
        // skipping keeps the calls that follow inspectable). Counted.
        this.sink.count('unknown_ptype');
    }
  }

  private stub(c: DceCall, acc: ByteAccumulator, data: Uint8Array): void {
    const room = this.limits.maxStubBytes - acc.length;
    if (room <= 0) {
      if (data.length > 0) {
        c.stubTruncated = true;
        this.sink.count('limit_stub_bytes');
      }
      return;
    }
    if (data.length > room) {
      c.stubTruncated = true;
      this.sink.count('limit_stub_bytes');
    }
    acc.append(data.slice(0, Math.min(room, data.length)));
  }

  private bad(): void {
    this.sink.count('bad_pdu');
  }
}
