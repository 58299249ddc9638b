/** Per-flow SMB state shared by the SMB1 and SMB2 record handlers (./smb1.ts, ./smb2.ts). */
import type { AppDirection } from '../types.js';
import type { SmbTx } from './tx.js';
import type { SmbCounter, SmbLimits, SmbTxKind } from './types.js';

/** A request remembered until its response (by message key). */
export interface PendingRequest {
  readonly command: number;
  /** Pipe/file the request addressed (READ, IOCTL, TRANS), to route the response data. */
  readonly fileKey?: string;
  readonly treeKey?: string;
  /** READ: the file offset asked for (where the response's data sits in the file). */
  readonly fileOffset?: number;
}

export interface SmbTree {
  readonly share: Uint8Array;
  readonly isPipe: boolean;
}

export interface SmbState {
  readonly limits: Readonly<SmbLimits>;
  count(name: SmbCounter, n?: number): void;
  newTx(version: 1 | 2, command: number, kind: SmbTxKind, key: string): SmbTx;
  /** The open tx with that key (the request of a response), if any. */
  txByKey(key: string): SmbTx | undefined;
  /** The newest NEGOTIATE tx without response (an SMB2 response can answer an SMB1 request). */
  negotiateTx(): SmbTx | undefined;
  setPending(key: string, p: PendingRequest): void;
  takePending(key: string): PendingRequest | undefined;
  setTree(key: string, t: SmbTree): void;
  tree(key: string): SmbTree | undefined;
  /**
   * Data of a READ/WRITE/IOCTL/TRANS on `fileKey` in tree `treeKey`: handed to that pipe's
   * DCERPC state when the tree is a pipe (or unknown and the data looks like DCERPC); otherwise,
   * for READ/WRITE (`fileOffset` not null: where the data sits in the file), file content for
   * `file.data` (Suricata smb2.rs/smb1.rs read/write: a tree that is not a pipe, or an unknown
   * tree whose data is not DCERPC).
   */
  pipeData(dir: AppDirection, version: 1 | 2, treeKey: string | undefined, fileKey: string, data: Uint8Array, fileOffset?: number | null): void;
  /** A CREATE succeeded: `fileKey` names the file `name` (for `file.name`). */
  openFile(fileKey: string, name: Uint8Array): void;
  /** The file/pipe was closed: its id may be reused for another file (SMB1 FIDs are). */
  closeFile(fileKey: string): void;
  /** Limit a name's length (counted when cut). */
  name(d: Uint8Array): Uint8Array;
}
