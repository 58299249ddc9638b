/**
 * The set behind LocalAddresses (pure): the service replaces its contents whenever it re-reads
 * the host's interfaces (the never-block refresh, src/service/blocklist.ts); the engine looks up
 * every inbound packet's source in it. Hosts have few addresses: IPv4 in a Set of numbers, IPv6
 * as 16-byte keys compared in a short list (no string per packet).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv4, parseIpv6 } from './pcap-writer.js';
import type { LocalAddresses } from './types.js';

/** Bound on addresses kept (a host with more is unusual; the rest are ignored and logged by the caller). */
export const MAX_LOCAL_ADDRESSES = 4096;

export class LocalAddressSet implements LocalAddresses {
  private v4 = new Set<number>();
  private v6: Uint8Array[] = [];
  private loaded = false;
  /** Link-layer (MAC) address per interface name, from the same read. */
  macs: ReadonlyMap<string, string> = new Map();

  get known(): boolean {
    return this.loaded;
  }

  /** Replaces the addresses (plain IPv4/IPv6 text, no prefix); returns how many were ignored. */
  set(addresses: readonly string[], macs?: ReadonlyMap<string, string>): number {
    const v4 = new Set<number>();
    const v6: Uint8Array[] = [];
    let ignored = 0;
    for (const a of addresses) {
      if (v4.size + v6.length >= MAX_LOCAL_ADDRESSES) {
        ignored++;
        continue;
      }
      if (isIPv4(a)) {
        const b = parseIpv4(a);
        v4.add(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
      } else if (isIPv6(a) && !a.includes('%') && !a.includes('.')) {
        v6.push(parseIpv6(a));
      } else ignored++;
    }
    this.v4 = v4;
    this.v6 = v6;
    if (macs !== undefined) this.macs = macs;
    this.loaded = true;
    return ignored;
  }

  has4(addr: number): boolean {
    return this.v4.has(addr);
  }

  has6(buf: Uint8Array, offset: number): boolean {
    outer: for (const a of this.v6) {
      for (let i = 15; i >= 0; i--) if (a[i] !== buf[offset + i]) continue outer;
      return true;
    }
    return false;
  }
}
