/**
 * Contract of the FTP control-connection parser (issue 11): commands and replies of one TCP
 * connection become transactions (one per command, its replies attached; replies without an
 * outstanding command get a tx without a command, like the server greeting) the way Suricata's
 * FTP parser (app-layer-ftp.c, rust/src/ftp) does, with the buffers and keywords of Suricata 8
 * (`ftp.command`, `ftp.command_data`, `ftp.reply`, `ftp.completion_code`, `ftp.dynamic_port`,
 * `ftp.mode`, `ftp.reply_received`, `ftpbounce`). See ./README.md for every rule and source.
 *
 * Pure: no I/O, no clock, never throws on input. Implementations: ./parser.ts (`FtpParser`),
 * ./protocol.ts (`FTP_PROTOCOL`, `FTP_DATA_PROTOCOL`), ./data.ts (`FtpDataParser`).
 *
 * ## ftp-data hook (for the framework)
 * A data connection is announced on the control connection: PORT/EPRT (active: the server
 * connects to the client's announced port) or the 227/229 reply to PASV/EPSV (passive: the
 * client connects to the server's port). Like Suricata (`FTPSetDataExpectation`), the parser
 * creates an expectation when the transfer command (RETR or STOR) follows, carrying the command
 * and the file name. `FtpParser.takeExpectations()` hands out (and forgets) the expectations
 * made since the last call; the framework takes them through `takeFlowExpectations()` into its
 * bounded expectation table (src/engine/detect/expectations.ts) and, when a new TCP flow between
 * the same two hosts has `port` as its server port, gives that flow to `FTP_DATA_PROTOCOL` via
 * `createFtpDataParser(expectation)` instead of probing.
 */
import type { AppDirection } from '../types.js';

/** Limits of one FTP connection; hitting one is counted (`counters()`) and handled as said. */
export interface FtpLimits {
  /**
   * Longest command or reply line kept (Suricata `app-layer.protocols.ftp.max-line-length`,
   * 4096). Longer lines are cut there (event `request_command_too_long` /
   * `response_command_too_long`, EVE `reply_truncated`) and the rest skipped up to the next LF.
   */
  maxLine: number;
  /** Reply lines kept per transaction; further lines are counted and dropped (the tx still completes). */
  maxReplyLines: number;
  /** Transactions alive (not released) per connection; over it the parser fails (`too_many_transactions`). */
  maxTransactions: number;
  /** Expectations waiting in `takeExpectations()`; over it the oldest is dropped (counted). */
  maxPendingExpectations: number;
}

export const DEFAULT_FTP_LIMITS: Readonly<FtpLimits> = Object.freeze({
  maxLine: 4096,
  maxReplyLines: 64,
  maxTransactions: 256,
  maxPendingExpectations: 16,
});

/** Transfer mode of a data connection announcement (EVE `ftp.mode`, keyword `ftp.mode`). */
export type FtpMode = 'active' | 'passive';

/** A data connection announced on the control connection, for the framework (see above). */
export interface FtpDataExpectation {
  /** id of the transfer command's tx on the control connection. */
  readonly txId: number;
  readonly mode: FtpMode;
  /**
   * Address announced (PORT/EPRT: the client's data address; PASV: the server's), as text;
   * null when the announcement carries none (EPSV) — then the control connection's peer is meant.
   */
  readonly host: string | null;
  /** Server port of the data flow (the dynamic port). */
  readonly port: number;
  /** The transfer command (Suricata creates expectations for these two: `ftpdata_command`). */
  readonly command: 'RETR' | 'STOR';
  /** The command's argument (the file name, `file.name` on the data flow). */
  readonly fileName: Uint8Array;
  /**
   * Direction of the file bytes on the data flow, in the data flow's own terms: RETR sends the
   * file from the FTP server, which is the data flow's server in passive mode (to_client) and
   * its client in active mode (to_server); STOR the other way round.
   */
  readonly fileDirection: AppDirection;
}

/** Suricata's FTP app-layer events (`ftp.<name>` in `app-layer-event:`). */
export type FtpEventName = 'request_command_too_long' | 'response_command_too_long';

/** Why the parser stopped (bounded label). */
export type FtpFailReason = 'gap' | 'too_many_transactions';

/** Progress ordinals of an FTP tx, both directions: 0 nothing yet, 1 in progress, 2 complete. */
export const FtpProgress = { NONE: 0, STARTED: 1, COMPLETE: 2 } as const;

/** Buffers of an FTP tx (names Suricata 8 uses). */
export type FtpBufferName = 'ftp.command' | 'ftp.command_data' | 'ftp.reply' | 'ftp.completion_code';
