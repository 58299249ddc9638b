/**
 * SMB by content (Suricata rust/src/smb/smb.rs probing): an NBSS session message (type 0x00)
 * whose payload starts with "\xffSMB", "\xfeSMB" or "\xfdSMB" (SMB1, SMB2/3, SMB3 transform).
 */
import type { AppDirection, AppProbeResult } from '../types.js';

export function probeSmb(_dir: AppDirection, data: Uint8Array, len: number = data.length): AppProbeResult {
  if (len === 0) return 'need-more';
  if (data[0] !== 0x00) return 'no';
  const magic = [-1, 0x53, 0x4d, 0x42];
  for (let i = 4; i < Math.min(len, 8); i++) {
    const c = data[i]!;
    if (i === 4 ? c !== 0xff && c !== 0xfe && c !== 0xfd : c !== magic[i - 4]) return 'no';
  }
  return len < 8 ? 'need-more' : 'match';
}
