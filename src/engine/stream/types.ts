/**
 * Contract of the stream stage (TCP reassembly): per flow direction, segments in, in-order stream
 * bytes out, delivered exactly once through a `ChunkSink` to the stages after it (app-layer,
 * detect). Bounded: reassembly depth, out-of-order segments per direction, retained stream
 * memory for all flows (`StreamStore`). Policies: docs/engine.md "Reassembly".
 */

export interface ReassemblyLimits {
  /** Stream bytes delivered per direction; later bytes are counted, not delivered. */
  depth: number;
  /** Out-of-order segments buffered per direction. */
  maxSegments: number;
}

/**
 * Receives in-order stream bytes. `streamOffset` is the stream offset of data[off];
 * data[pktOff..pktOff+pktLen) is the payload of the segment the bytes came from (dsize,
 * packet-level rules; for a segment that was buffered out of order and trimmed against earlier
 * data, the kept piece) and `flags` its TCP flags. `gap` is true when bytes were skipped just before this chunk.
 */
export type ChunkSink<D> = (
  dir: D,
  data: Uint8Array,
  off: number,
  len: number,
  streamOffset: number,
  pktOff: number,
  pktLen: number,
  flags: number,
  gap: boolean,
) => void;

export type { ReassemblyStats } from './reassembly.js';
export { StreamState } from './reassembly.js';
export { DirState } from './dir-state.js';
