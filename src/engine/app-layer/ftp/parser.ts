/** FTP control connection parser: see ./types.ts (contract) and ./README.md (rules, sources). */
import type { AppDirection, AppExpectation, AppParser, AppParserContext, AppParserState, AppProtoName, AppTx } from '../types.js';
import { createFtpDataParser } from './data.js';
import { LineReader, bump, copy, latin1, type Line } from '../text/lines.js';
import {
  DEFAULT_FTP_LIMITS, FtpProgress, type FtpDataExpectation, type FtpEventName, type FtpFailReason, type FtpLimits, type FtpMode,
} from './types.js';
import { releaseThrough } from '../live-txs.js';

/** Suricata's FTP command table (app-layer-ftp.c `FtpCommands`): names matched case-insensitively. */
const COMMANDS = new Set([
  'ABOR', 'ACCT', 'ALLO', 'APPE', 'AUTH', 'CDUP', 'CHMOD', 'CWD', 'DELE', 'EPSV', 'EPRT', 'HELP', 'IDLE', 'LIST', 'MAIL', 'MDTM',
  'MKD', 'MLFL', 'MODE', 'MRCP', 'MRSQ', 'MSAM', 'MSND', 'MSOM', 'NLST', 'NOOP', 'PASS', 'PASV', 'PORT', 'PWD', 'QUIT', 'REIN',
  'REST', 'RETR', 'RMD', 'RNFR', 'RNTO', 'SITE', 'SIZE', 'SMNT', 'STAT', 'STOR', 'STOU', 'STRU', 'SYST', 'TYPE', 'UMASK', 'USER',
  'FEAT', 'OPTS', 'LPRT', 'LPSV', 'MLSD', 'MLST', 'PBSZ', 'PROT', 'XCUP', 'XCWD', 'XMKD', 'XPWD', 'XRMD',
]);

/** One FTP transaction: a command and its replies (or replies without a command). */
export class FtpTx implements AppTx {
  /** Canonical (uppercase) command name, or the token as sent when Suricata's table lacks it; null for a reply-only tx. */
  command: Uint8Array | null = null;
  /** Bytes after the command and one space (Suricata's `command_data`); null when the line has none. */
  commandData: Uint8Array | null = null;
  /** The request line was cut at `maxLine`. */
  requestTruncated = false;
  /** Reply texts per line (code and separator removed when the line starts with a code). */
  readonly replies: Uint8Array[] = [];
  /** Completion codes, one per reply line that starts with one. */
  readonly codes: Uint8Array[] = [];
  replyTruncated = false;
  /** A final (non-1xx) reply arrived, its last line included. */
  done = false;
  /** Inside a multi-line reply (`NNN-` seen, waiting for `NNN `): its code. */
  multiCode: string | null = null;
  /** Announced data port and mode (PORT/EPRT/PASV/EPSV), 0 when none. */
  dynPort = 0;
  mode: FtpMode | null = null;
  /** Address of a PORT/EPRT/PASV announcement. */
  portHost: string | null = null;
  /** PORT names another IPv4 host than the client (Suricata `ftpbounce`). */
  bounce = false;
  /** Suricata app-layer events raised on this tx, `ftp.<name>`. */
  readonly events: string[] = [];

  constructor(readonly id: number) {}

  raise(e: FtpEventName): void {
    if (!this.events.includes(`ftp.${e}`)) this.events.push(`ftp.${e}`);
  }

  progress(dir: AppDirection): number {
    if (dir === 'to_server') return this.command !== null ? FtpProgress.COMPLETE : FtpProgress.NONE;
    return this.done ? FtpProgress.COMPLETE : this.replies.length > 0 ? FtpProgress.STARTED : FtpProgress.NONE;
  }

  complete(dir: AppDirection): boolean {
    return dir === 'to_server' ? true : this.done;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (dir !== 'to_server') return null;
    if (name === 'ftp.command') return this.command;
    if (name === 'ftp.command_data') return this.commandData;
    return null;
  }

  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[] {
    if (dir !== 'to_client') return [];
    if (name === 'ftp.reply') return this.replies;
    if (name === 'ftp.completion_code') return this.codes;
    return [];
  }

  memory(): number {
    let n = 96 + (this.command?.length ?? 0) + (this.commandData?.length ?? 0);
    for (const r of this.replies) n += r.length + 16;
    return n + this.codes.length * 19;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** `h1,h2,h3,h4,p1,p2` → host and port (PORT argument, 227 reply), null when malformed. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})/.exec(s);
  if (!m) return null;
  const n = m.slice(1, 7).map(Number);
  if (n.some((x) => x > 255)) return null;
  const port = n[4]! * 256 + n[5]!;
  if (port === 0) return null;
  return { host: n.slice(0, 4).join('.'), port };
}

