/** EVE `tls` object (Suricata output-json-tls.c, extended fields), from a TLS transaction. */
import type { AppTx } from '../types.js';
import { formatSerial, formatTime } from './der.js';
import { md5Hex } from './fingerprint.js';
import { TlsTransaction } from './tx.js';
import type { TlsChain } from './types.js';

/** Suricata's SSLVersionToString. */
export function tlsVersionString(v: number): string {
  switch (v) {
    case 0x0002: return 'SSLv2';
    case 0x0300: return 'SSLv3';
    case 0x0301: return 'TLSv1';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    default:
      if (v >> 8 === 0x7f) return `TLS 1.3 draft-${v & 0xff}`;
      return 'UNDETERMINED';
  }
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function certFields(c: TlsChain | null, out: Record<string, unknown>): void {
  const f = c?.first;
  if (f) {
    out.subject = f.subject;
    out.issuerdn = f.issuer;
    out.serial = formatSerial(f.serial);
  }
  if (c?.fingerprint) out.fingerprint = c.fingerprint;
  if (f) {
    out.notbefore = formatTime(f.notBefore);
    out.notafter = formatTime(f.notAfter);
    if (f.subjectAltNames.length > 0) out.subjectaltname = [...f.subjectAltNames];
  }
}

/** The `tls` object of an alert / tls event for this tx. */
export function tlsEve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof TlsTransaction)) return {};
  const t = tx;
  const out: Record<string, unknown> = {};
  certFields(t.serverChain, out);
  const sni = t.clientHello?.sni;
  if (sni) out.sni = latin1(sni);
  out.version = tlsVersionString(t.serverVersion);
  if (t.ja3 !== null) out.ja3 = { hash: md5Hex(t.ja3), string: t.ja3 };
  if (t.ja3s !== null) out.ja3s = { hash: md5Hex(t.ja3s), string: t.ja3s };
  if (t.ja4 !== null) out.ja4 = t.ja4;
  const ca = t.clientHello?.alpns ?? [];
  if (ca.length > 0) out.client_alpns = ca.map(latin1);
  const sa = t.serverHello?.alpns ?? [];
  if (sa.length > 0) out.server_alpns = sa.map(latin1);
  if (t.clientChain?.first) {
    const client: Record<string, unknown> = {};
    certFields(t.clientChain, client);
    out.client = client;
  }
  return out;
}
