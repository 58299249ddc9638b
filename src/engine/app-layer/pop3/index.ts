/**
 * POP3 (issue 11), Suricata 8's parser (rust/src/pop3/pop3.rs over sawp-pop3): one tx per
 * command, the server greeting in a tx of its own; a response (`+OK` / `-ERR` status line, plus
 * the `.`-terminated body for LIST/UIDL without argument, TOP, RETR, CAPA) completes the oldest
 * tx without one; STLS answered `+OK` hands the connection to TLS; AUTH continuation (`+ `)
 * makes the next client line SASL data (a tx with command `<SASL DATA>`).
 *
 * Buffers and keywords: none offered. Suricata 8 has `pop3.*` keywords, but their exact buffer
 * contents could not be confirmed from its sources here, so rules using them are skipped at load
 * (unknown keyword) rather than loaded with a guessed meaning; `alert pop3` rules with stream
 * keywords and `app-layer-protocol:pop3` work. Events: Suricata's `pop3.*` (below).
 *
 * Limits: lines (4096, cut and the rest skipped, counted), transactions alive (Suricata
 * `pop3.max-tx` 256: over it the parser fails), response body lines are not kept (counted).
 * Gaps: Suricata accepts gaps and resynchronises with its probe; here the side skips to the next
 * line that probes as POP3 (a command line / a status line).
 */
import type { AppDirection, AppParser, AppParserState, AppProtoName, AppProtocol, AppTx } from '../types.js';
import { LineReader, bump, latin1, type Line } from '../text/lines.js';
import { releaseThrough } from '../live-txs.js';

export interface Pop3Limits {
  maxLine: number;
  maxTransactions: number;
}
export const DEFAULT_POP3_LIMITS: Readonly<Pop3Limits> = Object.freeze({ maxLine: 4096, maxTransactions: 256 });

/** RFC 1939 / 2449 / 5034 / 2595 commands sawp-pop3 knows. */
const COMMANDS = new Set(['USER', 'PASS', 'APOP', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'QUIT', 'TOP', 'UIDL', 'CAPA', 'STLS', 'AUTH', 'UTF8', 'LANG']);
const COMMAND_LIST = [...COMMANDS];
/** First bytes of COMMANDS. */
const COMMAND_HEADS = new Set([...COMMANDS].map((c) => c.charCodeAt(0)));
/** Suricata's POP3 events (`pop3.<name>`). */
export type Pop3EventName = 'too_many_transactions' | 'request_too_long' | 'incorrect_argument_count' | 'unknown_command' | 'response_too_long';

export class Pop3Tx implements AppTx {
  /** Command keyword upper-cased, `<SASL DATA>` for an AUTH exchange line, null for the greeting. */
  command: string | null = null;
  args: string[] = [];
  /** `+OK` → true, `-ERR` → false, null until the status line. */
  ok: boolean | null = null;
  /** Status line text after the indicator. */
  statusText: Uint8Array | null = null;
  /** Body lines seen (multi-line responses; not kept). */
  bodyLines = 0;
  complete_ = false;
  readonly own = new Set<Pop3EventName>();
  constructor(readonly id: number) {}
  get events(): readonly string[] {
    return [...this.own].map((e) => `pop3.${e}`);
  }
  progress(dir: AppDirection): number {
    return dir === 'to_server' ? (this.command !== null || this.complete_ ? 1 : 0) : this.complete_ ? 1 : 0;
  }
  complete(dir: AppDirection): boolean {
    return dir === 'to_server' ? this.command !== null || this.complete_ : this.complete_;
  }
  buffer(): Uint8Array | null {
    return null;
  }
  multiBuffer(): readonly Uint8Array[] {
    return [];
  }
}

/** Argument counts of sawp-pop3 (min, max). */
const ARGS: Record<string, [number, number]> = {
  USER: [1, 1], PASS: [1, 1], APOP: [2, 2], STAT: [0, 0], LIST: [0, 1], RETR: [1, 1], DELE: [1, 1], NOOP: [0, 0], RSET: [0, 0],
  QUIT: [0, 0], TOP: [2, 2], UIDL: [0, 1], CAPA: [0, 0], STLS: [0, 0], AUTH: [0, 2], UTF8: [0, 0], LANG: [0, 1],
};

