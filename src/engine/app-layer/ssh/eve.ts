/** EVE `ssh` object (Suricata rust/src/ssh/logger.rs). */
import type { AppTx } from '../types.js';
import { SshTransaction, type SshSide } from './tx.js';

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function sideJson(s: SshSide): Record<string, unknown> | null {
  if (s.proto === null) return null;
  const o: Record<string, unknown> = { proto_version: latin1(s.proto) };
  if (s.software !== null) o.software_version = latin1(s.software);
  if (s.hassh !== null && s.hasshString !== null) o.hassh = { hash: latin1(s.hassh), string: latin1(s.hasshString) };
  return o;
}

export function sshEve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof SshTransaction)) return {};
  const t = tx;
  const out: Record<string, unknown> = {};
  const c = sideJson(t.client);
  const s = sideJson(t.server);
  if (c) out.client = c;
  if (s) out.server = s;
  return out;
}
