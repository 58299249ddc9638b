/** EVE `dcerpc` object of a call (Suricata rust/src/dcerpc/log.rs field names). */
import type { AppTx } from '../types.js';
import { DceCall } from './conn.js';
import { DcePtype } from './types.js';

const NAMES: Record<number, string> = {
  [DcePtype.REQUEST]: 'REQUEST',
  [DcePtype.RESPONSE]: 'RESPONSE',
  [DcePtype.FAULT]: 'FAULT',
  [DcePtype.BIND]: 'BIND',
  [DcePtype.BIND_ACK]: 'BINDACK',
  [DcePtype.BIND_NAK]: 'BINDNAK',
  [DcePtype.ALTER_CONTEXT]: 'ALTER_CONTEXT',
  [DcePtype.ALTER_CONTEXT_RESP]: 'ALTER_CONTEXT_RESP',
  [DcePtype.AUTH3]: 'AUTH3',
};

function uuidString(u: Uint8Array): string {
  const h = Buffer.from(u).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function dcerpcEve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof DceCall)) return {};
  const o: Record<string, unknown> = {
    request: tx.reqCmd >= 0 ? (NAMES[tx.reqCmd] ?? 'UNKNOWN') : '-',
    response: tx.respCmd >= 0 ? (NAMES[tx.respCmd] ?? 'UNKNOWN') : 'UNREPLIED',
  };
  if (tx.reqCmd === DcePtype.BIND || tx.reqCmd === DcePtype.ALTER_CONTEXT) {
    o.interfaces = tx.ifaces.entries().map((e) => ({
      uuid: uuidString(e.uuid),
      version: `${e.version}.${e.versionMinor}`,
      ack_result: e.result,
    }));
  } else if (tx.reqCmd === DcePtype.REQUEST) {
    o.req = { opnum: tx.opnum, frag_cnt: tx.reqFrags, stub_data_size: tx.stubTs.length };
    // Suricata 8.0.5+: a request names the interface its context id was bound to.
    const e = tx.ifaces.entries().find((x) => x.ctxid === tx.ctxid);
    if (e !== undefined) o.interfaces = [{ uuid: uuidString(e.uuid), version: `${e.version}.${e.versionMinor}`, ack_result: e.result }];
  }
  if (tx.respCmd === DcePtype.RESPONSE) o.res = { frag_cnt: tx.respFrags, stub_data_size: tx.stubTc.length };
  o.call_id = tx.callId;
  o.rpc_version = `5.${tx.rpcVersionMinor}`;
  return o;
}

export { uuidString };
