/** DCERPC over TCP: one `DceConn` per flow behind the framework's `AppParser` interface. */
import type { AppDirection, AppFrame, AppParser, AppParserState, AppTx } from '../types.js';
import { FrameLog, StreamPos } from '../frames.js';
import { DceConn, DceIfaceTable, type DceCall, type DceSink } from './conn.js';
import { DEFAULT_DCERPC_LIMITS, type DcerpcCounter, type DcerpcLimits } from './types.js';

/** Bytes of the DCERPC common header (frame `hdr`). */
const DCERPC_HDR = 16;

export class DcerpcParser implements AppParser {
  readonly limits: Readonly<DcerpcLimits>;
  private readonly conn: DceConn;
  private readonly counts: Partial<Record<DcerpcCounter, number>> = {};
  private nextTxId = 0;
  private failReasonV: string | null = null;
  private readonly frames: FrameLog | null;
  private readonly pos = new StreamPos();

  constructor(limits: Partial<DcerpcLimits> = {}, opts: { frames?: boolean } = {}) {
    this.limits = Object.freeze({ ...DEFAULT_DCERPC_LIMITS, ...limits });
    const sink: DceSink = {
      nextId: () => this.nextTxId++,
      added: () => undefined,
      count: (name, n = 1) => {
        this.counts[name] = (this.counts[name] ?? 0) + n;
      },
    };
    this.conn = new DceConn('tcp', new DceIfaceTable('tcp'), this.limits, sink);
    const log = (this.frames = opts.frames === true ? new FrameLog() : null);
    if (log !== null) {
      // Suricata's DCERPC frames (rust/src/dcerpc/dcerpc.rs): the PDU, its 16-byte common header, the rest.
      this.conn.onPdu = (dir, back, len) => {
        const at = this.pos.get(dir) - back;
        log.add(dir, 'pdu', at, len);
        log.add(dir, 'hdr', at, Math.min(DCERPC_HDR, len));
        if (len > DCERPC_HDR) log.add(dir, 'data', at + DCERPC_HDR, len - DCERPC_HDR);
      };
    }
  }

  takeFrames(dir: AppDirection): readonly AppFrame[] {
    return this.frames === null ? [] : this.frames.take(dir);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    this.pos.advance(dir, len);
    if (this.state === 'failed') return;
    this.conn.feed(dir, data, off, len);
    this.checkFailed(dir);
  }

  gap(dir: AppDirection, len: number): void {
    this.pos.advance(dir, len);
    this.counts.gap_bytes = (this.counts.gap_bytes ?? 0) + len;
    this.conn.gap(dir);
  }

  end(dir: AppDirection): void {
    this.conn.end(dir);
  }

  get state(): AppParserState {
    return this.failReasonV === null ? 'ok' : 'failed';
  }

  get failReason(): string | null {
    return this.failReasonV;
  }

  readonly upgradeTo = null;

  txs(): Iterable<AppTx> {
    return this.conn.calls;
  }

  /** Live calls with their DCERPC fields (tests, EVE). */
  calls(): readonly DceCall[] {
    return this.conn.calls;
  }

  release(id: number): void {
    this.conn.release(id);
  }

  memory(): number {
    return this.conn.memory();
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  private checkFailed(dir: AppDirection): void {
    if (this.conn.failed(dir)) {
      this.failReasonV = (this.counts.limit_pending_bytes ?? 0) > 0 ? 'pending_bytes' : 'bad_header';
    }
  }
}
