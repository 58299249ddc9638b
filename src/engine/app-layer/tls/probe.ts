/**
 * Content detection of TLS/SSL (Suricata SSLRegisterPatternsForProtocolDetection and the SSLv2
 * probing parser): a v3 record header (content type, major version 3, minor 0-4) or an SSLv2
 * CLIENT-HELLO (2-byte header with the high bit, message type 1, version 2.0 or 3.x).
 */
import type { AppDirection, AppProbeResult } from '../types.js';

export function probeTls(dir: AppDirection, data: Uint8Array, len: number = data.length): AppProbeResult {
  if (len === 0) return 'need-more';
  const b0 = data[0]!;
  // to_server: handshake records only; to_client: handshake, alert or application data.
  const v3 = dir === 'to_server' ? b0 === 0x16 : b0 === 0x15 || b0 === 0x16 || b0 === 0x17;
  if (v3) {
    if (len < 2) return 'need-more';
    if (data[1] !== 3) return 'no';
    if (len < 3) return 'need-more';
    return data[2]! <= 4 ? 'match' : 'no';
  }
  if (dir === 'to_server' && (b0 & 0x80) !== 0) {
    if (len < 5) return 'need-more';
    if (data[2] !== 1) return 'no';
    const major = data[3]!;
    const minor = data[4]!;
    return (major === 0 && minor === 2) || (major === 3 && minor <= 4) ? 'match' : 'no';
  }
  return 'no';
}
