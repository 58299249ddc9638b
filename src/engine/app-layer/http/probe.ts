/** Content-based HTTP detection, Suricata's HTTP protocol-detection patterns (HTPRegisterPatternsForProtocolDetection). */
import type { HttpDirection, HttpProbeResult } from './types.js';

const METHODS = [
  'GET', 'PUT', 'POST', 'HEAD', 'TRACE', 'OPTIONS', 'CONNECT', 'DELETE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY',
  'MOVE', 'LOCK', 'UNLOCK', 'CHECKOUT', 'UNCHECKOUT', 'CHECKIN', 'UPDATE', 'LABEL', 'REPORT', 'MKWORKSPACE', 'MKACTIVITY',
  'MERGE', 'INVALID', 'VERSION-CONTROL', 'BASELINE-CONTROL',
];
const TO_SERVER: string[] = METHODS.flatMap((m) => [`${m} `, `${m}\t`]);
const TO_CLIENT = ['HTTP/0.9', 'HTTP/1.0', 'HTTP/1.1'];

function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

/** 'match' when `data[0, len)` starts with a pattern, 'need-more' while it is a proper prefix of one, else 'no'. */
export function probeHttp(direction: HttpDirection, data: Uint8Array, len: number = data.length): HttpProbeResult {
  const patterns = direction === 'to_server' ? TO_SERVER : TO_CLIENT;
  let prefix = false;
  for (const p of patterns) {
    const n = Math.min(p.length, len);
    let k = 0;
    while (k < n && upper(data[k]!) === p.charCodeAt(k)) k++;
    if (k === p.length) return 'match';
    if (k === len) prefix = true;
  }
  return prefix && len > 0 ? 'need-more' : len === 0 ? 'need-more' : 'no';
}
