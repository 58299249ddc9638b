/** Content detection of SSH (Suricata registers "SSH-" at offset 0 for both directions). */
import type { AppDirection, AppProbeResult } from '../types.js';

const SSH_ = [0x53, 0x53, 0x48, 0x2d];

export function probeSsh(_dir: AppDirection, data: Uint8Array, len: number = data.length): AppProbeResult {
  const n = Math.min(len, 4);
  for (let i = 0; i < n; i++) if (data[i] !== SSH_[i]) return 'no';
  return n < 4 ? 'need-more' : 'match';
}
