/**
 * Contract of the SMTP parser (issue 11): commands and replies of one connection (pipelining,
 * multi-line replies), mail transactions (MAIL FROM … end of DATA / BDAT LAST), the message
 * through Suricata 8's MIME decoder rules (rust/src/mime/smtp.rs): top-level headers for
 * `email.*`, attachments (base64 / quoted-printable decoded) for `file.data` / `file.name`, URLs
 * from text parts for `email.url`. STARTTLS answered 220 hands the connection to TLS.
 * See ./README.md for every rule and its source.
 *
 * Pure: no I/O, no clock, never throws on input. Implementations: ./parser.ts (`SmtpParser`,
 * `SmtpTx`), ./mime.ts (`MimeDecoder`), ./protocol.ts (`SMTP_PROTOCOL`).
 */
import type { FileHashAlgo, FileHasher } from '../filehash.js';

/** Limits of one SMTP connection (defaults: Suricata's where it has one). Hitting one is counted and handled as said. */
export interface SmtpLimits {
  /** Longest line kept, command or data (Suricata's SMTP line limit 4096): longer lines are cut (event `smtp.truncated_line`), the rest skipped. */
  maxLine: number;
  /** Transactions alive (not released); over it the parser fails (`too_many_transactions`). */
  maxTransactions: number;
  /** Commands waiting for their reply (pipelining); over it the oldest is forgotten (counted). */
  maxPendingCommands: number;
  /** RCPT TO values kept per tx; more are counted and dropped. */
  maxRecipients: number;
  /** Top-level and part headers kept per message; more are counted and dropped. */
  maxHeaders: number;
  /** Bytes kept of one header value (folded lines included); the rest is counted and dropped. */
  maxHeaderValue: number;
  /** URLs kept per message (`email.url`). */
  maxUrls: number;
  /** Attachments (files) kept per message. */
  maxFiles: number;
  /** Decoded bytes kept per attachment for `file.data` (Suricata's SMTP `content-limit`, 100,000); the rest is counted. */
  fileDataLimit: number;
  /**
   * `file.data` of an attachment is inspected once it has this many bytes, is complete (part or
   * message ended) or reached `fileDataLimit` (Suricata's SMTP `content-inspect-min-size`, 32768):
   * before, a rule on it waits, as Suricata's file-data inspection does.
   */
  fileInspectMinSize: number;
}

export const DEFAULT_SMTP_LIMITS: Readonly<SmtpLimits> = Object.freeze({
  maxLine: 4096,
  maxTransactions: 256,
  maxPendingCommands: 64,
  maxRecipients: 256,
  maxHeaders: 256,
  maxHeaderValue: 8192,
  maxUrls: 64,
  maxFiles: 32,
  fileDataLimit: 100_000,
  fileInspectMinSize: 32_768,
});

/** Why the parser stopped (bounded label). */
export type SmtpFailReason = 'gap' | 'too_many_transactions';

/**
 * Suricata's SMTP app-layer events (`smtp.<name>`, rules/smtp-events.rules) that this parser
 * raises; the MIME ones are raised on the tx of the message.
 */
export type SmtpEventName =
  | 'invalid_reply'
  | 'unable_to_match_reply_with_request'
  | 'max_command_line_len_exceeded'
  | 'max_reply_line_len_exceeded'
  | 'bdat_chunk_len_exceeded'
  | 'no_server_welcome_message'
  | 'tls_rejected'
  | 'data_command_rejected'
  | 'truncated_line'
  | 'mime_invalid_base64'
  | 'mime_invalid_qp'
  | 'mime_long_line'
  | 'mime_long_enc_line'
  | 'mime_long_header_name'
  | 'mime_long_header_value'
  | 'mime_long_boundary'
  | 'mime_long_filename';

/** One MIME header as the decoder keeps it: name as received, value after `:` and leading whitespace, folded lines appended without their first byte. */
export interface MimeHeader {
  readonly name: Uint8Array;
  value: Uint8Array;
}

/** One attachment of a message: a MIME part with a file name. */
export interface MimeFile {
  readonly name: Uint8Array;
  /** Decoded bytes kept (≤ `fileDataLimit`). */
  data: Uint8Array;
  kept: number;
  /** Decoded bytes produced, kept or not. */
  seen: number;
  closed: boolean;
  /** Digests for `filemd5`/`filesha1`/`filesha256` while open (only when the ruleset has such rules). */
  hasher: FileHasher | null;
  /** Lowercase hex digests of all decoded bytes, set when the file closes with a hasher. */
  digests?: Partial<Record<FileHashAlgo, string>>;
}
