/**
 * Suricata's TLS sticky buffers over a `TlsTxView` (detect-tls-*.c, detect-ja3-*.c,
 * detect-ja4-hash.c; `tls.subjectaltname` and `tls.alpn` are Suricata 8's).
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
  spec('tls.cert_subject', ['tls_cert_subject'], TC),
  spec('tls.cert_issuer', ['tls_cert_issuer'], TC),
  spec('tls.cert_serial', ['tls_cert_serial'], TC),
  spec('tls.cert_fingerprint', ['tls_cert_fingerprint'], TC, false, true),
  spec('tls.certs', [], TC, true),
  spec('tls.subjectaltname', [], TC, true),
  spec('tls.alpn', [], BOTH, true),
  spec('ja3.hash', ['ja3_hash'], TS, false, true),
  spec('ja3.string', ['ja3_string'], TS),
  spec('ja3s.hash', [], TC, false, true),
  spec('ja3s.string', [], TC),
  spec('ja4.hash', [], TS),
  spec('tls.random', [], BOTH),
  spec('tls.random_time', [], BOTH),
  spec('tls.random_bytes', [], BOTH),
];

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/**
 * The certificate chain the buffers and keywords inspect in `dir`: the server's, in to_client.
 * Suricata 7 inspects certificates to_client only; client certificates are parsed (EVE
 * `tls.client`) but not offered to rules, so that a rule's direction means what it means in 7.
 */
export function chainOf(tx: TlsTxView, dir: AppDirection): TlsChain | null {
  return dir === 'to_client' ? tx.serverChain : null;
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
    // Suricata 7's tls.random / random_time / random_bytes (detect-tls-random.c): the hello
    // random of the direction (to_server the client's, to_client the server's), whole, its first
    // 4 bytes, or the other 28.
    case 'tls.random':
    case 'tls.random_time':
    case 'tls.random_bytes': {
      const r = dir === 'to_server' ? tx.clientHello?.random ?? null : tx.serverHello?.random ?? null;
      if (r === null) return null;
      return name === 'tls.random' ? r : name === 'tls.random_time' ? r.subarray(0, 4) : r.subarray(4);
    }
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
