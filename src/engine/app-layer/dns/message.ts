/**
 * One DNS message (RFC 1035 4.1) as Suricata's DNS parser reads it (rust/src/dns/parser.rs):
 * the 12-byte header, the questions (name, type, class) and the record types of the answers;
 * authority and additional records are walked over (their bounds are checked, like Suricata's
 * full-body parse, but nothing is kept). Names are the dotted labels (`mail.example.com`: no
 * leading length, no trailing dot), compression pointers followed. Pure, never throws.
 */
import type { DnsLimits } from './types.js';

export const DNS_HEADER_SIZE = 12;

export interface DnsHeader {
  readonly id: number;
  readonly flags: number;
  readonly questions: number;
  readonly answers: number;
  readonly authorities: number;
  readonly additionals: number;
}

export interface DnsQuestion {
  /** Dotted name bytes (labels joined with '.'), cut at `maxName` when longer. */
  readonly name: Uint8Array;
  readonly rrtype: number;
  readonly rrclass: number;
}

export interface DnsMessage {
  readonly header: DnsHeader;
  readonly queries: readonly DnsQuestion[];
  /** Record types of the answer section, in order. */
  readonly answerTypes: readonly number[];
  /** Records beyond `maxRecords` per section were counted, not kept. */
  readonly recordsCut: boolean;
  /** A name was longer than `maxName` (Suricata event name_too_long). */
  readonly nameTooLong: boolean;
  /** A name's compression pointers went on past `maxPointers` (Suricata event infinite_loop): the name ends there. */
  readonly pointerLoop: boolean;
}

export type DnsParseError = 'short_header' | 'bad_name' | 'truncated_record';

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

export function parseHeader(b: Uint8Array, off: number, len: number): DnsHeader | null {
  if (len < DNS_HEADER_SIZE) return null;
  return {
    id: be16(b, off), flags: be16(b, off + 2), questions: be16(b, off + 4), answers: be16(b, off + 6),
    authorities: be16(b, off + 8), additionals: be16(b, off + 10),
  };
}

/** Name at `pos` of msg[0, len): the dotted bytes and the position after it in the record (pointers do not move it further). */
interface NameRead { name: Uint8Array; truncated: boolean; loop: boolean; next: number }

function readName(msg: Uint8Array, len: number, pos: number, limits: DnsLimits): NameRead | null {
  const out: number[] = [];
  let truncated = false;
  let loop = false;
  let p = pos;
  let next = -1;
  let hops = 0;
  for (;;) {
    if (p >= len) return null;
    const l = msg[p]!;
    if (l === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= len) return null;
      if (next < 0) next = p + 2;
      // A loop or an overlong chain: the name ends here, flagged (Suricata's INFINITE_LOOP).
      if (++hops > limits.maxPointers) {
        loop = true;
        break;
      }
      p = ((l & 0x3f) << 8) | msg[p + 1]!;
      continue;
    }
    if ((l & 0xc0) !== 0) return null; // 0x40/0x80 label types are not defined
    if (p + 1 + l > len) return null;
    if (out.length > 0) {
      if (out.length < limits.maxName) out.push(0x2e);
      else truncated = true;
    }
    for (let k = 0; k < l; k++) {
      if (out.length < limits.maxName) out.push(msg[p + 1 + k]!);
      else truncated = true;
    }
    p += 1 + l;
  }
  return { name: Uint8Array.from(out), truncated, loop, next };
}

/** Parses one whole message msg[0, len); an error name when it is not a well-formed DNS message. */
export function parseMessage(msg: Uint8Array, len: number, limits: DnsLimits): DnsMessage | DnsParseError {
  const header = parseHeader(msg, 0, len);
  if (header === null) return 'short_header';
  let pos = DNS_HEADER_SIZE;
  const queries: DnsQuestion[] = [];
  let recordsCut = false;
  let nameTooLong = false;
  let pointerLoop = false;
  const name = (at: number): NameRead | null => {
    const n = readName(msg, len, at, limits);
    if (n !== null) {
      nameTooLong ||= n.truncated;
      pointerLoop ||= n.loop;
    }
    return n;
  };
  for (let i = 0; i < header.questions; i++) {
    const n = name(pos);
    if (n === null) return 'bad_name';
    if (n.next + 4 > len) return 'truncated_record';
    if (queries.length < limits.maxRecords) {
      queries.push({ name: n.name, rrtype: be16(msg, n.next), rrclass: be16(msg, n.next + 2) });
    } else recordsCut = true;
    pos = n.next + 4;
  }
  const answerTypes: number[] = [];
  const sections = [header.answers, header.authorities, header.additionals];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < sections[s]!; i++) {
      const n = name(pos);
      if (n === null) return 'bad_name';
      if (n.next + 10 > len) return 'truncated_record';
      const rdlen = be16(msg, n.next + 8);
      if (n.next + 10 + rdlen > len) return 'truncated_record';
      if (s === 0) {
        if (answerTypes.length < limits.maxRecords) answerTypes.push(be16(msg, n.next));
        else recordsCut = true;
      }
      pos = n.next + 10 + rdlen;
    }
  }
  return { header, queries, answerTypes, recordsCut, nameTooLong, pointerLoop };
}

/**
 * Suricata's probe_header_validity: enough bytes for the records the header announces, a
 * message without records is header-only, and a request carries at least one question.
 */
export function headerPlausible(h: DnsHeader, msgLen: number): boolean {
  const records = h.questions + h.answers + h.authorities + h.additionals;
  if (2 * records > msgLen) return false;
  if (records === 0 && msgLen > DNS_HEADER_SIZE) return false;
  const isRequest = (h.flags & 0x8000) === 0;
  return !(isRequest && h.questions === 0);
}
