/**
 * Header blocks of both directions (headers, trailers, a 100 Continue's block): the raw block
 * a tx keeps, header lines with libhtp's folding, name and value rules (see ./README.md), and
 * the header table entries. The raw block of the segment being parsed is read in place and
 * copied once when it ends; names and values are ranges of it.
 */
import { type Arena, ByteBuf, EMPTY, copyInto } from './bytes.js';
import { TOKEN, chompEnd, isEmptyLine, isLws, parseContentLengthAt } from './fields.js';
import { HASH_MASK, Header, Piece, RawBlock, type Tx, nameHash } from './tx.js';
import { HttpHeaderFlags, type HttpEventName, type HttpFailReason, type HttpLimitKind, type HttpLimits } from './types.js';

/** What header parsing needs of its parser. */
export interface HeaderHost {
  readonly limits: Readonly<HttpLimits>;
  readonly arena: Arena;
  /** False once the connection left HTTP (failed, tunnel). */
  parsing(): boolean;
  event(t: Tx, name: HttpEventName): void;
  limitHit(kind: HttpLimitKind): void;
  fail(reason: HttpFailReason): void;
  /** The empty line ended a header (or trailer) block. */
  blockDone(t: Tx, request: boolean): void;
}

// pending header kinds
export const PH_NONE = 0;
/** One line of the tx's raw header block: [phS, phE) of it. */
const PH_RAW = 1;
/** Folded lines joined in `headerBuf`. */
const PH_FOLDED = 2;

/** Parsing state of one direction: its partial line, header block scratch, pending header, body bytes left. */
export class Side {
  // All start at 64 bytes (a typed array that small lives on the V8 heap: cheap for the many
  // connections that never need them) and grow on demand.
  /** Partial line waiting for its LF. */
  readonly line = new ByteBuf(64);
  /** The open raw header block of the current tx (RawBlock) when it spans segments, until its end. */
  readonly raw = new ByteBuf(64);
  /** Header being assembled (chomped), see PH_*. */
  ph = PH_NONE;
  phS = 0;
  phE = 0;
  readonly headerBuf = new ByteBuf(64);
  headerFolded = false;
  /** Body bytes left (Content-Length) or chunk bytes left. */
  left = 0;

  /** Length of the pending header (it counts against the field limit with the next line). */
  get pendingLength(): number {
    return this.ph === PH_NONE ? 0 : this.ph === PH_RAW ? this.phE - this.phS : this.headerBuf.length;
  }
}

// once-per-tx flag bits
const ONCE_REQ_COLON = 1;
const ONCE_REQ_INVALID = 2;
const ONCE_RES_COLON = 8;
const ONCE_RES_INVALID = 16;

const COMMA = 0x2c;
const EMPTY_NAME_HASH = nameHash(EMPTY, 0, 0);

/** An open block that is a range of the segment moves into the side's scratch (the segment is the caller's). */
export function spill(raw: RawBlock | null, side: Side): void {
  if (raw === null || !raw.seg) return;
  const sc = side.raw;
  sc.clear();
  sc.append(raw.buf, raw.base, raw.base + raw.length);
  raw.buf = sc.buf;
  raw.base = 0;
  raw.seg = false;
  raw.moved();
}

export class HeaderBlocks {
  constructor(private readonly host: HeaderHost) {}

