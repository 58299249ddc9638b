/** SMTP as an `AppProtocol`: detection, buffer table, EVE `smtp` and `email` (see ./README.md). */
import type { AppBufferSpec, AppDirection, AppProbeResult, AppProtocol, AppTx } from '../types.js';
import { latin1 } from '../text/lines.js';
import { probePatterns } from '../text/probe.js';
import { SmtpParser, SmtpTx } from './parser.js';
import { fileHashKeywords } from '../filehash.js';

/** Suricata's SMTP client patterns (SMTPRegisterPatternsForProtocolDetection), case-insensitive at offset 0. */
const TO_SERVER = ['EHLO', 'HELO', 'QUIT'];

/**
 * Server side: Suricata probes a `220` greeting on the SMTP ports only; without ports here, a
 * greeting line `220 ` / `220-` that names (E)SMTP is taken (FTP greetings also start with 220).
 */
function probeServer(data: Uint8Array, len: number): AppProbeResult {
  const head = probePatterns(['220 ', '220-'], data, len, false);
  if (head !== 'match') return head;
  const lf = data.subarray(0, len).indexOf(0x0a);
  const line = latin1(data.subarray(0, lf === -1 ? Math.min(len, 512) : lf));
  if (/SMTP/i.test(line)) return 'match';
  return lf === -1 && len < 512 ? 'need-more' : 'no';
}

const spec = (name: string, multi: boolean, aliases: readonly string[] = []): AppBufferSpec => ({
  name, aliases, directions: ['to_server'] as readonly AppDirection[], multi, lowercaseOnly: false, pcreFlag: null,
});

export const SMTP_BUFFERS: readonly AppBufferSpec[] = [
  spec('smtp.helo', false),
  spec('smtp.mail_from', false),
  spec('smtp.rcpt_to', true),
  spec('email.from', false),
  spec('email.to', false),
  spec('email.cc', false),
  spec('email.subject', false),
  spec('email.date', false),
  spec('email.message_id', false),
  spec('email.x_mailer', false),
  spec('email.received', true),
  spec('email.url', true),
  // One instance per attachment (Suricata inspects each file of the tx).
  spec('file.data', true, ['file_data']),
  spec('file.name', true),
];

const asSmtp = (tx: AppTx): SmtpTx | null => (tx instanceof SmtpTx ? tx : null);
const str = (b: Uint8Array | null): string | undefined => (b === null ? undefined : latin1(b));

/** EVE `smtp` (Suricata output-json-smtp.c): helo, mail_from, rcpt_to. */
export function smtpEve(tx: AppTx): Record<string, unknown> {
  const t = asSmtp(tx);
  if (t === null) return {};
  const o: Record<string, unknown> = {};
  const helo = str(t.helo);
  if (helo !== undefined) o.helo = helo;
  const from = str(t.mailFrom);
  if (from !== undefined) o.mail_from = from;
  if (t.rcptTo.length > 0) o.rcpt_to = t.rcptTo.map(latin1);
  return o;
}

/** Split an address list at commas outside double quotes (`"a,b" <x>, c` is two entries), nothing trimmed. */
function splitAddresses(v: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(v.slice(start, i));
      start = i + 1;
    }
  }
  out.push(v.slice(start));
  return out;
}

/** EVE `email` (rust/src/mime/smtp_log.rs `log_data`): from, to/cc split at commas outside quotes, status, attachment, url (logged last-found first). */
export function emailEve(tx: AppTx): Record<string, unknown> | null {
  const m = asSmtp(tx)?.mime ?? null;
  if (m === null) return null;
  const o: Record<string, unknown> = {};
  const from = str(m.header('from'));
  if (from !== undefined) o.from = from;
  const to = str(m.header('to'));
  if (to !== undefined) o.to = splitAddresses(to);
  const cc = str(m.header('cc'));
  if (cc !== undefined) o.cc = splitAddresses(cc);
  o.status = 'PARSE_DONE';
  if (m.attachments.length > 0) o.attachment = m.attachments.map(latin1);
  if (m.urls.length > 0) o.url = [...m.urls].reverse().map(latin1);
  return o;
}

/**
 * EVE `files` of an SMTP alert (Suricata's EveFileInfo for each attachment of the tx):
 * filename, gaps (never: a gap fails the parser), state OPEN until the part or message ends,
 * md5/sha1/sha256 once closed when a file hash rule had them computed, stored (no filestore),
 * size (decoded bytes so far), tx_id.
 */
export function smtpFiles(tx: AppTx): Record<string, unknown>[] {
  const t = asSmtp(tx);
  const files = t?.mime?.files ?? [];
  return files.map((f) => ({ filename: latin1(f.name), gaps: false, state: f.closed ? 'CLOSED' : 'OPEN', ...(f.digests ?? {}), stored: false, size: f.seen, tx_id: tx.id }));
}

export const SMTP_PROTOCOL: AppProtocol = {
  name: 'smtp',
  ruleProtocols: ['smtp'],
  hintPorts: [25, 587, 465],
  probeDirections: ['to_server', 'to_client'],
  probe: (dir, data, len) => (dir === 'to_server' ? probePatterns(TO_SERVER, data, len) : probeServer(data, len)),
  // a greeting line without "SMTP" in its first 512 bytes is a 'no' until its end shows one
  probeMayRevise: true,
  create: (ctx) => new SmtpParser({}, ctx.fileHashes ?? []),
  buffers: SMTP_BUFFERS,
  keywords: fileHashKeywords((tx) => asSmtp(tx)?.mime?.files ?? [], ['to_server']),
  events: [
    'invalid_reply', 'unable_to_match_reply_with_request', 'max_command_line_len_exceeded', 'max_reply_line_len_exceeded', 'tls_rejected', 'data_command_rejected', 'truncated_line',
    'mime_invalid_base64', 'mime_invalid_qp', 'mime_long_line', 'mime_long_enc_line', 'mime_long_header_name', 'mime_long_header_value', 'mime_long_boundary', 'mime_long_filename',
  ],
  eve: smtpEve,
  files: smtpFiles,
  eveExtra: (tx) => {
    const e = emailEve(tx);
    return e === null ? {} : { email: e };
  },
};
