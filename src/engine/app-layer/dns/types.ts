/**
 * Contract of the DNS-over-TCP parser: RFC 1035 4.2.2 framing (a 2-byte big-endian length before
 * each message) on a TCP connection whose server port is 53 (Suricata registers its DNS TCP
 * probing parser on the detection port 53; the content must be a plausible DNS message). Each
 * message is one transaction, as in Suricata 8 (a request tx in to_server, a response tx in
 * to_client), complete at once. Buffers and keywords: `dns.query` (multi: the question names),
 * `dns.opcode`, `dns.rrtype`. See ./README.md for the rules and their sources.
 *
 * Pure: no I/O, no clock, never throws on input. Implementations: ./message.ts (one message),
 * ./parser.ts (`DnsParser`, framing and txs), ./index.ts (`DNS_PROTOCOL`).
 */

/** Limits of one DNS-over-TCP connection; hitting one is counted (`counters()`) and handled as said. */
export interface DnsLimits {
  /** Bytes of a name kept (Suricata keeps names up to 1025 bytes and flags longer ones truncated). */
  maxName: number;
  /** Compression pointers followed per name; more: the name ends there (event `dns.infinite_loop`). */
  maxPointers: number;
  /** Questions and answer types kept per message; the rest are walked over and counted. */
  maxRecords: number;
  /** Transactions alive (not released) per connection; over it the parser fails (`too_many_transactions`). */
  maxTransactions: number;
}

export const DEFAULT_DNS_LIMITS: Readonly<DnsLimits> = Object.freeze({
  maxName: 1025,
  maxPointers: 64,
  maxRecords: 64,
  maxTransactions: 256,
});

/** Why the parser stopped (bounded label). */
export type DnsFailReason = 'invalid_header' | 'malformed' | 'not_a_request' | 'too_many_transactions';

/** Suricata DNS app-layer events raised on a tx (`dns.<name>`). */
export type DnsEventName = 'malformed_data' | 'not_a_request' | 'not_a_response' | 'z_flag_set' | 'invalid_opcode' | 'name_too_long' | 'infinite_loop';
