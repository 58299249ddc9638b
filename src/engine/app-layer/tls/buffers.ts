/**
 * Suricata's TLS sticky buffers over a `TlsTxView` (detect-tls-*.c, detect-ja3-*.c,
 * detect-ja4-hash.c; Suricata 8 adds to_server certificates, `tls.subjectaltname`, `tls.alpn`).
 */
import type { AppBufferSpec, AppDirection } from '../types.js';
import { formatSerial } from './der.js';
import { md5Hex } from './fingerprint.js';
import type { TlsChain, TlsTxView } from './types.js';

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];
const TS: readonly AppDirection[] = ['to_server'];
const TC: readonly AppDirection[] = ['to_client'];

function spec(name: string, aliases: string[], directions: readonly AppDirection[], multi = false, lowercaseOnly = false): AppBufferSpec {
  return { name, aliases, directions, multi, lowercaseOnly, pcreFlag: null };
}

/** The buffer table (`AppProtocol.buffers`). */
export const TLS_BUFFERS: readonly AppBufferSpec[] = [
  spec('tls.sni', ['tls_sni'], TS),
  spec('tls.cert_subject', ['tls_cert_subject'], BOTH),
  spec('tls.cert_issuer', ['tls_cert_issuer'], BOTH),
  spec('tls.cert_serial', ['tls_cert_serial'], BOTH),
  spec('tls.cert_fingerprint', ['tls_cert_fingerprint'], BOTH, false, true),
  spec('tls.certs', [], BOTH, true),
  spec('tls.subjectaltname', [], BOTH, true),
  spec('tls.alpn', [], BOTH, true),
  spec('ja3.hash', ['ja3_hash'], TS, false, true),
  spec('ja3.string', ['ja3_string'], TS),
  spec('ja3s.hash', [], TC, false, true),
  spec('ja3s.string', [], TC),
  spec('ja4.hash', [], TS),
];

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** The certificate chain the peer sent in `dir`. */
export function chainOf(tx: TlsTxView, dir: AppDirection): TlsChain | null {
  return dir === 'to_server' ? tx.clientChain : tx.serverChain;
}

/** A single TLS buffer, or null when absent (unknown names too). */
export function tlsBuffer(tx: TlsTxView, name: string, dir: AppDirection): Uint8Array | null {
  switch (name) {
    case 'tls.sni':
      return dir === 'to_server' ? tx.clientHello?.sni ?? null : null;
    case 'tls.cert_subject': {
      const f = chainOf(tx, dir)?.first;
      return f ? enc(f.subject) : null;
    }
    case 'tls.cert_issuer': {
      const f = chainOf(tx, dir)?.first;
      return f ? enc(f.issuer) : null;
    }
    case 'tls.cert_serial': {
      const f = chainOf(tx, dir)?.first;
      return f ? enc(formatSerial(f.serial)) : null;
    }
    case 'tls.cert_fingerprint': {
      const fp = chainOf(tx, dir)?.fingerprint;
      return fp ? enc(fp) : null;
    }
    case 'ja3.string':
      return dir === 'to_server' && tx.ja3 !== null ? enc(tx.ja3) : null;
    case 'ja3.hash':
      return dir === 'to_server' && tx.ja3 !== null ? enc(md5Hex(tx.ja3)) : null;
    case 'ja3s.string':
      return dir === 'to_client' && tx.ja3s !== null ? enc(tx.ja3s) : null;
    case 'ja3s.hash':
      return dir === 'to_client' && tx.ja3s !== null ? enc(md5Hex(tx.ja3s)) : null;
    case 'ja4.hash':
      return dir === 'to_server' && tx.ja4 !== null ? enc(tx.ja4) : null;
    default:
      return null;
  }
}

/** Every instance of a multi-buffer, in order; [] when none. */
export function tlsMultiBuffer(tx: TlsTxView, name: string, dir: AppDirection): readonly Uint8Array[] {
  switch (name) {
    case 'tls.certs':
      return chainOf(tx, dir)?.certs ?? [];
    case 'tls.subjectaltname':
      return (chainOf(tx, dir)?.first?.subjectAltNames ?? []).map(enc);
    case 'tls.alpn':
      return (dir === 'to_server' ? tx.clientHello?.alpns : tx.serverHello?.alpns) ?? [];
    default:
      return [];
  }
}
