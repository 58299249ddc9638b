/**
 * DCERPC over TCP by content (Suricata rust/src/dcerpc/dcerpc.rs `probe`): "05 00" at offset 0,
 * then a 16-byte header with version 5.0, drep[0] & 0xee == 0 and drep[1] <= 3.
 */
import type { AppDirection, AppProbeResult } from '../types.js';

export function probeDcerpc(_dir: AppDirection, data: Uint8Array, len: number = data.length): AppProbeResult {
  if (len === 0) return 'need-more';
  if (data[0] !== 5) return 'no';
  if (len < 2) return 'need-more';
  if (data[1] !== 0) return 'no';
  if (len < 16) return 'need-more';
  return (data[4]! & 0xee) === 0 && data[5]! <= 3 ? 'match' : 'no';
}