  /**
   * One header-block line lb[ls, le) (with its ending), request or response,
   * headers or trailers. A block that starts in the segment being parsed stays a range of it
   * (`seg`) until it ends (one copy into the arena) or the segment does (`spill`); otherwise its
   * lines go into the side's scratch.
   */
  line(side: Side, t: Tx, request: boolean, lb: Uint8Array, ls: number, le: number): void {
    const sc = side.raw;
    let raw = request ? t.reqRaw : t.resRaw;
    if (raw === null) {
      raw = new RawBlock();
      if (request) t.reqRaw = raw;
      else t.resRaw = raw;
      if (lb !== side.line.buf) {
        raw.seg = true;
        raw.buf = lb;
        raw.base = ls;
      } else {
        sc.clear();
        raw.buf = sc.buf;
      }
    } else if (!raw.open) {
      // trailers, or the final response's headers after 100 Continue: the block grows again
      sc.clear();
      sc.append(raw.buf, raw.base, raw.base + raw.length);
      raw.open = true;
      raw.moved();
      raw.buf = sc.buf;
      raw.base = 0;
    }
    let rs: number;
    if (raw.seg && lb === raw.buf && ls === raw.base + raw.length) {
      rs = ls;
      raw.length = le - raw.base;
    } else {
      spill(raw, side);
      rs = sc.length;
      sc.append(lb, ls, le);
      raw.buf = sc.buf;
      raw.length = sc.length;
    }
    const rb = raw.buf;
    const base = raw.base;
    const re = rs + (le - ls);
    if (request) t.reqGen++;
    else t.resGen++;
    if (isEmptyLine(rb, rs, re)) {
      this.close(t, request);
      this.flush(side, t, request);
      if (!this.host.parsing()) return;
      this.host.blockDone(t, request);
      return;
    }
    const ce = chompEnd(rb, rs, re);
    if (ce > rs && isLws(rb[rs]!)) {
      if (side.ph === PH_NONE) {
        this.host.event(t, request ? 'INVALID_REQUEST_FIELD_FOLDING' : 'INVALID_RESPONSE_FIELD_FOLDING');
        side.ph = PH_RAW;
        side.phS = rs - base;
        side.phE = ce - base;
        side.headerFolded = false;
      } else {
        if (side.ph === PH_RAW) {
          side.headerBuf.clear();
          side.headerBuf.append(rb, base + side.phS, base + side.phE);
          side.ph = PH_FOLDED;
        }
        side.headerBuf.append(rb, rs, ce);
        side.headerFolded = true;
      }
      return;
    }
    this.flush(side, t, request);
    side.ph = PH_RAW;
    side.phS = rs - base;
    side.phE = ce - base;
    side.headerFolded = false;
  }

  /** End of a header block: its bytes move from the segment or the side's scratch into the tx's own storage. */
  close(t: Tx, request: boolean): void {
    const raw = request ? t.reqRaw : t.resRaw;
    if (raw === null || !raw.open) return;
    raw.base = this.host.arena.put(raw.buf, raw.base, raw.base + raw.length);
    raw.buf = this.host.arena.last;
    raw.open = false;
    raw.seg = false;
    raw.moved();
  }

