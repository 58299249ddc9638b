/** The TLS transaction (one per connection, like Suricata's SSLState tx). */
import type { AppDirection, AppTx } from '../types.js';
import { tlsBuffer, tlsMultiBuffer } from './buffers.js';
import type { ClientHello, ServerHello } from './hello.js';
import { TlsProgress, type TlsChain, type TlsTxView } from './types.js';

export class TlsTransaction implements AppTx, TlsTxView {
  readonly id = 0;
  clientHello: ClientHello | null = null;
  serverHello: ServerHello | null = null;
  clientVersion = 0;
  serverVersion = 0;
  clientChain: TlsChain | null = null;
  serverChain: TlsChain | null = null;
  ja3: string | null = null;
  ja3s: string | null = null;
  ja4: string | null = null;
  /** Progress per side (`TlsProgress`). */
  clientProgress: number = TlsProgress.NONE;
  serverProgress: number = TlsProgress.NONE;
  /** The side ended (FIN/RST) or the parser stopped: nothing more will come. */
  clientEnded = false;
  serverEnded = false;
  readonly eventList: string[] = [];

  get events(): readonly string[] {
    return this.eventList;
  }

  event(name: string): void {
    const full = `tls.${name}`;
    if (!this.eventList.includes(full)) this.eventList.push(full);
  }

  progress(dir: AppDirection): number {
    return dir === 'to_server' ? this.clientProgress : this.serverProgress;
  }

  complete(dir: AppDirection): boolean {
    return dir === 'to_server'
      ? this.clientEnded || this.clientProgress >= TlsProgress.HANDSHAKE_DONE
      : this.serverEnded || this.serverProgress >= TlsProgress.HANDSHAKE_DONE;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    return tlsBuffer(this, name, dir);
  }

  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[] {
    return tlsMultiBuffer(this, name, dir);
  }

  /** Bytes held: certificate DER of both chains. */
  memory(): number {
    let n = 0;
    for (const c of [this.clientChain, this.serverChain]) for (const d of c?.certs ?? []) n += d.length;
    return n;
  }
}
