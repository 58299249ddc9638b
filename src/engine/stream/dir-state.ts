/**
 * State of one flow direction: reassembly (StreamState), the retained stream bytes (StreamStore)
 * and the detect stage's per-direction matcher state, on one object so the packet path follows
 * one pointer per direction.
 */
import type { PortGroup } from '../../signatures/types.js';
import { StreamState } from './reassembly.js';

export class DirState extends StreamState {
  group: PortGroup | null = null;
  /** The group's scan table (see detect/prefilter.ts). */
  scan: Int32Array | null = null;
  dfaState = 0;
  /** Retained stream bytes (from stream offset 0), allocated lazily, grown up to the depth. */
  buf: Uint8Array | null = null;
  bufLen = 0;
  memRefused = false;
  /** Pending candidates: signature indexes and the stream offset of their fast-pattern hit. */
  pending: number[] | null = null;
  pendingPos: number[] | null = null;
  /** Stream bytes handed to the verifier so far (bounded per direction, see verifyBudget). */
  verifiedBytes = 0;
  budgetExhausted = false;
}
