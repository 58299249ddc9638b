/** DNS over TCP: framing and transactions. Contract ./types.ts, rules and sources ./README.md. */
import type { AppDirection, AppParser, AppParserState, AppProtoName, AppTx } from '../types.js';
import { bump } from '../text/lines.js';
import { DEFAULT_DNS_LIMITS, type DnsEventName, type DnsFailReason, type DnsLimits } from './types.js';
import { headerPlausible, parseHeader, parseMessage, type DnsMessage } from './message.js';
import { releaseThrough } from '../live-txs.js';

/** One DNS message: a request (to_server) or a response (to_client). Complete when it exists. */
export class DnsTx implements AppTx {
  readonly events: string[] = [];
  private names: Uint8Array[] | null = null;

  constructor(readonly id: number, readonly dir: AppDirection, readonly msg: DnsMessage | null) {}

  raise(e: DnsEventName): void {
    if (!this.events.includes(`dns.${e}`)) this.events.push(`dns.${e}`);
  }

  progress(dir: AppDirection): number {
    return dir === this.dir && this.msg !== null ? 1 : 0;
  }

  complete(): boolean {
    return true;
  }

  buffer(): Uint8Array | null {
    return null;
  }

  /** `dns.query`: the question names of the message in `dir` (Suricata: request queries to_server, response queries to_client). */
  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[] {
    if (name !== 'dns.query' || dir !== this.dir || this.msg === null) return [];
    // Suricata hands no buffer for an empty name (the root).
    this.names ??= this.msg.queries.map((q) => q.name).filter((n) => n.length > 0);
    return this.names;
  }

  memory(): number {
    let n = 128;
    if (this.msg !== null) for (const q of this.msg.queries) n += q.name.length + 24;
    return n + (this.msg?.answerTypes.length ?? 0) * 8;
  }
}

/** Bytes of one direction: length-prefixed messages, possibly split over segments. */
class Framer {
  private buf = new Uint8Array(0);
  private len = 0;
  /** After a gap: data is skipped until a chunk that looks like the start of a message. */
  gap = false;

  append(data: Uint8Array, off: number, n: number): void {
    if (this.len + n > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.len + n, this.buf.length * 2, 256));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(data.subarray(off, off + n), this.len);
    this.len += n;
  }

  /** The next whole message (without its prefix), or null until its bytes are there; zero-length prefixes are skipped. */
  next(): Uint8Array | null {
    let at = 0;
    for (;;) {
      if (this.len - at < 2) break;
      const size = (this.buf[at]! << 8) | this.buf[at + 1]!;
      if (size === 0) {
        at += 2;
        continue;
      }
      if (this.len - at < 2 + size) break;
      const msg = this.buf.slice(at + 2, at + 2 + size);
      this.consume(at + 2 + size);
      return msg;
    }
    this.consume(at);
    return null;
  }

  clear(): void {
    this.len = 0;
    if (this.buf.length > 4096) this.buf = new Uint8Array(0);
  }

  private consume(n: number): void {
    if (n === 0) return;
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
  }

  memory(): number {
    return this.buf.length;
  }
}

export class DnsParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: DnsFailReason | null = null;
  readonly upgradeTo: AppProtoName | null = null;
  private readonly limits: DnsLimits;
  private readonly live: DnsTx[] = [];
  private nextId = 0;
  private readonly framers = { to_server: new Framer(), to_client: new Framer() };
  private readonly cnt: Record<string, number> = {};

  constructor(limits: Partial<DnsLimits> = {}) {
    this.limits = { ...DEFAULT_DNS_LIMITS, ...limits };
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    if (this.state !== 'ok') {
      bump(this.cnt, 'ignored_bytes', len);
      return;
    }
    const fr = this.framers[dir];
    if (fr.gap) {
      // Suricata: after a gap, data is parsed again once a chunk probes as DNS.
      if (probeDnsTcp(dir, data.subarray(off, off + len), len) === 'no') {
        bump(this.cnt, 'ignored_bytes', len);
        return;
      }
      fr.gap = false;
    }
    fr.append(data, off, len);
    for (;;) {
      const m = fr.next();
      if (m === null) break;
      this.message(dir, m);
      if (this.failReason !== null) break;
    }
  }

  gap(dir: AppDirection, len: number): void {
    bump(this.cnt, 'gaps');
    bump(this.cnt, 'gap_bytes', len);
    const fr = this.framers[dir];
    fr.clear();
    fr.gap = true;
  }

  end(): void {
    /* A partial message at the end is not a message. */
  }

  *txs(): Iterable<DnsTx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    let n = this.framers.to_server.memory() + this.framers.to_client.memory();
    for (const t of this.live) n += t.memory();
    return n;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt };
  }

  private fail(reason: DnsFailReason): void {
    this.state = 'failed';
    this.failReason = reason;
    bump(this.cnt, `fail_${reason}`);
  }

  /** Suricata sets parse-error events on the most recent tx. */
  private eventOnLast(e: DnsEventName): void {
    this.live[this.live.length - 1]?.raise(e);
    bump(this.cnt, `event_${e}`);
  }

  private message(dir: AppDirection, m: Uint8Array): void {
    bump(this.cnt, 'messages');
    const h = parseHeader(m, 0, m.length);
    // Suricata dns_validate_header: over TCP an implausible header stops the parser.
    if (h === null || !headerPlausible(h, m.length)) {
      this.fail('invalid_header');
      return;
    }
    const isResponse = (h.flags & 0x8000) !== 0;
    const parsed = parseMessage(m, m.length, this.limits);
    if (typeof parsed === 'string') {
      bump(this.cnt, `malformed_${parsed}`);
      this.eventOnLast('malformed_data');
      this.fail('malformed');
      return;
    }
    if (dir === 'to_server' && isResponse) {
      this.eventOnLast('not_a_request');
      this.fail('not_a_request');
      return;
    }
    if (this.live.length >= this.limits.maxTransactions) {
      bump(this.cnt, 'limit_transactions');
      this.fail('too_many_transactions');
      return;
    }
    const t = new DnsTx(this.nextId++, dir, parsed);
    this.live.push(t);
    bump(this.cnt, 'transactions');
    if (dir === 'to_client' && !isResponse) t.raise('not_a_response');
    if ((h.flags & 0x0040) !== 0) t.raise('z_flag_set');
    if (((h.flags >> 11) & 0xf) >= 7) t.raise('invalid_opcode');
    if (parsed.nameTooLong) t.raise('name_too_long');
    if (parsed.pointerLoop) t.raise('infinite_loop');
    if (parsed.recordsCut) bump(this.cnt, 'limit_records');
    for (const e of t.events) bump(this.cnt, `event_${e.slice(4)}`);
  }
}

/**
 * Suricata's probe_tcp: a 2-byte length, then a header that is plausible for that length (when
 * the whole message is there, the whole message must parse), a request to the server and a
 * response to the client.
 */
export function probeDnsTcp(dir: AppDirection, data: Uint8Array, len: number): 'match' | 'no' | 'need-more' {
  if (len < 14) return 'need-more';
  const dlen = (data[0]! << 8) | data[1]!;
  const avail = Math.min(len - 2, dlen);
  const body = data.subarray(2, 2 + avail);
  const h = parseHeader(body, 0, body.length);
  if (h === null || !headerPlausible(h, dlen)) return 'no';
  if (avail === dlen && typeof parseMessage(body, body.length, DEFAULT_DNS_LIMITS) === 'string') return 'no';
  const isRequest = (h.flags & 0x8000) === 0;
  return isRequest === (dir === 'to_server') ? 'match' : 'no';
}