export class Pop3Parser implements AppParser {
  state: AppParserState = 'ok';
  failReason: string | null = null;
  upgradeTo: AppProtoName | null = null;
  private readonly limits: Pop3Limits;
  private readonly req: LineReader;
  private readonly res: LineReader;
  private readonly live: Pop3Tx[] = [];
  private nextId = 0;
  private readonly cnt: Record<string, number> = {};
  /** The tx whose multi-line body is being read. */
  private body: Pop3Tx | null = null;
  private saslNext = false;
  private resyncReq = false;
  private resyncRes = false;

  constructor(limits: Partial<Pop3Limits> = {}) {
    this.limits = { ...DEFAULT_POP3_LIMITS, ...limits };
    this.req = new LineReader(this.limits.maxLine);
    this.res = new LineReader(this.limits.maxLine);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    if (this.state !== 'ok') {
      bump(this.cnt, 'ignored_bytes', len);
      return;
    }
    const r = dir === 'to_server' ? this.req : this.res;
    const c = r.push(data, off, len, (l) => (dir === 'to_server' ? this.onRequest(l) : this.onResponse(l)));
    if (c < off + len) bump(this.cnt, 'ignored_bytes', off + len - c);
  }

  gap(dir: AppDirection, len: number): void {
    bump(this.cnt, 'gaps');
    bump(this.cnt, 'gap_bytes', len);
    if (dir === 'to_server') {
      this.req.reset();
      this.resyncReq = true;
    } else {
      this.res.reset();
      this.resyncRes = true;
      this.body = null;
    }
  }

  end(): void { /* an unterminated line is not a command */ }

  *txs(): Iterable<Pop3Tx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    return this.req.memory() + this.res.memory() + this.live.length * 160;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt, truncated_lines: this.req.truncatedLines + this.res.truncatedLines };
  }

  private newTx(): Pop3Tx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      for (const t of this.live) if (!t.complete_) {
        t.own.add('too_many_transactions');
        t.complete_ = true;
      }
      bump(this.cnt, 'limit_transactions');
      this.state = 'failed';
      this.failReason = 'too_many_transactions';
      return null;
    }
    const t = new Pop3Tx(this.nextId++);
    this.live.push(t);
    bump(this.cnt, 'transactions');
    return t;
  }

  private onRequest(l: Line): boolean {
    const text = latin1(l.bytes);
    if (text.length === 0) return true;
    if (this.resyncReq) {
      if (!/^[A-Za-z]{3,4}( |$)/.test(text)) {
        bump(this.cnt, 'resync_skipped_lines');
        return true;
      }
      this.resyncReq = false;
    }
    const t = this.newTx();
    if (t === null) return false;
    if (this.saslNext) {
      this.saslNext = false;
      t.command = '<SASL DATA>';
      return true;
    }
    // RFC 2449: command + space + argument + CRLF ≤ 255 octets.
    if (l.bytes.length + 2 > 255 || l.truncated) t.own.add('request_too_long');
    const parts = text.split(' ');
    const kw = parts[0]!.toUpperCase();
    t.command = kw;
    t.args = parts.slice(1).filter((x) => x.length > 0);
    if (!COMMANDS.has(kw)) {
      t.own.add('unknown_command');
      bump(this.cnt, 'unknown_commands');
    } else {
      const [lo, hi] = ARGS[kw]!;
      if (t.args.length < lo || t.args.length > hi) t.own.add('incorrect_argument_count');
    }
    return true;
  }

  private oldestOpen(): Pop3Tx | null {
    for (const t of this.live) if (!t.complete_ && t.ok === null) return t;
    return null;
  }

  private onResponse(l: Line): boolean {
    const b = l.bytes;
    if (this.body !== null) {
      if (b.length === 1 && b[0] === 0x2e) {
        this.body.complete_ = true;
        this.body = null;
      } else {
        this.body.bodyLines++;
        bump(this.cnt, 'body_lines');
      }
      return true;
    }
    if (b.length === 0) return true;
    const text = latin1(b.subarray(0, Math.min(b.length, 600)));
    if (this.resyncRes) {
      if (!/^(\+OK|-ERR)/i.test(text)) {
        bump(this.cnt, 'resync_skipped_lines');
        return true;
      }
      this.resyncRes = false;
    }
    if (text.startsWith('+ ') || text === '+') {
      // SASL continuation (RFC 5034): the next client line is authentication data.
      const t = this.oldestOpen();
      if (t !== null) {
        t.ok = true;
        t.complete_ = true;
      }
      this.saslNext = true;
      return true;
    }
    const ok = /^\+OK/i.test(text);
    if (!ok && !/^-ERR/i.test(text)) {
      bump(this.cnt, 'invalid_responses');
      return true;
    }
    let t = this.oldestOpen();
    t ??= this.newTx(); // the greeting, or a response without a command
    if (t === null) return false;
    if (b.length + 2 > 512 || l.truncated) t.own.add('response_too_long');
    t.ok = ok;
    t.statusText = b.slice(ok ? 3 : 4);
    const cmd = t.command;
    const multiline = ok && (((cmd === 'LIST' || cmd === 'UIDL') && t.args.length === 0) || cmd === 'TOP' || cmd === 'RETR' || cmd === 'CAPA');
    if (multiline) {
      this.body = t;
      return true;
    }
    t.complete_ = true;
    if (ok && cmd === 'STLS') {
      this.state = 'upgrade';
      this.upgradeTo = 'tls';
      bump(this.cnt, 'upgrades');
      return false;
    }
    return true;
  }
}

