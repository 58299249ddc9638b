/** FTP as an `AppProtocol`: detection, buffer and keyword tables, EVE (see ./README.md). */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppProtocol, AppTx } from '../types.js';
import { probePatterns } from '../text/probe.js';
import { latin1 } from '../text/lines.js';
import { matchUint, parseNoValue, parseUint, parseYesNo, type UintMatch } from '../text/values.js';
import { FtpParser, FtpTx } from './parser.js';
import type { FtpMode } from './types.js';

/** Suricata's FTP detection patterns (FTPRegisterPatternsForProtocolDetection), case-insensitive at offset 0. */
const TO_SERVER = ['USER ', 'PASS ', 'PORT ', 'AUTH SSL', 'AUTH TLS'];
const TO_CLIENT = ['220 ('];

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];
const spec = (name: string, dir: AppDirection, multi: boolean): AppBufferSpec => ({
  name, aliases: [], directions: [dir], multi, lowercaseOnly: false, pcreFlag: null,
});

export const FTP_BUFFERS: readonly AppBufferSpec[] = [
  spec('ftp.command', 'to_server', false),
  spec('ftp.command_data', 'to_server', false),
  spec('ftp.reply', 'to_client', true),
  spec('ftp.completion_code', 'to_client', true),
];

const asFtp = (tx: AppTx): FtpTx | null => (tx instanceof FtpTx ? tx : null);

const ftpbounce: AppKeywordSpec<true> = {
  name: 'ftpbounce',
  aliases: [],
  directions: ['to_server'],
  parse: (v) => parseNoValue(v, 'ftpbounce'),
  match: (tx) => asFtp(tx)?.bounce === true,
};

const dynamicPort: AppKeywordSpec<UintMatch> = {
  name: 'ftp.dynamic_port',
  aliases: [],
  directions: BOTH,
  parse: (v) => parseUint(v, 65535, 'ftp.dynamic_port'),
  match: (tx, _dir, m) => {
    const t = asFtp(tx);
    return t !== null && t.dynPort !== 0 && matchUint(m, t.dynPort);
  },
};

const mode: AppKeywordSpec<FtpMode> = {
  name: 'ftp.mode',
  aliases: [],
  directions: BOTH,
  parse: (v) => {
    const x = (v ?? '').trim().toLowerCase();
    if (x !== 'active' && x !== 'passive') throw new Error(`ftp.mode: expected active or passive, got "${v ?? ''}"`);
    return x;
  },
  match: (tx, _dir, m) => asFtp(tx)?.mode === m,
};

const replyReceived: AppKeywordSpec<boolean> = {
  name: 'ftp.reply_received',
  aliases: [],
  directions: BOTH,
  parse: (v) => parseYesNo(v, 'ftp.reply_received'),
  match: (tx, _dir, want) => {
    const t = asFtp(tx);
    return t !== null && t.done === want;
  },
};

export const FTP_KEYWORDS: readonly AppKeywordSpec[] = [ftpbounce, dynamicPort, mode, replyReceived] as readonly AppKeywordSpec[];

/** EVE `ftp` object (Suricata's rust/src/ftp logger field names). */
export function ftpEve(tx: AppTx): Record<string, unknown> {
  const t = asFtp(tx);
  if (t === null) return {};
  const o: Record<string, unknown> = {};
  if (t.command !== null) o.command = latin1(t.command);
  if (t.commandData !== null) o.command_data = latin1(t.commandData);
  if (t.replies.length > 0) o.reply = t.replies.map(latin1);
  if (t.codes.length > 0) o.completion_code = t.codes.map(latin1);
  if (t.dynPort !== 0) {
    o.dynamic_port = t.dynPort;
    if (t.mode !== null) o.mode = t.mode;
  }
  o.reply_received = t.done ? 'yes' : 'no';
  if (t.replyTruncated) o.reply_truncated = true;
  return o;
}

export const FTP_PROTOCOL: AppProtocol = {
  name: 'ftp',
  ruleProtocols: ['ftp'],
  hintPorts: [21],
  probeDirections: ['to_server', 'to_client'],
  probe: (dir, data, len) => probePatterns(dir === 'to_server' ? TO_SERVER : TO_CLIENT, data, len),
  create: (ctx) => new FtpParser(ctx),
  buffers: FTP_BUFFERS,
  keywords: FTP_KEYWORDS,
  events: ['request_command_too_long', 'response_command_too_long'],
  eve: ftpEve,
};
