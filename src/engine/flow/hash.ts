/**
 * Keyed hashing for tables an attacker can fill (flow table, detector trackers): HalfSipHash-1-3
 * (Aumasson & Bernstein's 32-bit SipHash variant, as Linux uses for its hash tables) with a
 * per-process random 64-bit key, so colliding inputs cannot be computed from outside. The key is
 * injected (tests use a fixed one to craft collisions on purpose).
 */
import { randomFillSync } from 'node:crypto';

/** A 64-bit HalfSipHash key as two 32-bit words. */
export type HashSeed = readonly [number, number];

/** A fresh random key (the default for every engine). */
export function randomSeed(): HashSeed {
  const w = randomFillSync(new Uint32Array(2));
  return [w[0]!, w[1]!];
}

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/**
 * Incremental HalfSipHash-1-3 over 32-bit words (the flow key's words, no allocation). Usage:
 * `h.begin(seed)`, `h.word(w)` per word, `h.end()` → 32-bit hash.
 */
export class HalfSipHash {
  private v0 = 0;
  private v1 = 0;
  private v2 = 0;
  private v3 = 0;
  private n = 0;

  begin(seed: HashSeed): void {
    const k0 = seed[0];
    const k1 = seed[1];
    this.v0 = k0;
    this.v1 = k1;
    this.v2 = 0x6c796765 ^ k0;
    this.v3 = 0x74656462 ^ k1;
    this.n = 0;
  }

  private round(): void {
    let v0 = this.v0;
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
    this.v0 = v0;
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
  }

  /** One message word (little-endian word order of the byte stream is irrelevant here: fixed layouts). */
  word(m: number): void {
    this.v3 ^= m;
    this.round();
    this.v0 ^= m;
    this.n += 4;
  }

  /** Finalisation (message length in the last block, 3 rounds): the unsigned 32-bit hash. */
  end(): number {
    const b = (this.n & 0xff) << 24;
    this.v3 ^= b;
    this.round();
    this.v0 ^= b;
    this.v2 ^= 0xff;
    this.round();
    this.round();
    this.round();
    return (this.v1 ^ this.v3) >>> 0;
  }
}

/**
 * A keyed permutation of 32-bit numbers (4-round Feistel network over 16-bit halves, HalfSipHash
 * as round function): distinct inputs stay distinct, but where they land in a JS Map (whose hash
 * of numbers is not seeded) cannot be chosen from outside. Used for IPv4 keys of detector tables.
 */
export class KeyedPermutation {
  private readonly h = new HalfSipHash();
  constructor(private readonly seed: HashSeed) {}

  permute(x: number): number {
    let l = x >>> 16;
    let r = x & 0xffff;
    for (let i = 0; i < 4; i++) {
      this.h.begin(this.seed);
      this.h.word((r | (i << 16)) >>> 0);
      const f = this.h.end() & 0xffff;
      const nl = r;
      r = l ^ f;
      l = nl;
    }
    return ((l << 16) | r) >>> 0;
  }
}
