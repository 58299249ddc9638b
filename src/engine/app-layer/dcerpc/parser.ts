/** DCERPC over TCP: one `DceConn` per flow behind the framework's `AppParser` interface. */
import type { AppDirection, AppParser, AppParserState, AppTx } from '../types.js';
import { DceConn, DceIfaceTable, type DceCall, type DceSink } from './conn.js';
import { DEFAULT_DCERPC_LIMITS, type DcerpcCounter, type DcerpcLimits } from './types.js';

export class DcerpcParser implements AppParser {
  readonly limits: Readonly<DcerpcLimits>;
  private readonly conn: DceConn;
  private readonly counts: Partial<Record<DcerpcCounter, number>> = {};
  private nextTxId = 0;
  private failReasonV: string | null = null;

  constructor(limits: Partial<DcerpcLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_DCERPC_LIMITS, ...limits });
    const sink: DceSink = {
      nextId: () => this.nextTxId++,
      added: () => undefined,
      count: (name, n = 1) => {
        this.counts[name] = (this.counts[name] ?? 0) + n;
      },
    };
    this.conn = new DceConn('tcp', new DceIfaceTable('tcp'), this.limits, sink);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    if (this.state === 'failed') return;
    this.conn.feed(dir, data, off, len);
    this.checkFailed(dir);
  }

  gap(dir: AppDirection, len: number): void {
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
