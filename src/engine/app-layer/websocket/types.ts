/**
 * Contract of the WebSocket parser (Suricata 8 rust/src/websocket): after an HTTP/1 `101
 * Switching Protocols` with `Upgrade: websocket` the flow is WebSocket; each frame (RFC 6455
 * 5.2) of either direction is one transaction of that direction, whose payload is unmasked; a
 * fragmented message is reassembled and its final frame carries the whole message; a
 * permessage-deflate message (RSV1 on its first frame, RFC 7692) is inflated (bounded).
 * See ./README.md for every rule and its source.
 *
 * Pure: no I/O, no clock, never throws on input. Implementations: ./parser.ts
 * (`WebSocketParser`, `WebSocketTx`), ./protocol.ts (`WEBSOCKET_PROTOCOL`).
 */
import type { AppDirection } from '../types.js';

export interface WebSocketLimits {
  /**
   * Payload bytes kept per frame and per reassembled message (Suricata's
   * `app-layer.protocols.websocket.max-payload-size`, default 65535): the rest of a longer frame
   * is skipped (event `skip_end_of_payload`), a longer message is cut (`reassembly_limit_reached`).
   */
  maxPayload: number;
  /** Bytes an inflated (permessage-deflate) message may grow to; the rest is dropped (counted `limit_inflated`). */
  maxInflated: number;
  /** Transactions alive (not yet released by the detect stage); over it the parser fails (`too_many_transactions`). */
  maxTransactions: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: Readonly<WebSocketLimits> = Object.freeze({
  maxPayload: 0xffff,
  maxInflated: 1 << 20,
  maxTransactions: 1024,
});

/** Suricata's WebSocket app-layer events (`websocket.<name>`). */
export type WebSocketEventName = 'skip_end_of_payload' | 'reassembly_limit_reached';

export type WebSocketFailReason = 'gap' | 'too_many_transactions';

/** Opcode names (RFC 6455 11.8), as `websocket.opcode` values and EVE `websocket.opcode`. */
export const WEBSOCKET_OPCODES: Readonly<Record<string, number>> = Object.freeze({
  continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10,
});

/** One frame as a transaction. */
export interface WebSocketFrameInfo {
  readonly dir: AppDirection;
  readonly fin: boolean;
  /** RSV1: this frame starts a permessage-deflate compressed message. */
  readonly compress: boolean;
  /** The four high bits of the first byte (FIN, RSV1-3), `websocket.flags`. */
  readonly flags: number;
  readonly opcode: number;
  /** The masking key as a big-endian u32, null for an unmasked frame. */
  readonly mask: number | null;
}
