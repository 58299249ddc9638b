/**
 * SMB file content for `file.data` (Suricata rust/src/smb/files.rs): data of READ responses
 * (to_client) and WRITE requests (to_server) on a file that is not a named pipe, one transaction
 * per file and direction, named by the CREATE that opened it (`file.name`). READ/WRITE carry the
 * file offset, so chunks are placed where they belong: the buffer is the file's contiguous
 * prefix from offset 0, kept up to `maxFileDataBytes`; a chunk past a hole waits (bounded number
 * of ranges) until the hole is filled. Overlapping bytes keep the first copy (counted).
 */
import type { AppDirection, AppTx } from '../types.js';

/** One file in one direction. */
export class SmbFileTx implements AppTx {
  readonly events: string[] = [];
  /** Bytes kept from file offset 0 (capacity grows up to the limit). */
  private data = new Uint8Array(0);
  /** Kept ranges [start, end) sorted and disjoint; the exposed buffer is the one from 0. */
  private ranges: [number, number][] = [];
  private view: Uint8Array | null = null;
  /** The file was closed (or the flow side ended): nothing more will come. */
  closed = false;
  /** File bytes seen (kept or not). */
  seen = 0;

  constructor(
    readonly id: number,
    readonly version: 1 | 2,
    readonly fileKey: string,
    readonly direction: AppDirection,
    readonly name: Uint8Array | null,
  ) {}

  progress(dir: AppDirection): number {
    if (dir !== this.direction) return 0;
    return this.closed ? 2 : this.prefix() > 0 ? 1 : 0;
  }

  complete(dir: AppDirection): boolean {
    return dir !== this.direction || this.closed;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (dir !== this.direction) return null;
    if (name === 'file.name') return this.name;
    if (name !== 'file.data') return null;
    const n = this.prefix();
    if (n === 0) return null;
    if (this.view === null || this.view.length !== n) this.view = this.data.subarray(0, n);
    return this.view;
  }

  multiBuffer(): readonly Uint8Array[] {
    return [];
  }

  memory(): number {
    return 128 + this.data.length + this.ranges.length * 16;
  }

  /** Bytes held (all pieces). */
  kept(): number {
    return this.ranges.reduce((n, [s, e]) => n + (e - s), 0);
  }

  /** Length of the contiguous prefix from file offset 0. */
  prefix(): number {
    const r = this.ranges[0];
    return r !== undefined && r[0] === 0 ? r[1] : 0;
  }

  /**
   * Places `d` at file offset `at`; keeps the new bytes below `limit`, at most `budget` of them
   * (the flow's file budget left). Returns bytes kept, overlapping (already held: the first copy
   * stays), cut (not kept: over a limit, or `refused` because the file would hold more than
   * `maxRanges` separate pieces).
   */
  add(d: Uint8Array, at: number, limit: number, budget: number, maxRanges: number): { kept: number; overlap: number; cut: number; refused: boolean } {
    this.seen += d.length;
    const end = Math.min(at + d.length, limit);
    const pieces: [number, number][] = [];
    let overlap = 0;
    if (at < end) {
      let from = at;
      for (const [s, e] of this.ranges) {
        if (e <= from) continue;
        if (s >= end) break;
        if (s > from) pieces.push([from, s]);
        overlap += Math.min(e, end) - Math.max(s, from);
        from = Math.max(from, e);
        if (from >= end) break;
      }
      if (from < end) pieces.push([from, end]);
    }
    let room = Math.max(0, budget);
    let kept = 0;
    for (const p of pieces) {
      const take = Math.min(room, p[1] - p[0]);
      p[1] = p[0] + take;
      room -= take;
      kept += take;
    }
    const live = pieces.filter((p) => p[1] > p[0]);
    if (live.length === 0) return { kept: 0, overlap, cut: d.length - overlap, refused: false };
    const merged = mergeRanges(this.ranges, live);
    if (merged.length > maxRanges) return { kept: 0, overlap, cut: d.length - overlap, refused: true };
    this.grow(Math.max(...live.map((p) => p[1])));
    for (const [s, e] of live) this.data.set(d.subarray(s - at, e - at), s);
    this.ranges = merged;
    return { kept, overlap, cut: d.length - overlap - kept, refused: false };
  }

  private grow(need: number): void {
    if (need <= this.data.length) return;
    let cap = Math.max(4096, this.data.length * 2);
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.data);
    this.data = nb;
    this.view = null;
  }
}

function mergeRanges(a: readonly [number, number][], b: readonly [number, number][]): [number, number][] {
  const all = [...a.map((r): [number, number] => [r[0], r[1]]), ...b.map((r): [number, number] => [r[0], r[1]])].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}
