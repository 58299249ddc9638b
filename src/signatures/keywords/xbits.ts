/**
 * Suricata's `xbits` keyword (detect-xbits.c): bits stored per host (`track ip_src|ip_dst`) or
 * per address pair (`track ip_pair`, unordered like Suricata's IPPair table), with an expiry.
 *
 *   xbits:set|unset|toggle|isset|isnotset,<name>,track ip_src|ip_dst|ip_pair[,expire <seconds>]
 *
 * set/unset/toggle act when the rule matches (post-match, like flowbits set); isset/isnotset
 * are tests. The expiry (default 30 s, Suricata's DETECT_XBITS_EXPIRE_DEFAULT) counts in packet
 * time: the store never reads a clock.
 *
 * XbitStore is the bounded table the engine's detect stage holds: at most `maxEntries` bits;
 * when full, expired entries go first, then the least recently set one (counted as evictions).
 * Keys are strings in a Map: V8 seeds its string hash per process, so crafted addresses cannot
 * degrade the table into a list.
 */
import { OptionError } from '../options.js';

export const XBITS_EXPIRE_DEFAULT_S = 30;

export type XbitTrack = 'ip_src' | 'ip_dst' | 'ip_pair';

export interface XbitSpec {
  op: 'set' | 'unset' | 'toggle' | 'isset' | 'isnotset';
  name: string;
  track: XbitTrack;
  /** Seconds a set bit lives. */
  expire: number;
}

export function parseXbits(v: string): XbitSpec {
  const parts = v.split(',').map((s) => s.trim());
  const op = parts[0] ?? '';
  if (op === 'noalert') throw new OptionError('xbits: use noalert; instead of xbits:noalert');
  if (op !== 'set' && op !== 'unset' && op !== 'toggle' && op !== 'isset' && op !== 'isnotset') throw new OptionError(`xbits: unknown operation "${op}"`);
  const name = parts[1] ?? '';
  if (!/^[\w.-]+$/.test(name)) throw new OptionError(`xbits: bad name "${name}"`);
  const tm = /^track\s+(\S+)$/.exec(parts[2] ?? '');
  if (!tm) throw new OptionError('xbits: expected "track ip_src|ip_dst|ip_pair"');
  const track = tm[1]!;
  if (track === 'tx') throw new OptionError('xbits: track tx needs an app-layer transaction');
  if (track !== 'ip_src' && track !== 'ip_dst' && track !== 'ip_pair') throw new OptionError(`xbits: bad track "${track}"`);
  let expire = XBITS_EXPIRE_DEFAULT_S;
  if (parts.length > 3) {
    const em = /^expire\s+(\d+)$/.exec(parts[3]!);
    if (!em || parts.length > 4) throw new OptionError(`xbits: cannot parse "${parts.slice(3).join(',')}"`);
    expire = Number(em[1]);
    if (expire < 1 || expire > 86_400 * 365) throw new OptionError(`xbits: expire ${expire} out of range`);
  }
  return { op, name, track, expire };
}

/** The addresses of the packet being inspected (printable form, v4 or v6). */
export interface PacketAddrs {
  src: string;
  dst: string;
}

function keyOf(s: XbitSpec, a: PacketAddrs): string {
  switch (s.track) {
    case 'ip_src':
      return `h\0${a.src}\0${s.name}`;
    case 'ip_dst':
      return `h\0${a.dst}\0${s.name}`;
    case 'ip_pair':
      return a.src < a.dst ? `p\0${a.src}\0${a.dst}\0${s.name}` : `p\0${a.dst}\0${a.src}\0${s.name}`;
  }
}

export interface XbitStats {
  entries: number;
  evicted: number;
  expired: number;
}

export class XbitStore {
  /** key → expiry (ms of packet time). Insertion order = least recently set first. */
  private readonly bits = new Map<string, number>();
  private evictedN = 0;
  private expiredN = 0;

  constructor(readonly maxEntries = 65_536) {}

  isSet(s: XbitSpec, a: PacketAddrs, nowMs: number): boolean {
    const k = keyOf(s, a);
    const exp = this.bits.get(k);
    if (exp === undefined) return false;
    if (exp <= nowMs) {
      this.bits.delete(k);
      this.expiredN++;
      return false;
    }
    return true;
  }

  /** Whether an isset/isnotset test holds (other ops always hold). */
  holds(s: XbitSpec, a: PacketAddrs, nowMs: number): boolean {
    if (s.op === 'isset') return this.isSet(s, a, nowMs);
    if (s.op === 'isnotset') return !this.isSet(s, a, nowMs);
    return true;
  }

  /** Applies set/unset/toggle after the rule matched. */
  apply(s: XbitSpec, a: PacketAddrs, nowMs: number): void {
    const k = keyOf(s, a);
    switch (s.op) {
      case 'set':
        this.put(k, nowMs + s.expire * 1000, nowMs);
        return;
      case 'unset':
        this.bits.delete(k);
        return;
      case 'toggle':
        if (this.isSet(s, a, nowMs)) this.bits.delete(k);
        else this.put(k, nowMs + s.expire * 1000, nowMs);
        return;
      default:
        return;
    }
  }

  private put(k: string, exp: number, nowMs: number): void {
    this.bits.delete(k); // re-set moves it to the young end
    if (this.bits.size >= this.maxEntries) {
      for (const [ok, oe] of this.bits) {
        if (this.bits.size < this.maxEntries) break;
        this.bits.delete(ok);
        if (oe <= nowMs) this.expiredN++;
        else this.evictedN++;
      }
    }
    this.bits.set(k, exp);
  }

  stats(): XbitStats {
    return { entries: this.bits.size, evicted: this.evictedN, expired: this.expiredN };
  }
}
