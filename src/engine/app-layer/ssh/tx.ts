/** The SSH transaction (one per connection, like Suricata's SSHTransaction). */
import type { AppDirection, AppTx } from '../types.js';
import { sshBuffer } from './buffers.js';
import { SshProgress } from './types.js';

/** What one side sent. */
export interface SshSide {
  /** protoversion of the banner ("2.0", "1.99"). */
  proto: Uint8Array | null;
  /** softwareversion of the banner (up to the first space / line end). */
  software: Uint8Array | null;
  /** HASSH MD5 (lowercase hex) and its input string, from the side's KEXINIT. */
  hassh: Uint8Array | null;
  hasshString: Uint8Array | null;
  progress: number;
  ended: boolean;
}

const side = (): SshSide => ({ proto: null, software: null, hassh: null, hasshString: null, progress: SshProgress.IN_PROGRESS, ended: false });

export class SshTransaction implements AppTx {
  readonly id = 0;
  readonly client: SshSide = side();
  readonly server: SshSide = side();
  private readonly eventList: string[] = [];

  get events(): readonly string[] {
    return this.eventList;
  }

  event(name: string): void {
    const full = `ssh.${name}`;
    if (!this.eventList.includes(full)) this.eventList.push(full);
  }

  sideOf(dir: AppDirection): SshSide {
    return dir === 'to_server' ? this.client : this.server;
  }

  progress(dir: AppDirection): number {
    return this.sideOf(dir).progress;
  }

  complete(dir: AppDirection): boolean {
    const s = this.sideOf(dir);
    return s.ended || s.progress >= SshProgress.FINISHED;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    return sshBuffer(this, name, dir);
  }

  multiBuffer(): readonly Uint8Array[] {
    return [];
  }

  memory(): number {
    let n = 0;
    for (const s of [this.client, this.server]) n += (s.proto?.length ?? 0) + (s.software?.length ?? 0) + (s.hassh?.length ?? 0) + (s.hasshString?.length ?? 0);
    return n;
  }
}
