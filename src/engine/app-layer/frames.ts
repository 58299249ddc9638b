/**
 * Frame bookkeeping shared by the parsers (the `AppParser.takeFrames` half of the frame
 * contract in ./types.ts): a parser that was asked for frames (`AppParserContext.frames`) adds
 * them here as it meets protocol units; the framework takes them after every feed. Offsets are
 * the parser's own stream positions per direction (bytes fed plus gap lengths): `StreamPos`
 * keeps them.
 */
import type { AppDirection, AppFrame } from './types.js';

/**
 * Frames one direction may queue between two takes. The framework takes them after every feed,
 * so this only bounds one feed's worth (a segment full of tiny records); beyond it frames are
 * dropped and counted (`dropped`), like Suricata's frame container, which stops creating frames
 * once full.
 */
export const MAX_QUEUED_FRAMES = 1024;

const NONE: readonly AppFrame[] = Object.freeze([]);

export class FrameLog {
  private ts: AppFrame[] = [];
  private tc: AppFrame[] = [];
  /** Frames refused because the queue of their direction was full. */
  dropped = 0;

  add(dir: AppDirection, type: string, offset: number, len: number, txId?: number): void {
    const q = dir === 'to_server' ? this.ts : this.tc;
    if (q.length >= MAX_QUEUED_FRAMES) {
      this.dropped++;
      return;
    }
    q.push(txId === undefined ? { type, offset, len } : { type, offset, len, txId });
  }

  take(dir: AppDirection): readonly AppFrame[] {
    if (dir === 'to_server') {
      if (this.ts.length === 0) return NONE;
      const q = this.ts;
      this.ts = [];
      return q;
    }
    if (this.tc.length === 0) return NONE;
    const q = this.tc;
    this.tc = [];
    return q;
  }
}

/** Per-direction stream position of the bytes a parser has been fed (gaps included). */
export class StreamPos {
  ts = 0;
  tc = 0;

  get(dir: AppDirection): number {
    return dir === 'to_server' ? this.ts : this.tc;
  }

  /** Advances `dir` by `n` bytes (fed or missing); returns the position before. */
  advance(dir: AppDirection, n: number): number {
    if (dir === 'to_server') {
      const p = this.ts;
      this.ts += n;
      return p;
    }
    const p = this.tc;
    this.tc += n;
    return p;
  }
}
