/**
 * Half-open evidence (docs/response.md "Half-open evidence"): SYN scans and FIN/NULL/Xmas scans
 * need no answer from the host, so they can be sent in anyone's name. They block the source by
 * default, with the spoof risk bounded: never a never-block address (the blocklist refuses),
 * never a verified peer (a source with a verified handshake in the last 24 h and no detection,
 * src/engine/verified-peers.ts), and at most `maxPerMinute` such blocks per minute — separate
 * from the general maxBlocksPerMinute, so a spoofed flood cannot use up the cap real attacks need.
 */
import type { Config } from '../config/types.js';
import type { Detection } from '../engine/types.js';

/** Sliding one-minute window of half-open blocks. Reserve before blocking; release on refusal. */
export class HalfOpenCap {
  private readonly times: number[] = [];
  hits = 0;

  constructor(private max: number) {}

  setMax(n: number): void {
    this.max = n;
  }

  /** Takes a slot at `nowMs`, or counts a cap hit and returns false. */
  take(nowMs: number): boolean {
    const t = this.times;
    while (t.length > 0 && t[0]! <= nowMs - 60_000) t.shift();
    if (t.length >= this.max) {
      this.hits++;
      return false;
    }
    t.push(nowMs);
    return true;
  }

  /** Gives back the newest slot (the block was refused: never-block, alert mode...). */
  release(): void {
    this.times.pop();
  }

  get used(): number {
    return this.times.length;
  }
}

export const SPOOFABLE = 'spoofable evidence: no completed handshake from the source';

/**
 * Why a detection without handshake evidence must not block, or undefined when its half-open
 * evidence may block (the cap is checked after, by the caller).
 */
export function halfOpenRefusal(d: Detection, cfg: Config['response']): string | undefined {
  if (d.evidence !== 'half-open' || d.detector === undefined) return SPOOFABLE;
  // A by_dst flood's packet source is just the last SYN's, not what the finding is about.
  if (d.verifiedPeer === undefined) return 'spoofable evidence: the finding is about the destination, not a source';
  if (!cfg.blockHalfOpen[d.detector]) return `spoofable evidence: half-open evidence does not block for ${d.detector} (response.blockHalfOpen)`;
  if (d.verifiedPeer) return 'verified peer: completed a handshake with this host within 24 h and raised no detection';
  return undefined;
}
