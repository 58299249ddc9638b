/**
 * Contract of the DCERPC (connection-oriented, DCE 1.1 / MS-RPCE) parser: over TCP (its own
 * app-layer protocol, `dcerpc`) and inside SMB named pipes (the SMB parser feeds one
 * `DcerpcStream` per pipe). Pure: no I/O, no clock, never throws on input. Semantics and sources
 * in ./README.md.
 */

/** PDU types (DCE 1.1 chapter 12.6.4, `ptype`). */
export const DcePtype = {
  REQUEST: 0,
  RESPONSE: 2,
  FAULT: 3,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
  ALTER_CONTEXT: 14,
  ALTER_CONTEXT_RESP: 15,
  AUTH3: 16,
} as const;

/** `pfc_flags` bits. */
export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;
export const PFC_OBJECT_UUID = 0x80;

/** Common header length. */
export const DCE_HDR_LEN = 16;

/** Limits (bounded state per direction and per call); defaults follow Suricata where it has one. */
export interface DcerpcLimits {
  /**
   * Bytes buffered per direction while a PDU is incomplete (Suricata: 1 MiB per direction, over
   * it the parser errors). A PDU is at most 65,535 bytes (`frag_length` is 16 bits), so the
   * default only binds when several PDUs are pending.
   */
  maxPendingBytes: number;
  /** Stub bytes kept per call and direction across fragments; the rest is counted and dropped. */
  maxStubBytes: number;
  /** Calls (transactions) alive per connection; over it the oldest is dropped (counted). */
  maxTransactions: number;
  /** Context items accepted per BIND (the rest counted and ignored). */
  maxContextItems: number;
}

export const DEFAULT_DCERPC_LIMITS: Readonly<DcerpcLimits> = Object.freeze({
  maxPendingBytes: 1024 * 1024,
  maxStubBytes: 1024 * 1024,
  maxTransactions: 1024,
  maxContextItems: 64,
});

/** Counter names of a DCERPC parser (bounded). */
export type DcerpcCounter =
  | 'pdus'
  | 'transactions'
  | 'bad_header'
  | 'bad_pdu'
  | 'unknown_ptype'
  | 'gaps'
  | 'gap_bytes'
  | 'resyncs'
  | 'limit_pending_bytes'
  | 'limit_stub_bytes'
  | 'limit_transactions'
  | 'limit_context_items';

/**
 * One interface of a BIND / ALTER_CONTEXT context item. `uuid` is in the canonical (string)
 * byte order whatever the data representation on the wire.
 */
export interface DceIfaceEntry {
  readonly uuid: Uint8Array;
  readonly version: number;
  readonly versionMinor: number;
  readonly ctxid: number;
  /** Position in its BIND (the BIND_ACK result of the same index applies). */
  readonly index: number;
  /** The BIND PDU carrying it had PFC_FIRST_FRAG (Suricata DCERPC_UUID_ENTRY_FLAG_FF). */
  readonly firstFrag: boolean;
  acked: boolean;
  /** BIND_ACK result: 0 acceptance, 1 user rejection, 2 provider rejection; -1 before the ack. */
  result: number;
}

/** Which transport carries the calls: matching rules differ (see README "Keywords"). */
export type DceTransport = 'tcp' | 'smb';
