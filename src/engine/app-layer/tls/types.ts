/**
 * Contract of the TLS/SSL app-layer parser (issue 11): one `TlsParser` per TCP connection
 * reassembles the record layer of both directions (records spanning segments, handshake
 * messages spanning records), parses ClientHello / ServerHello / Certificate (SSLv2-framed
 * CLIENT-HELLO, SSLv3, TLS 1.0–1.3) into one transaction per connection (Suricata keeps one TLS
 * tx per flow), and skips everything encrypted without buffering it. Semantics and sources:
 * ./README.md. Pure: no I/O, no clock, never throws on input.
 */
import type { ClientHello, ServerHello } from './hello.js';
import type { X509Info } from './der.js';

export type { ClientHello, ServerHello } from './hello.js';
export type { X509Info } from './der.js';

/** Limits (all bounded), defaults in `DEFAULT_TLS_LIMITS`; hitting one is counted (`limit.<name>`). */
export interface TlsLimits {
  /**
   * Largest handshake message reassembled (OpenSSL's default max certificate list, 100 KiB).
   * A longer message is skipped (not buffered) and counted; parsing continues after it.
   */
  maxHandshakeMessage: number;
  /** Certificates kept per chain and direction (`tls.certs`); further ones are counted and dropped. */
  maxCerts: number;
}

export const DEFAULT_TLS_LIMITS: Readonly<TlsLimits> = Object.freeze({
  maxHandshakeMessage: 102_400,
  maxCerts: 16,
});

/** Why a TLS parser failed (bounded label). */
export type TlsFailReason = 'invalid_record_type' | 'invalid_record_version' | 'invalid_sslv2_header' | 'gap';

/**
 * Per-direction progress ordinals (Suricata 8's TLS tx states, one ladder per side).
 * A side is complete once its handshake is done (ChangeCipherSpec / encrypted records seen).
 */
export const TlsProgress = {
  NONE: 0,
  /** ClientHello / ServerHello parsed. */
  HELLO: 1,
  /** Certificate message parsed. */
  CERT: 2,
  /** ServerHelloDone (to_client) parsed. */
  HELLO_DONE: 3,
  /** ChangeCipherSpec or encrypted data seen: nothing more is parsed in this direction. */
  HANDSHAKE_DONE: 4,
} as const;

/** A certificate chain as sent in one direction. */
export interface TlsChain {
  /** DER of each certificate in order (`tls.certs`), at most `maxCerts`. */
  readonly certs: readonly Uint8Array[];
  /** Certificates in the message (including dropped ones over the limit): `tls.cert_chain_len`. */
  readonly length: number;
  /** Parsed first certificate (the peer's own), null when it is not valid X.509. */
  readonly first: X509Info | null;
  /** SHA-1 of the first certificate's DER, lowercase hex with ':' (`tls.cert_fingerprint`). */
  readonly fingerprint: string | null;
}

/** Read-only view of the TLS transaction the buffers, keywords and EVE read. */
export interface TlsTxView {
  readonly clientHello: ClientHello | null;
  readonly serverHello: ServerHello | null;
  /** Suricata's `client_connp.version` / `server_connp.version` (0 when not seen): see README "Versions". */
  readonly clientVersion: number;
  readonly serverVersion: number;
  readonly clientChain: TlsChain | null;
  readonly serverChain: TlsChain | null;
  readonly ja3: string | null;
  readonly ja3s: string | null;
  readonly ja4: string | null;
}
