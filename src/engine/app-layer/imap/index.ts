/**
 * IMAP (issue 11). Suricata 8 only *detects* IMAP (app-layer-imap.c: patterns `1 capability`
 * to_server, `* OK ` to_client; no parser, no keywords, no EVE object): `app-layer-protocol:imap`
 * and `alert imap` rules with stream keywords are what it offers, and so does bulwark.
 *
 * Beyond that, this parser follows the conversation so the framework can hand a STARTTLS
 * connection to TLS (Suricata does not): tagged commands become txs (`tag command args`), untagged
 * (`*`) and continuation (`+`) responses attach to the oldest open tx, the tagged completion
 * (`tag OK|NO|BAD`) completes it; a `STARTTLS` completed `OK` is state 'upgrade' to tls. Literals
 * (`{n}` / `{n+}` at a line end, RFC 3501 4.3 / RFC 7888) are skipped as n raw bytes in either
 * direction, so message bodies (APPEND, FETCH) are not taken for commands.
 *
 * No buffers, keywords or events. Limits: lines (4096, cut, rest skipped), transactions alive
 * (256, over it the parser fails), literal bytes are skipped, never kept. A gap fails the parser
 * (no resynchronisation point in IMAP's byte stream).
 */
import type { AppDirection, AppParser, AppParserState, AppProtoName, AppProtocol, AppTx } from '../types.js';
import { LineReader, bump, latin1, type Line } from '../text/lines.js';
import { probePatterns } from '../text/probe.js';
import { releaseThrough } from '../live-txs.js';

export interface ImapLimits {
  maxLine: number;
  maxTransactions: number;
}
export const DEFAULT_IMAP_LIMITS: Readonly<ImapLimits> = Object.freeze({ maxLine: 4096, maxTransactions: 256 });

export class ImapTx implements AppTx {
  readonly events: readonly string[] = [];
  /** Completion status (`OK`, `NO`, `BAD`), null while open. */
  status: string | null = null;
  untagged = 0;
  constructor(readonly id: number, readonly tag: string, readonly command: string) {}
  progress(dir: AppDirection): number {
    return dir === 'to_server' || this.status !== null ? 1 : 0;
  }
  complete(dir: AppDirection): boolean {
    return dir === 'to_server' || this.status !== null;
  }
  buffer(): Uint8Array | null {
    return null;
  }
  multiBuffer(): readonly Uint8Array[] {
    return [];
  }
}

const LITERAL = /\{(\d{1,10})\+?\}$/;

export class ImapParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: string | null = null;
  upgradeTo: AppProtoName | null = null;
  private readonly limits: ImapLimits;
  private readonly lines: Record<AppDirection, LineReader>;
  private readonly literal: Record<AppDirection, number> = { to_server: 0, to_client: 0 };
  private readonly live: ImapTx[] = [];
  private nextId = 0;
  private readonly cnt: Record<string, number> = {};

  constructor(limits: Partial<ImapLimits> = {}) {
    this.limits = { ...DEFAULT_IMAP_LIMITS, ...limits };
    this.lines = { to_server: new LineReader(this.limits.maxLine), to_client: new LineReader(this.limits.maxLine) };
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    const end = off + len;
    let i = off;
    while (i < end && this.running()) {
      if (this.literal[dir] > 0) {
        const take = Math.min(this.literal[dir], end - i);
        this.literal[dir] -= take;
        bump(this.cnt, 'literal_bytes', take);
        i += take;
        continue;
      }
      i = this.lines[dir].push(data, i, end - i, (l) => this.onLine(dir, l));
    }
    if (i < end) bump(this.cnt, 'ignored_bytes', end - i);
  }

  gap(_dir: AppDirection, len: number): void {
    bump(this.cnt, 'gaps');
    bump(this.cnt, 'gap_bytes', len);
    if (this.running()) {
      this.state = 'failed';
      this.failReason = 'gap';
    }
  }

  end(): void { /* nothing pending matters */ }

  *txs(): Iterable<ImapTx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    return this.lines.to_server.memory() + this.lines.to_client.memory() + this.live.length * 128;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt, truncated_lines: this.lines.to_server.truncatedLines + this.lines.to_client.truncatedLines };
  }

  private running(): boolean {
    return this.state === 'ok';
  }

  private onLine(dir: AppDirection, l: Line): boolean {
    const text = latin1(l.bytes.subarray(0, Math.min(l.bytes.length, 1024)));
    const lit = LITERAL.exec(text);
    if (lit !== null && !l.truncated) this.literal[dir] = Number(lit[1]);
    if (text.length === 0) return true;
    if (dir === 'to_server') this.onCommand(text);
    else this.onResponse(text);
    // After a literal announcement the raw bytes follow: hand control back to the byte loop.
    return this.literal[dir] === 0 && this.running();
  }

  private onCommand(text: string): void {
    const m = /^(\S+) +(\S+)/.exec(text);
    if (m === null) {
      // Continuation data of a command (after a literal, or an AUTHENTICATE exchange line).
      bump(this.cnt, 'continuation_lines');
      return;
    }
    if (this.live.length >= this.limits.maxTransactions) {
      bump(this.cnt, 'limit_transactions');
      this.state = 'failed';
      this.failReason = 'too_many_transactions';
      return;
    }
    this.live.push(new ImapTx(this.nextId++, m[1]!, m[2]!.toUpperCase()));
    bump(this.cnt, 'transactions');
  }

  private onResponse(text: string): void {
    if (text.startsWith('* ') || text.startsWith('+')) {
      const open = this.live.find((t) => t.status === null);
      if (open) open.untagged++;
      else bump(this.cnt, 'untagged_without_command');
      return;
    }
    const m = /^(\S+) +(OK|NO|BAD)\b/i.exec(text);
    if (m === null) {
      bump(this.cnt, 'invalid_responses');
      return;
    }
    const t = this.live.find((x) => x.status === null && x.tag === m[1]);
    if (t === undefined) {
      bump(this.cnt, 'unmatched_completions');
      return;
    }
    t.status = m[2]!.toUpperCase();
    if (t.command === 'STARTTLS' && t.status === 'OK') {
      this.state = 'upgrade';
      this.upgradeTo = 'tls';
      bump(this.cnt, 'upgrades');
    }
  }
}

/** Suricata's IMAP detection patterns: `1 capability` (to_server, case-insensitive), `* OK ` (to_client). */
const TO_SERVER = ['1 CAPABILITY'];
const TO_CLIENT = ['* OK '];

export const IMAP_PROTOCOL: AppProtocol = {
  name: 'imap',
  ruleProtocols: ['imap'],
  hintPorts: [143],
  probeDirections: ['to_server', 'to_client'],
  probe: (dir, data, len) => probePatterns(dir === 'to_server' ? TO_SERVER : TO_CLIENT, data, len, dir === 'to_server'),
  create: () => new ImapParser(),
  buffers: [],
  keywords: [],
  // Suricata writes no `imap` EVE object.
  eve: () => ({}),
};