/** EPRT `|af|addr|port|` (RFC 2428; any delimiter) → host and port. */
export function parseEprt(s: string): { host: string; port: number } | null {
  const t = s.trim();
  if (t.length < 7) return null;
  const d = t[0]!;
  const parts = t.split(d);
  // "", af, addr, port, ""
  if (parts.length < 5) return null;
  const port = Number(parts[3]);
  if (!/^\d{1,5}$/.test(parts[3] ?? '') || port === 0 || port > 65535) return null;
  return { host: parts[2] ?? '', port };
}

/** 229 reply text `... (|||port|)` → port. */
export function parseEpsvReply(s: string): number | null {
  const m = /\((.)\1\1(\d{1,5})\1\)/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? port : null;
}

export class FtpParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: FtpFailReason | null = null;
  upgradeTo: AppProtoName | null = null;
  private readonly limits: FtpLimits;
  private readonly live: FtpTx[] = [];
  private nextId = 0;
  private readonly req: LineReader;
  private readonly res: LineReader;
  private readonly cnt: Record<string, number> = {};
  private expect: FtpDataExpectation[] = [];
  /** Last announced data port / mode / host, for the next RETR/STOR (Suricata keeps them on the state). */
  private dynPort = 0;
  private mode: FtpMode | null = null;
  private dynHost: string | null = null;
  /** AUTH TLS sent and not yet answered. */
  private authTlsPending = false;

  constructor(private readonly ctx: AppParserContext = { serverPort: 21, clientPort: 0 }, limits: Partial<FtpLimits> = {}) {
    this.limits = { ...DEFAULT_FTP_LIMITS, ...limits };
    this.req = new LineReader(this.limits.maxLine);
    this.res = new LineReader(this.limits.maxLine);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    if (this.state !== 'ok') {
      bump(this.cnt, 'ignored_bytes', len);
      return;
    }
    if (dir === 'to_server') {
      const consumed = this.req.push(data, off, len, (l) => this.onRequest(l));
      if (consumed < off + len) bump(this.cnt, 'ignored_bytes', off + len - consumed);
    } else {
      const consumed = this.res.push(data, off, len, (l) => this.onReply(l));
      if (consumed < off + len) bump(this.cnt, 'ignored_bytes', off + len - consumed);
    }
  }

  gap(dir: AppDirection, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_gaps' : 'response_gaps');
    bump(this.cnt, 'gap_bytes', len);
    // Suricata's FTP parser does not accept gaps: parsing of the flow stops.
    if (this.state === 'ok') this.fail('gap');
  }

  end(): void {
    /* Nothing pending matters: an unterminated line is not a command (Suricata waits for LF). */
  }

  *txs(): Iterable<FtpTx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    let n = this.req.memory() + this.res.memory();
    for (const t of this.live) n += t.memory();
    for (const e of this.expect) n += 64 + e.fileName.length;
    return n;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt, truncated_lines: this.req.truncatedLines + this.res.truncatedLines };
  }

  /** Data-connection expectations made since the last call (see ./types.ts "ftp-data hook"). */
  takeExpectations(): FtpDataExpectation[] {
    const out = this.expect;
    this.expect = [];
    return out;
  }

  /**
   * The same expectations for the framework (AppParser.takeFlowExpectations): the data flow's
   * server port, and who connects (passive: the FTP client; active: the FTP server, reversed).
   * Like Suricata, the data flow is expected between the control connection's two hosts whatever
   * address the announcement carried.
   */
  takeFlowExpectations(): AppExpectation[] {
    return this.takeExpectations().map((e) => ({
      proto: 'ftp-data', port: e.port, reversed: e.mode === 'active', create: () => createFtpDataParser(e),
    }));
  }

  private fail(reason: FtpFailReason): void {
    this.state = 'failed';
    this.failReason = reason;
    bump(this.cnt, `fail_${reason}`);
  }

  private newTx(): FtpTx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      bump(this.cnt, 'limit_transactions');
      this.fail('too_many_transactions');
      return null;
    }
    const t = new FtpTx(this.nextId++);
    this.live.push(t);
    bump(this.cnt, 'transactions');
    return t;
  }

  private onRequest(l: Line): boolean {
    const b = l.bytes;
    if (b.length === 0) return true;
    const t = this.newTx();
    if (t === null) return false;
    if (l.truncated) {
      t.requestTruncated = true;
      t.raise('request_command_too_long');
      bump(this.cnt, 'event_request_command_too_long');
    }
    let sp = b.indexOf(0x20);
    if (sp === -1) sp = b.length;
    const token = latin1(b.subarray(0, sp));
    const upper = token.toUpperCase();
    const known = COMMANDS.has(upper);
    if (!known) bump(this.cnt, 'unknown_commands');
    t.command = copy(known ? Uint8Array.from(upper, (c) => c.charCodeAt(0)) : b.subarray(0, sp));
    if (sp < b.length) t.commandData = copy(b.subarray(sp + 1));
    const arg = t.commandData === null ? '' : latin1(t.commandData);
    switch (upper) {
      case 'PORT': {
        const hp = parseHostPort(arg);
        if (hp === null) {
          bump(this.cnt, 'malformed_port');
          break;
        }
        this.announce(t, 'active', hp.host, hp.port);
        const client = this.ctx.clientAddr;
        if (client === undefined) bump(this.cnt, 'bounce_client_unknown');
        // Suricata compares the PORT address with the flow's source address (IPv4 only).
        else if (/^\d+\.\d+\.\d+\.\d+$/.test(client) && client !== hp.host) t.bounce = true;
        break;
      }
      case 'EPRT': {
        const hp = parseEprt(arg);
        if (hp === null) bump(this.cnt, 'malformed_port');
        else this.announce(t, 'active', hp.host, hp.port);
        break;
      }
      case 'RETR':
      case 'STOR':
        this.expectData(t, upper);
        break;
      case 'AUTH':
        if (/^(TLS|SSL)\b/i.test(arg.trim())) this.authTlsPending = true;
        break;
      default:
        break;
    }
    return true;
  }

  private announce(t: FtpTx, mode: FtpMode, host: string | null, port: number): void {
    t.dynPort = port;
    t.mode = mode;
    t.portHost = host;
    this.dynPort = port;
    this.mode = mode;
    this.dynHost = host;
  }

  private expectData(t: FtpTx, command: 'RETR' | 'STOR'): void {
    if (this.dynPort === 0 || this.mode === null) return;
    if (this.expect.length >= this.limits.maxPendingExpectations) {
      this.expect.shift();
      bump(this.cnt, 'limit_expectations');
    }
    const fromServer = command === 'RETR';
    // The data flow's client is the FTP client in passive mode and the FTP server in active mode.
    const fileDirection: AppDirection = fromServer === (this.mode === 'passive') ? 'to_client' : 'to_server';
    this.expect.push({
      txId: t.id, mode: this.mode, host: this.dynHost, port: this.dynPort, command,
      fileName: t.commandData ?? new Uint8Array(0), fileDirection,
    });
    bump(this.cnt, 'expectations');
  }

  /** Oldest tx still waiting for (the rest of) a reply; a new reply-only tx when none. */
  private replyTx(): FtpTx | null {
    for (const t of this.live) if (!t.done) return t;
    return this.newTx();
  }

  private onReply(l: Line): boolean {
    const b = l.bytes;
    if (b.length === 0) return true;
    const t = this.replyTx();
    if (t === null) return false;
    if (l.truncated) {
      t.replyTruncated = true;
      t.raise('response_command_too_long');
      bump(this.cnt, 'event_response_command_too_long');
    }
    const hasCode = b.length >= 3 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && (b.length === 3 || b[3] === 0x20 || b[3] === 0x2d);
    const code = hasCode ? latin1(b.subarray(0, 3)) : null;
    const text = hasCode ? b.subarray(Math.min(4, b.length)) : b;
    if (t.replies.length < this.limits.maxReplyLines) {
      t.replies.push(copy(text));
      if (code !== null) t.codes.push(copy(b.subarray(0, 3)));
    } else {
      bump(this.cnt, 'limit_reply_lines');
    }
    if (t.multiCode !== null) {
      // RFC 959 4.2: a multi-line reply ends with a line starting with the same code and a space.
      if (code === t.multiCode && (b.length === 3 || b[3] === 0x20)) t.multiCode = null;
      else return true;
    } else if (code !== null && b[3] === 0x2d) {
      t.multiCode = code;
      this.onReplyCode(t, code, text);
      return true;
    } else if (code !== null) {
      this.onReplyCode(t, code, text);
    }
    if (code === null) bump(this.cnt, 'reply_without_code');
    // A 1xx preliminary reply keeps the tx open for its final reply (Suricata FTPIsPPR).
    if (code !== null && code[0] === '1') return true;
    t.done = true;
    if (this.state !== 'ok') return false;
    return true;
  }

  private onReplyCode(t: FtpTx, code: string, text: Uint8Array): void {
    const cmd = t.command === null ? '' : latin1(t.command);
    if (cmd === 'PASV' && code === '227') {
      const hp = parseHostPort(latin1(text));
      if (hp === null) bump(this.cnt, 'malformed_pasv');
      else this.announce(t, 'passive', hp.host, hp.port);
    } else if (cmd === 'EPSV' && code === '229') {
      const port = parseEpsvReply(latin1(text));
      if (port === null) bump(this.cnt, 'malformed_pasv');
      else this.announce(t, 'passive', null, port);
    } else if (cmd === 'AUTH' && this.authTlsPending) {
      this.authTlsPending = false;
      // 234: security data exchange follows (RFC 2228/4217): the rest of the connection is TLS.
      if (code === '234') {
        t.done = true;
        this.state = 'upgrade';
        this.upgradeTo = 'tls';
        bump(this.cnt, 'upgrades');
      }
    }
  }
}