/** sawp-pop3's probe, simplified: a known command keyword (to_server) or a status line (to_client). */
/**
 * latin1(data[0, n)).toUpperCase() without the typed-array spread of latin1() (the probe runs on
 * every chunk of every flow still probing): ASCII bytes one by one; past ASCII the long way
 * (there the upper case of a byte can be two letters, or outside latin-1).
 */
export function upperHead(data: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = data[i]!;
    if (c >= 0x80) return latin1(data.subarray(0, n)).toUpperCase();
    s += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  return s;
}

function probe(dir: AppDirection, data: Uint8Array, len: number): 'match' | 'no' | 'need-more' {
  // The first byte alone rules most flows out (what the checks below conclude from it, without
  // their strings): a status starts with '+' or '-'; a command keyword with one of its letters
  // (any case; bytes past ASCII take the long way, their upper case can be two letters).
  const c0 = len > 0 ? data[0]! : -1;
  if (c0 >= 0 && (dir === 'to_client' ? c0 !== 0x2b && c0 !== 0x2d : c0 < 0x80 && !COMMAND_HEADS.has(c0 >= 0x61 && c0 <= 0x7a ? c0 - 0x20 : c0))) return 'no';
  // Decide early on what cannot become a POP3 line: a status indicator (to_client), a command keyword (to_server).
  const head = upperHead(data, Math.min(len, 5));
  if (dir === 'to_client') {
    if (!('+OK'.startsWith(head.slice(0, 3)) || '-ERR'.startsWith(head.slice(0, 4)))) return 'no';
  } else {
    const word = /^[A-Z0-9]*/.exec(head)![0];
    if (word.length < Math.min(head.length, 4) && !(word.length >= 3 && COMMANDS.has(word))) return 'no';
    if (!COMMAND_LIST.some((c) => c.startsWith(word))) return 'no';
  }
  // Suricata needs at least 5 bytes (MIN_PROBE_LEN) and a full line.
  const n = Math.min(len, 256);
  const lf = data.subarray(0, n).indexOf(0x0a);
  if (lf === -1) return len < 256 ? 'need-more' : 'no';
  const line = latin1(data.subarray(0, lf)).replace(/\r$/, '');
  if (dir === 'to_client') return /^(\+OK|-ERR)( |$)/.test(line) ? 'match' : 'no';
  const kw = line.split(' ')[0]!.toUpperCase();
  return COMMANDS.has(kw) ? 'match' : 'no';
}

export function pop3Eve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof Pop3Tx)) return {};
  const o: Record<string, unknown> = {};
  if (tx.command !== null) o.request = { command: tx.command, args: tx.args };
  if (tx.ok !== null) o.response = { success: tx.ok, status: tx.ok ? 'OK' : 'ERR', header: latin1(tx.statusText ?? new Uint8Array(0)).trim() };
  return o;
}

export const POP3_PROTOCOL: AppProtocol = {
  name: 'pop3',
  ruleProtocols: ['pop3'],
  hintPorts: [110],
  probeDirections: ['to_server', 'to_client'],
  probe,
  create: () => new Pop3Parser(),
  buffers: [],
  keywords: [],
  events: ['too_many_transactions', 'request_too_long', 'incorrect_argument_count', 'unknown_command', 'response_too_long'],
  eve: pop3Eve,
};
