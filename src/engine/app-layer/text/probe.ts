/** Content detection helpers for the text protocols. */
import type { AppProbeResult } from '../types.js';

/** Prefix probe shared by the line protocols: 'match' when `data` starts with a pattern (ASCII case-insensitive). */
export function probePatterns(patterns: readonly string[], data: Uint8Array, len: number, caseInsensitive = true): AppProbeResult {
  let prefix = len === 0;
  for (const p of patterns) {
    const n = Math.min(p.length, len);
    let k = 0;
    while (k < n) {
      let c = data[k]!;
      if (caseInsensitive && c >= 0x61 && c <= 0x7a) c -= 0x20;
      if (c !== p.charCodeAt(k)) break;
      k++;
    }
    if (k === p.length) return 'match';
    if (k === len) prefix = true;
  }
  return prefix ? 'need-more' : 'no';
}
