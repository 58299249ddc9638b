/**
 * Contract of the SMB app-layer parser (SMB1 and SMB2/3 over NetBIOS session service framing on
 * TCP, ports 445/139): transactions per command/response pair, named pipes carrying DCERPC
 * (handed to ../dcerpc), the buffers and keywords Suricata defines for SMB. Pure: no I/O, no
 * clock, never throws on input. Semantics and sources in ./README.md.
 */

/** Limits (all bounded; hitting one is counted and handled as documented). */
export interface SmbLimits {
  /**
   * Bytes of one NBSS record buffered for parsing. A longer record (large WRITE/READ data) is
   * parsed on its first `maxRecordBytes` bytes (headers and the start of the data) and the rest
   * is skipped: framing is kept, the cut data is counted (`limit_record_bytes`).
   */
  maxRecordBytes: number;
  /** SMB transactions alive per flow (Suricata `max-tx` 1024); over it the oldest is dropped. */
  maxTransactions: number;
  /** Requests waiting for their response (message id map); over it the oldest is forgotten. */
  maxPendingRequests: number;
  /** Trees and pipes remembered per flow; over it the oldest is forgotten. */
  maxTrees: number;
  maxPipes: number;
  /** Bytes kept of a share, file or user name. */
  maxNameBytes: number;
  /**
   * `file.data`: bytes kept per file and direction from file offset 0 (Suricata inspects SMB
   * file data up to its file/stream depth); the rest is counted (`limit_file_data`), not kept.
   */
  maxFileDataBytes: number;
  /** File bytes kept by all files of one flow together (beyond it: `limit_file_data`). */
  maxFileBytesPerFlow: number;
  /** Separate pieces of one file waiting for a hole to be filled (beyond it: `limit_file_ranges`). */
  maxFileRanges: number;
  /** Files (open file ids with a name, file transactions) tracked per flow; over it the oldest is forgotten. */
  maxFiles: number;
}

export const DEFAULT_SMB_LIMITS: Readonly<SmbLimits> = Object.freeze({
  maxRecordBytes: 1024 * 1024 + 4096,
  maxTransactions: 1024,
  maxPendingRequests: 1024,
  maxTrees: 256,
  maxPipes: 256,
  maxNameBytes: 1024,
  maxFileDataBytes: 1024 * 1024,
  maxFileBytesPerFlow: 4 * 1024 * 1024,
  maxFileRanges: 64,
  maxFiles: 256,
});

/** Counter names (bounded). */
export type SmbCounter =
  | 'records'
  | 'transactions'
  | 'smb1_records'
  | 'smb2_records'
  | 'encrypted_records'
  | 'compressed_records'
  | 'nbss_control'
  | 'not_smb'
  | 'malformed'
  | 'response_without_request'
  | 'gaps'
  | 'gap_resynced'
  | 'event_file_overlap'
  | 'gap_skipped_in_record'
  | 'dcerpc_records'
  | 'limit_record_bytes'
  | 'limit_transactions'
  | 'limit_pending_requests'
  | 'limit_trees'
  | 'limit_pipes'
  | 'limit_name_bytes'
  | 'file_bytes'
  | 'file_overlap_bytes'
  | 'limit_file_data'
  | 'limit_file_ranges'
  | 'limit_files';

/** What a transaction is (Suricata's SMBTransactionTypeData variants this parser fills). */
export type SmbTxKind = 'negotiate' | 'session_setup' | 'tree_connect' | 'create' | 'generic';

/** NTLMSSP AUTHENTICATE fields, UTF-8 (converted from UTF-16LE when the message is Unicode). */
export interface NtlmsspAuth {
  readonly user: Uint8Array;
  readonly domain: Uint8Array;
  readonly host: Uint8Array;
}

/** SMB1 command codes used here. */
export const Smb1Cmd = {
  CLOSE: 0x04,
  TRANS: 0x25,
  ECHO: 0x2b,
  READ_ANDX: 0x2e,
  WRITE_ANDX: 0x2f,
  TRANS2: 0x32,
  NEGOTIATE: 0x72,
  SESSION_SETUP_ANDX: 0x73,
  LOGOFF_ANDX: 0x74,
  TREE_CONNECT_ANDX: 0x75,
  NT_TRANS: 0xa0,
  NT_CREATE_ANDX: 0xa2,
} as const;

/** SMB2 command codes used here. */
export const Smb2Cmd = {
  NEGOTIATE: 0,
  SESSION_SETUP: 1,
  LOGOFF: 2,
  TREE_CONNECT: 3,
  TREE_DISCONNECT: 4,
  CREATE: 5,
  CLOSE: 6,
  FLUSH: 7,
  READ: 8,
  WRITE: 9,
  LOCK: 10,
  IOCTL: 11,
  CANCEL: 12,
  ECHO: 13,
  QUERY_DIRECTORY: 14,
  CHANGE_NOTIFY: 15,
  QUERY_INFO: 16,
  SET_INFO: 17,
  OPLOCK_BREAK: 18,
} as const;

/** FSCTL_PIPE_TRANSCEIVE: an IOCTL carrying a DCERPC request (input) and response (output). */
export const FSCTL_PIPE_TRANSCEIVE = 0x0011c017;
/** SMB1 TRANS subcommand TransactNmPipe. */
export const TRANS_TRANSACT_NMPIPE = 0x0026;
/** NT status STATUS_PENDING: an interim SMB2 response, the final one follows. */
export const STATUS_PENDING = 0x00000103;
