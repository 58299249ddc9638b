/**
 * State of one flow direction: reassembly (StreamState), the retained stream bytes (StreamStore)
 * and the detect stage's per-direction matcher state, on one object so the packet path follows
 * one pointer per direction.
 */
import type { PortGroup } from '../../signatures/types.js';
import { StreamState } from './reassembly.js';

export class DirState extends StreamState {
  group: PortGroup | null = null;
  /** The IP-only signatures were tried on this direction's first packet (Suricata tries them once per direction). */
  ipOnlyDone = false;
  /** The group's scan table (see detect/prefilter.ts): compact (scan16) or, for big automata, Int32 (scan). */
  scan: Int32Array | null = null;
  scan16: Uint16Array | null = null;
  dfaState = 0;
  /** Retained stream bytes (from stream offset 0), allocated lazily, grown up to the depth. */
  buf: Uint8Array | null = null;
  bufLen = 0;
  /**
   * Gaps in `buf` (bytes the capture never had, zero-filled there) as flat (offset, length) pairs
   * in stream order; the newest MAX_GAPS are kept (StreamStore). For EVE payloads ("[4 bytes missing]").
   */
  gaps: number[] | null = null;
  /**
   * Stream offset where this direction's current raw inspection window starts: its end when the
   * other direction last delivered data (the peer answered). Suricata inspects the raw stream in
   * chunks from its raw progress, which the peer's ACKs drive, so `offset`/`depth` anchor on the
   * start of each request, not only on the stream's first byte.
   */
  rawFrom = 0;
  memRefused = false;
  /** Pending candidates: signature indexes and the stream offset of their fast-pattern hit. */
  pending: number[] | null = null;
  pendingPos: number[] | null = null;
  /** Stream bytes handed to the verifier so far (bounded per direction, see verifyBudget). */
  verifiedBytes = 0;
  budgetExhausted = false;
  /** Stream offset the app layer expects next (a later chunk means a gap of the difference). */
  appNext = 0;
  /** The flow's app-layer protocol is known for this direction's data (its protocol detection is over). */
  protoDone = false;
  /**
   * Protocol detection of this direction ended on an earlier packet: the next packet of the
   * direction carries it (Suricata's PKT_PROTO_DETECT_TS/TC_DONE, moved from the flow to the first
   * packet of the direction after detection) and is the one protocol-detection-only rules see.
   */
  protoDonePending = false;
}