  /** Parses the pending (possibly folded) header line into the header table. */
  flush(side: Side, t: Tx, request: boolean): void {
    const kind = side.ph;
    if (kind === PH_NONE) return;
    side.ph = PH_NONE;
    // the header's bytes: a range of the raw block, or a copy of the folded lines
    const raw = kind === PH_RAW ? (request ? t.reqRaw : t.resRaw) : null;
    // absolute positions in `data`; a Header keeps them relative to `base`
    let data: Uint8Array;
    let base: number;
    if (raw !== null) {
      data = raw.buf;
      base = raw.base;
    } else {
      base = this.host.arena.put(side.headerBuf.buf, 0, side.headerBuf.length);
      data = this.host.arena.last;
    }
    const s = raw !== null ? base + side.phS : base;
    const e = raw !== null ? base + side.phE : base + side.headerBuf.length;
    let flags = side.headerFolded ? HttpHeaderFlags.FOLDED : 0;
    // One pass over the name: up to ':' (or NUL), token check, lookup hash (FNV-1a as tx.ts
    // nameHash) of the name without the LWS before the colon.
    let colon = s;
    let h = 0x811c9dc5 | 0;
    let hAtNe = h;
    let ne = s;
    let bad = false;
    for (; colon < e; colon++) {
      const ch = data[colon]!;
      if (ch === 0x3a || ch === 0) break;
      if (TOKEN[ch] === 0) bad = true;
      h = Math.imul(h ^ (ch >= 0x41 && ch <= 0x5a ? ch + 0x20 : ch), 0x01000193);
      if (ch !== 0x20 && ch !== 0x09) {
        ne = colon + 1;
        hAtNe = h;
      }
    }
    let ns: number;
    let vs: number;
    let ve: number;
    let hash: number;
    if (colon === e || data[colon] === 0) {
      flags |= HttpHeaderFlags.UNPARSEABLE;
      if (request) {
        if (!(t.onceFlags & ONCE_REQ_COLON)) { t.onceFlags |= ONCE_REQ_COLON; this.host.event(t, 'REQUEST_FIELD_MISSING_COLON'); }
      } else {
        flags |= HttpHeaderFlags.INVALID;
        if (!(t.onceFlags & ONCE_RES_COLON)) { t.onceFlags |= ONCE_RES_COLON; this.host.event(t, 'RESPONSE_FIELD_MISSING_COLON'); }
      }
      ns = ne = s;
      hash = EMPTY_NAME_HASH;
      ve = s;
      while (ve < e && data[ve] !== 0) ve++;
      vs = s;
      while (vs < ve && isLws(data[vs]!)) vs++;
      while (ve > vs && isLws(data[ve - 1]!)) ve--;
    } else {
      // empty name, LWS before the colon, or a non-token byte
      if (colon === s || ne < colon || bad) {
        flags |= HttpHeaderFlags.INVALID;
        const bit = request ? ONCE_REQ_INVALID : ONCE_RES_INVALID;
        if (!(t.onceFlags & bit)) { t.onceFlags |= bit; this.host.event(t, request ? 'REQUEST_HEADER_INVALID' : 'RESPONSE_HEADER_INVALID'); }
      }
      ns = s;
      hash = hAtNe & HASH_MASK;
      vs = colon + 1;
      while (vs < e && isLws(data[vs]!)) vs++;
      ve = vs;
      while (ve < e && data[ve] !== 0) ve++;
      while (ve > vs && isLws(data[ve - 1]!)) ve--;
    }
    const table = request ? t.reqHeaders : t.resHeaders;
    const existing = table.find(data, ns, ne, hash);
    if (request) t.reqGen++;
    else t.resGen++;
    if (existing !== undefined) {
      const reps = request ? t.reqRepetitions : t.resRepetitions;
      if (!(existing.flags & HttpHeaderFlags.REPEATED)) {
        this.host.event(t, request ? 'REQUEST_HEADER_REPETITION' : 'RESPONSE_HEADER_REPETITION');
      } else if (reps < this.host.limits.maxHeaderRepetitions) {
        if (request) t.reqRepetitions++;
        else t.resRepetitions++;
      } else {
        this.host.limitHit('header_repetitions');
        return;
      }
      existing.flags |= HttpHeaderFlags.REPEATED | (flags & HttpHeaderFlags.FOLDED);
      if (existing.nameIsKey('content-length')) {
        const a = parseContentLengthAt(existing.valueStore(), existing.valueStart, existing.valueEnd);
        const b = parseContentLengthAt(data, vs, ve);
        if (a < 0 || b < 0 || a !== b) this.host.event(t, request ? 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST' : 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE');
      } else {
        const old = existing.valueLength;
        const len = old + 2 + (ve - vs);
        const o = this.host.arena.take(len);
        const j = this.host.arena.last;
        copyInto(j, o, existing.valueStore(), existing.valueStart, existing.valueEnd);
        j[o + old] = COMMA;
        j[o + old + 1] = 0x20;
        copyInto(j, o + old + 2, data, vs, ve);
        existing.setValue(j, o, len);
        table.valueGrew(old, len);
      }
      return;
    }
    if (table.size >= this.host.limits.maxHeaders) {
      this.host.limitHit('headers');
      this.host.event(t, request ? 'REQUEST_TOO_MANY_HEADERS' : 'RESPONSE_TOO_MANY_HEADERS');
      this.host.fail('too_many_headers');
      return;
    }
    table.add(new Header(raw ?? new Piece(data, base, e - base), ns - base, ne - base, vs - base, ve - base, flags, hash));
  }
}
