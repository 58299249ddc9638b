/**
 * Verified peers (pure, packet time): sources that completed a real TCP handshake with this host
 * (live: this host's SYN/ACK seen leaving it, docs/engine.md "Handshake evidence") within the
 * last 24 h and raised no detection with handshake evidence since. Half-open evidence (SYN,
 * FIN/NULL/Xmas probes) can be forged in anyone's name; it never blocks a verified peer.
 *
 * A peer is verified VERIFY_AGE_MS after its first verified handshake: a scanner that completes
 * handshakes during its own scan (nmap -sT: a 20-port burst takes well under a second) is not yet
 * verified when its scan is detected, while a peer that talked to the host before is.
 *
 * Bounded: an LRU of `max` peers (evictions counted). Keys are strings ("4:" / "6:" + address
 * text), hashed by V8 with its per-process random hash seed; a number key would use V8's unseeded
 * integer hash, which an attacker choosing addresses could steer into collisions.
 */
import { LRUCache } from 'lru-cache';

export const VERIFIED_PEER_MEMORY_MS = 24 * 60 * 60_000;
/** How long after its first verified handshake a peer is vouched for. */
export const VERIFY_AGE_MS = 10_000;

interface Peer {
  /** First verified handshake of the current 24 h span. */
  firstMs: number;
  lastMs: number;
  /** Last detection with handshake evidence from this source (0 = none). */
  taintedMs: number;
}

export interface VerifiedPeerStats {
  /** Peers in the table (verified or tainted). */
  size: number;
  evictions: number;
  /** Detections with handshake evidence that took a peer's verified status away. */
  tainted: number;
}

export class VerifiedPeers {
  private readonly table: LRUCache<string, Peer>;
  private evictions = 0;
  private taints = 0;

  constructor(
    max = 65_536,
    private readonly memoryMs = VERIFIED_PEER_MEMORY_MS,
    private readonly minAgeMs = VERIFY_AGE_MS,
  ) {
    this.table = new LRUCache<string, Peer>({
      max,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  /** `addr` completed a verified handshake with this host at tsMs. */
  onHandshake(addr: string, tsMs: number): void {
    const k = key(addr);
    const p = this.table.get(k);
    if (p === undefined) {
      this.table.set(k, { firstMs: tsMs, lastMs: tsMs, taintedMs: 0 });
      return;
    }
    // A gap longer than the memory starts a new span: the old handshake vouches for nothing now.
    if (tsMs - p.lastMs > this.memoryMs) p.firstMs = tsMs;
    if (tsMs > p.lastMs) p.lastMs = tsMs;
  }

  /** `addr` raised a detection with handshake evidence (attributable): no longer vouched for. */
  onDetection(addr: string, tsMs: number): void {
    const k = key(addr);
    const p = this.table.get(k);
    if (p === undefined) {
      // Remember the taint too: a handshake right after an attack must not verify the attacker.
      this.table.set(k, { firstMs: tsMs, lastMs: 0, taintedMs: tsMs });
    } else p.taintedMs = Math.max(p.taintedMs, tsMs);
    this.taints++;
  }

  /**
   * True when `addr` is a verified peer at tsMs: its first verified handshake at least
   * VERIFY_AGE_MS before, the last one within the memory, and no detection within the memory.
   */
  isVerified(addr: string, tsMs: number): boolean {
    const p = this.table.peek(key(addr));
    if (p === undefined || p.lastMs === 0) return false;
    if (tsMs - p.lastMs > this.memoryMs) return false;
    if (p.taintedMs !== 0 && tsMs - p.taintedMs <= this.memoryMs) return false;
    return tsMs - p.firstMs >= this.minAgeMs;
  }

  stats(): VerifiedPeerStats {
    return { size: this.table.size, evictions: this.evictions, tainted: this.taints };
  }
}

function key(addr: string): string {
  return (addr.includes(':') ? '6:' : '4:') + addr;
}
