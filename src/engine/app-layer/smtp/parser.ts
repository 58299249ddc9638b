/** SMTP parser: see ./types.ts (contract) and ./README.md (rules, sources). */
import type { AppDirection, AppParser, AppParserState, AppProtoName, AppTx } from '../types.js';
import { LineReader, bump, latin1, startsWithCi, type Line } from '../text/lines.js';
import { MimeDecoder } from './mime.js';
import type { FileHashAlgo } from '../filehash.js';
import { DEFAULT_SMTP_LIMITS, type MimeFile, type SmtpEventName, type SmtpFailReason, type SmtpLimits } from './types.js';
import { releaseThrough } from '../live-txs.js';

const CRLF = new Uint8Array([0x0d, 0x0a]);
const LF = new Uint8Array([0x0a]);
const NONE = new Uint8Array(0);
/** RFC 5321 4.5.3.1.4 command line limit (510 + CRLF): Suricata's MAX_COMMAND_LINE_LEN_EXCEEDED. */
const MAX_COMMAND_LINE = 510;
const MAX_REPLY_LINE = 512;

/** State shared by the txs of a connection: HELO/EHLO is per connection in Suricata (`state->helo`). */
interface Session {
  helo: Uint8Array | null;
}

/** One SMTP transaction: from its first command to the end of its message (DATA `.` or BDAT LAST). */
export class SmtpTx implements AppTx {
  mailFrom: Uint8Array | null = null;
  readonly rcptTo: Uint8Array[] = [];
  /** The message, once DATA/BDAT started. */
  mime: MimeDecoder | null = null;
  /** The message ended (or the tx was closed by the next mail): no more data. */
  done = false;
  readonly own = new Set<SmtpEventName>();
  private filesView: { n: number; kept: number; data: Uint8Array[] } | null = null;

  constructor(readonly id: number, private readonly session: Session, private readonly limits: SmtpLimits = DEFAULT_SMTP_LIMITS) {}

  get events(): readonly string[] {
    const all = new Set(this.own);
    if (this.mime) for (const e of this.mime.events) all.add(e);
    return [...all].map((e) => `smtp.${e}`);
  }

  get helo(): Uint8Array | null {
    return this.session.helo;
  }

  /** 1 once the tx has a command (its smtp.* buffers may exist: the detect stage inspects it), 2 when its message ended. */
  started = false;

  progress(): number {
    return this.done ? 2 : this.started ? 1 : 0;
  }

  complete(): boolean {
    return this.done;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (dir !== 'to_server') return null;
    switch (name) {
      case 'smtp.helo': return this.session.helo;
      case 'smtp.mail_from': return this.mailFrom;
      case 'email.from': return this.mime?.header('from') ?? null;
      case 'email.to': return this.mime?.header('to') ?? null;
      case 'email.cc': return this.mime?.header('cc') ?? null;
      case 'email.subject': return this.mime?.header('subject') ?? null;
      case 'email.date': return this.mime?.header('date') ?? null;
      case 'email.message_id': return this.mime?.header('message-id') ?? null;
      case 'email.x_mailer': return this.mime?.header('x-mailer') ?? null;
      default: return null;
    }
  }

  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[] {
    if (dir !== 'to_server') return [];
    switch (name) {
      case 'smtp.rcpt_to': return this.rcptTo;
      case 'email.received': return this.mime?.headerAll('received') ?? [];
      case 'email.url': return this.mime?.urls ?? [];
      case 'file.name': return this.mime?.files.map((f) => f.name) ?? [];
      case 'file.data': return this.fileData();
      default: return [];
    }
  }

  /**
   * Decoded attachment bytes so far, one instance per file ready for inspection: complete, or
   * with fileInspectMinSize bytes, or at fileDataLimit (Suricata's content-inspect-min-size).
   */
  private fileData(): readonly Uint8Array[] {
    const files = this.mime?.files ?? [];
    const l = this.limits;
    const ready = (f: MimeFile): boolean => f.kept > 0 && (f.closed || f.seen >= l.fileInspectMinSize || f.kept >= l.fileDataLimit);
    let kept = 0;
    let n = 0;
    for (const f of files) {
      if (!ready(f)) continue;
      kept += f.kept;
      n++;
    }
    const v = this.filesView;
    if (v !== null && v.n === n && v.kept === kept) return v.data;
    const data = files.filter(ready).map((f) => f.data.subarray(0, f.kept));
    this.filesView = { n, kept, data };
    return data;
  }

