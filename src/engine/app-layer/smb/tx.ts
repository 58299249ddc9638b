/** One SMB transaction: a command and its response, paired by message id (SMB2) or mid/pid (SMB1). */
import type { AppDirection, AppTx } from '../types.js';
import type { NtlmsspAuth, SmbTxKind } from './types.js';

export class SmbTx implements AppTx {
  /** SMB2 dialects (e.g. "3.11") or SMB1 dialect strings of a NEGOTIATE request. */
  dialects: string[] = [];
  /** Dialect chosen by the server (NEGOTIATE response), when seen. */
  dialect: string | null = null;
  ntlmssp: NtlmsspAuth | null = null;
  /** TREE_CONNECT share path (see README for the exact bytes) and its type from the response. */
  share: Uint8Array | null = null;
  isPipe: boolean | null = null;
  /** CREATE / NT_CREATE_ANDX file name (UTF-8). */
  filename: Uint8Array | null = null;
  status: number | null = null;
  reqDone = false;
  respDone = false;
  readonly events: string[] = [];

  constructor(
    readonly id: number,
    /** 1 for SMB1, 2 for SMB2/3 (the `smb.version` of the record that created the tx). */
    readonly version: 1 | 2,
    readonly command: number,
    readonly kind: SmbTxKind,
    readonly key: string,
  ) {}

  progress(dir: AppDirection): number {
    return this.complete(dir) ? 1 : 0;
  }

  complete(dir: AppDirection): boolean {
    // A TREE_CONNECT's request-side buffers (smb.share / smb.named_pipe) depend on the share
    // type of the response: not final before it.
    if (dir === 'to_server') return this.kind === 'tree_connect' ? this.reqDone && this.respDone : this.reqDone;
    return this.respDone;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (dir !== 'to_server') return null;
    switch (name) {
      case 'smb.named_pipe':
        return this.kind === 'tree_connect' && this.isPipe === true ? this.share : null;
      case 'smb.share':
        return this.kind === 'tree_connect' && this.isPipe === false ? this.share : null;
      case 'smb.ntlmssp_user':
        return this.kind === 'session_setup' && this.ntlmssp ? this.ntlmssp.user : null;
      case 'smb.ntlmssp_domain':
        return this.kind === 'session_setup' && this.ntlmssp ? this.ntlmssp.domain : null;
      default:
        return null;
    }
  }

  multiBuffer(): readonly Uint8Array[] {
    return [];
  }

  memory(): number {
    return 160 + (this.share?.length ?? 0) + (this.filename?.length ?? 0) + (this.ntlmssp ? 64 : 0);
  }
}
