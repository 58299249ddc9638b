/**
 * ftp-data: a data connection the FTP control connection announced (see ./types.ts "ftp-data
 * hook"). Never detected by content (Suricata has no ftp-data probe either): the framework
 * creates the parser from the expectation. One tx per connection: the file bytes
 * (`file.data`, bounded), the file name (`file.name`) and the command (`ftpdata_command`).
 */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppParser, AppParserState, AppProtocol, AppTx } from '../types.js';
import { bump, latin1 } from '../text/lines.js';
import type { FtpDataExpectation } from './types.js';

/** Limits of one data connection. */
export interface FtpDataLimits {
  /** File bytes kept for `file.data` (Suricata inspects files up to its file/stream depth); the rest is counted, not kept. */
  fileDataLimit: number;
}
export const DEFAULT_FTP_DATA_LIMITS: Readonly<FtpDataLimits> = Object.freeze({ fileDataLimit: 1024 * 1024 });

export class FtpDataTx implements AppTx {
  readonly id = 0;
  readonly events: readonly string[] = [];
  data = new Uint8Array(256);
  kept = 0;
  seen = 0;
  truncated = false;
  ended = false;
  private view: Uint8Array | null = null;

  constructor(readonly expectation: FtpDataExpectation) {}

  progress(dir: AppDirection): number {
    return this.complete(dir) ? 2 : this.seen > 0 ? 1 : 0;
  }

  complete(dir: AppDirection): boolean {
    return dir !== this.expectation.fileDirection || this.ended;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    // A file travels one way: Suricata's file buffers exist only in the file's direction (a rule
    // on file.name read both ways alerts once, not once per direction).
    if (name === 'file.name') return dir === this.expectation.fileDirection ? this.expectation.fileName : null;
    if (name === 'file.data' && dir === this.expectation.fileDirection && this.kept > 0) {
      if (this.view === null || this.view.length !== this.kept) this.view = this.data.subarray(0, this.kept);
      return this.view;
    }
    return null;
  }

  multiBuffer(): readonly Uint8Array[] {
    return [];
  }

  add(d: Uint8Array, off: number, len: number, limit: number): boolean {
    this.seen += len;
    const take = Math.min(len, limit - this.kept);
    if (take < len) this.truncated = true;
    if (take <= 0) return take === len;
    if (this.kept + take > this.data.length) {
      let cap = this.data.length * 2;
      while (cap < this.kept + take) cap *= 2;
      const nb = new Uint8Array(Math.min(cap, limit));
      nb.set(this.data.subarray(0, this.kept));
      this.data = nb;
    }
    this.data.set(d.subarray(off, off + take), this.kept);
    this.kept += take;
    return take === len;
  }
}

export class FtpDataParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: string | null = null;
  readonly upgradeTo = null;
  private readonly tx: FtpDataTx;
  private released = false;
  private readonly cnt: Record<string, number> = {};
  private readonly limits: FtpDataLimits;

  constructor(readonly expectation: FtpDataExpectation, limits: Partial<FtpDataLimits> = {}) {
    this.tx = new FtpDataTx(expectation);
    this.limits = { ...DEFAULT_FTP_DATA_LIMITS, ...limits };
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    if (dir !== this.expectation.fileDirection) {
      // The other side of a data connection carries nothing (TCP only); bytes there are an anomaly.
      bump(this.cnt, 'wrong_direction_bytes', len);
      return;
    }
    bump(this.cnt, 'file_bytes', len);
    if (!this.tx.add(data, off, len, this.limits.fileDataLimit)) bump(this.cnt, 'limit_file_data', 1);
  }

  gap(dir: AppDirection, len: number): void {
    // The file has a hole: what follows is not contiguous file data; stop keeping bytes.
    bump(this.cnt, 'gaps');
    bump(this.cnt, 'gap_bytes', len);
    if (dir === this.expectation.fileDirection && this.state === 'ok') {
      this.state = 'failed';
      this.failReason = 'gap';
    }
  }

  end(dir: AppDirection): void {
    if (dir === this.expectation.fileDirection) this.tx.ended = true;
  }

  *txs(): Iterable<FtpDataTx> {
    if (!this.released) yield this.tx;
  }

  release(id: number): void {
    if (id >= 0) this.released = true;
  }

  memory(): number {
    return this.released ? 0 : this.tx.data.length + 128;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt };
  }
}

export function createFtpDataParser(expectation: FtpDataExpectation, limits: Partial<FtpDataLimits> = {}): FtpDataParser {
  return new FtpDataParser(expectation, limits);
}

/** What `FTP_DATA_PROTOCOL.create` gives when called without an expectation: ignores (counts) everything. */
class NoExpectationParser implements AppParser {
  readonly state = 'failed';
  readonly failReason = 'no_expectation';
  readonly upgradeTo = null;
  private ignored = 0;
  feed(_dir: AppDirection, _data: Uint8Array, _off: number, len: number): void {
    this.ignored += len;
  }
  gap(): void { /* nothing kept */ }
  end(): void { /* nothing kept */ }
  txs(): Iterable<AppTx> {
    return [];
  }
  release(): void { /* no txs */ }
  memory(): number {
    return 0;
  }
  counters(): Readonly<Record<string, number>> {
    return { ignored_bytes: this.ignored };
  }
}

const ftpdataCommand: AppKeywordSpec<'RETR' | 'STOR'> = {
  name: 'ftpdata_command',
  aliases: [],
  directions: ['to_server', 'to_client'],
  parse: (v) => {
    const x = (v ?? '').trim().toLowerCase();
    if (x === 'retr') return 'RETR';
    if (x === 'stor') return 'STOR';
    throw new Error(`ftpdata_command: expected retr or stor, got "${v ?? ''}"`);
  },
  match: (tx, _dir, want) => tx instanceof FtpDataTx && tx.expectation.command === want,
};

export const FTP_DATA_BUFFERS: readonly AppBufferSpec[] = [
  { name: 'file.data', aliases: ['file_data'], directions: ['to_server', 'to_client'], multi: false, lowercaseOnly: false, pcreFlag: null },
  { name: 'file.name', aliases: [], directions: ['to_server', 'to_client'], multi: false, lowercaseOnly: false, pcreFlag: null },
];

/** EVE `ftp_data` object (Suricata: `filename`, `command`). */
export function ftpDataEve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof FtpDataTx)) return {};
  return { filename: latin1(tx.expectation.fileName), command: tx.expectation.command };
}

export const FTP_DATA_PROTOCOL: AppProtocol = {
  name: 'ftp-data',
  ruleProtocols: ['ftp-data'],
  hintPorts: [],
  probeDirections: [],
  // Only by expectation: the framework calls createFtpDataParser(expectation).
  probe: () => 'no',
  // Without an expectation there is nothing to attribute the bytes to: an inert, failed parser.
  create: () => new NoExpectationParser(),
  buffers: FTP_DATA_BUFFERS,
  keywords: [ftpdataCommand] as readonly AppKeywordSpec[],
  eve: ftpDataEve,
};
