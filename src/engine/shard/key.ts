/**
 * Which scan worker inspects a packet: a hash of its address pair that is the same both ways,
 * so a flow's two directions, its IP fragments (no ports) and state keyed by the pair
 * (ippair xbits) meet in one worker. A pure function of the decoded packet: decoded again by
 * the engine it gives the same flow. Packets without IP addresses go to worker 0.
 */
import type { DecodedPacket } from '../decode/decode.js';

/** murmur3's finaliser: every input bit moves every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function addr6(b: Uint8Array, o: number): number {
  return fmix(word(b, o) ^ fmix(word(b, o + 4) ^ fmix(word(b, o + 8) ^ fmix(word(b, o + 12)))));
}

/** The worker (0 … n-1) of a decoded packet (decodePacket's result need not be DROP.NONE). */
export function shardOf(p: DecodedPacket, n: number): number {
  if (n <= 1) return 0;
  let a: number;
  let b: number;
  if (p.ipVersion === 4) {
    a = fmix(p.src4 >>> 0);
    b = fmix(p.dst4 >>> 0);
  } else if (p.ipVersion === 6 && p.src6Offset >= 0 && p.dst6Offset >= 0) {
    a = addr6(p.buf, p.src6Offset);
    b = addr6(p.buf, p.dst6Offset);
  } else return 0;
  // a + b is symmetric; fmix again so that pairs differing in one address spread evenly.
  return fmix((a + b) >>> 0) % n;
}