  memory(): number {
    let n = 128 + (this.mailFrom?.length ?? 0);
    for (const r of this.rcptTo) n += r.length + 16;
    return n + (this.mime?.memory() ?? 0);
  }
}

type Mode = 'command' | 'data' | 'bdat';

interface Pending {
  readonly verb: string;
  readonly tx: SmtpTx | null;
}

/** `SMTPParseCommandWithParam`: after `prefixLen + 1` bytes, spaces skipped, up to the next space. */
function param(line: Uint8Array, prefixLen: number): Uint8Array {
  let i = prefixLen + 1;
  while (i < line.length && line[i] === 0x20) i++;
  let e = i;
  while (e < line.length && line[e] !== 0x20) e++;
  return line.slice(Math.min(i, line.length), e);
}

export class SmtpParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: SmtpFailReason | null = null;
  upgradeTo: AppProtoName | null = null;
  private readonly limits: SmtpLimits;
  private readonly cnt: Record<string, number> = {};
  private readonly session: Session = { helo: null };
  private readonly live: SmtpTx[] = [];
  private curr: SmtpTx | null = null;
  private nextId = 0;
  private readonly req: LineReader;
  private readonly res: LineReader;
  private readonly bdatLines: LineReader;
  private mode: Mode = 'command';
  /** In data mode, the last piece handed on had no line ending (an over-long line continues). */
  private midLine = false;
  private bdatRemaining = 0;
  private bdatLast = false;
  private readonly pending: Pending[] = [];
  private greeted = false;
  /** The server announced PIPELINING in its EHLO reply. */
  private serverPipelining = false;

  /** `fileHashes`: digests to compute of every attachment (AppParserContext.fileHashes). */
  constructor(limits: Partial<SmtpLimits> = {}, private readonly fileHashes: readonly FileHashAlgo[] = []) {
    this.limits = { ...DEFAULT_SMTP_LIMITS, ...limits };
    this.req = new LineReader(this.limits.maxLine);
    this.res = new LineReader(this.limits.maxLine);
    this.bdatLines = new LineReader(this.limits.maxLine);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    if (this.state !== 'ok') {
      bump(this.cnt, 'ignored_bytes', len);
      return;
    }
    const end = off + len;
    if (dir === 'to_client') {
      const c = this.res.push(data, off, len, (l) => this.onReply(l));
      if (c < end) bump(this.cnt, 'ignored_bytes', end - c);
      return;
    }
    let i = off;
    while (i < end && this.running()) {
      if (this.mode === 'bdat') {
        const take = Math.min(this.bdatRemaining, end - i);
        this.bdatLines.push(data, i, take, (l) => {
          this.messageLine(l.bytes, l.eol, l.truncated);
          return true;
        }, true);
        this.bdatRemaining -= take;
        i += take;
        if (this.bdatRemaining === 0) {
          this.mode = 'command';
          if (this.bdatLast) this.endMessage();
        }
        continue;
      }
      // Message lines longer than maxLine are handed on in pieces (Suricata's SMTPGetLine), commands are cut.
      i = this.req.push(data, i, end - i, (l) => this.onRequest(l), this.mode === 'data');
    }
    if (i < end) bump(this.cnt, 'ignored_bytes', end - i);
  }

  gap(dir: AppDirection, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_gaps' : 'response_gaps');
    bump(this.cnt, 'gap_bytes', len);
    // Suricata's SMTP parser does not accept gaps.
    if (this.state === 'ok') this.fail('gap');
  }

  end(dir: AppDirection): void {
    if (dir === 'to_server' && this.curr?.mime && !this.curr.done) this.curr.mime.finish();
  }

  *txs(): Iterable<SmtpTx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    let n = this.req.memory() + this.res.memory() + this.bdatLines.memory() + (this.session.helo?.length ?? 0);
    for (const t of this.live) n += t.memory();
    return n;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt, truncated_lines: this.req.truncatedLines + this.res.truncatedLines + this.bdatLines.truncatedLines };
  }

  private running(): boolean {
    return this.state === 'ok';
  }

  private fail(reason: SmtpFailReason): void {
    this.state = 'failed';
    this.failReason = reason;
    bump(this.cnt, `fail_${reason}`);
  }

  private event(tx: SmtpTx | null, e: SmtpEventName): void {
    bump(this.cnt, `event_${e}`);
    tx?.own.add(e);
  }

  private newTx(): SmtpTx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      bump(this.cnt, 'limit_transactions');
      this.fail('too_many_transactions');
      return null;
    }
    const t = new SmtpTx(this.nextId++, this.session, this.limits);
    this.live.push(t);
    this.curr = t;
    bump(this.cnt, 'transactions');
    return t;
  }

  private onRequest(l: Line): boolean {
    if (this.mode === 'data') {
      const b = l.bytes;
      // The rest of a line handed on in pieces: neither the end of the message nor dot-stuffed.
      const cont = this.midLine;
      this.midLine = l.eol === 'none';
      if (cont) {
        this.messageLine(b, l.eol, l.truncated);
        return true;
      }
      if (b.length === 1 && b[0] === 0x2e && !l.truncated) {
        const tx = this.curr;
        this.endMessage();
        // The server answers the end of the message: a pseudo command to match that reply (Suricata SMTP_COMMAND_DATA_MODE).
        if (tx !== null) this.pushPending('DATA_END', tx);
        return false; // back to command lines: the caller pushes the rest with command rules
      }
      // RFC 5321 4.5.2: a leading dot was doubled by the client (dot-stuffing).
      this.messageLine(b.length > 0 && b[0] === 0x2e ? b.subarray(1) : b, l.eol, l.truncated);
      return true;
    }
    const b = l.bytes;
    if (b.length === 0) return true;
    const isRsetQuit = startsWithCi(b, 'RSET') || startsWithCi(b, 'QUIT');
    let tx = this.curr;
    if (tx === null || (tx.done && !isRsetQuit)) {
      tx = this.newTx();
      if (tx === null) return false;
    }
    tx.started = true;
    if (l.truncated) this.event(tx, 'truncated_line');
    if (b.length > MAX_COMMAND_LINE) this.event(tx, 'max_command_line_len_exceeded');
    let verb = 'OTHER';
    if (startsWithCi(b, 'HELO') || startsWithCi(b, 'EHLO')) {
      verb = startsWithCi(b, 'EHLO') ? 'EHLO' : 'HELO';
      this.session.helo = param(b, 4);
    } else if (startsWithCi(b, 'MAIL FROM')) {
      verb = 'MAIL';
      tx.mailFrom = param(b, 9);
    } else if (startsWithCi(b, 'RCPT TO')) {
      verb = 'RCPT';
      if (tx.rcptTo.length < this.limits.maxRecipients) tx.rcptTo.push(param(b, 7));
      else bump(this.cnt, 'limit_recipients');
    } else if (startsWithCi(b, 'DATA') && (b.length === 4 || b[4] === 0x20)) {
      verb = 'DATA';
      // Data mode starts now: Suricata waits for 354 unless the server pipelines; in packet order
      // the 354 comes before the client's message, and a rejection (non-354) leaves data mode below.
      tx.mime ??= new MimeDecoder(this.limits, this.cnt, this.fileHashes);
      this.mode = 'data';
      this.midLine = false;
    } else if (startsWithCi(b, 'BDAT')) {
      verb = 'BDAT';
      const m = /^BDAT\s+(\d{1,10})(\s+LAST)?\s*$/i.exec(latin1(b));
      if (m === null) {
        bump(this.cnt, 'malformed_bdat');
      } else {
        this.bdatRemaining = Number(m[1]);
        this.bdatLast = m[2] !== undefined;
        tx.mime ??= new MimeDecoder(this.limits, this.cnt, this.fileHashes);
        this.pushPending(verb, tx);
        if (this.bdatRemaining > 0) {
          this.mode = 'bdat';
          return false; // raw chunk bytes follow: the caller switches mode
        }
        if (this.bdatLast) this.endMessage();
        return true;
      }
    } else if (startsWithCi(b, 'STARTTLS')) {
      verb = 'STARTTLS';
    } else if (startsWithCi(b, 'RSET')) {
      verb = 'RSET';
      // RSET aborts the mail transaction (RFC 5321 4.1.1.5): Suricata marks the tx done, so the next MAIL opens a new one.
      if (this.mode === 'command') tx.done = true;
    } else if (startsWithCi(b, 'QUIT')) {
      verb = 'QUIT';
    } else {
      bump(this.cnt, 'other_commands');
    }
    this.pushPending(verb, tx);
    // After DATA the lines are message lines (split, not cut): the caller pushes the rest in that mode.
    return verb !== 'DATA';
  }

  private pushPending(verb: string, tx: SmtpTx): void {
    if (this.pending.length >= this.limits.maxPendingCommands) {
      this.pending.shift();
      bump(this.cnt, 'limit_pending_commands');
    }
    this.pending.push({ verb, tx });
  }

  private messageLine(b: Uint8Array, eol: Line['eol'], truncated: boolean): void {
    const tx = this.curr;
    if (tx?.mime == null) return;
    if (truncated) this.event(tx, 'truncated_line');
    tx.mime.line(b, eol === 'crlf' ? CRLF : eol === 'lf' ? LF : NONE);
  }

  private endMessage(): void {
    const tx = this.curr;
    this.mode = 'command';
    if (tx === null) return;
    if (this.bdatLines.pending() > 0) {
      // The last chunk ended without a line ending: its bytes are the message's last line.
      this.bdatLines.push(LF, 0, 1, (l) => {
        this.messageLine(l.bytes, 'none', l.truncated);
        return true;
      });
    }
    this.bdatLines.reset();
    tx.mime?.finish();
    tx.done = true;
    bump(this.cnt, 'messages');
  }

  private onReply(l: Line): boolean {
    const b = l.bytes;
    if (b.length === 0) return true;
    const first = this.pending[0] ?? null;
    const tx = first?.tx ?? this.curr;
    if (l.truncated) this.event(tx, 'truncated_line');
    if (b.length > MAX_REPLY_LINE) this.event(tx, 'max_reply_line_len_exceeded');
    const digits = b.length >= 3 && b[0]! >= 0x30 && b[0]! <= 0x39 && b[1]! >= 0x30 && b[1]! <= 0x39 && b[2]! >= 0x30 && b[2]! <= 0x39;
    if (!digits) {
      this.event(tx, 'invalid_reply');
      return true;
    }
    const code = latin1(b.subarray(0, 3));
    const more = b.length > 3 && b[3] === 0x2d;
    if (first?.verb === 'EHLO' && /PIPELINING/i.test(latin1(b.subarray(4)))) this.serverPipelining = true;
    if (more) return true; // a multi-line reply ends at its line without '-'
    if (!this.greeted) {
      // The server speaks first: its first reply is the greeting, whatever the client already sent.
      this.greeted = true;
      if (code !== '220') bump(this.cnt, 'greeting_not_220');
      return true;
    }
    if (first === null) {
      this.event(this.curr, 'unable_to_match_reply_with_request');
      return true;
    }
    this.pending.shift();
    switch (first.verb) {
      case 'DATA':
        if (code !== '354') {
          this.event(first.tx, 'data_command_rejected');
          if (this.mode === 'data' && this.curr === first.tx) this.mode = 'command';
          if (first.tx !== null && !first.tx.done) first.tx.mime = null;
        }
        break;
      case 'STARTTLS':
        if (code === '220') {
          this.state = 'upgrade';
          this.upgradeTo = 'tls';
          bump(this.cnt, 'upgrades');
          if (this.curr !== null) this.curr.done = true;
          return false;
        }
        this.event(first.tx, 'tls_rejected');
        break;
      default:
        break;
    }
    return true;
  }

  /** The server announced PIPELINING (EHLO reply). */
  get pipelining(): boolean {
    return this.serverPipelining;
  }
}
