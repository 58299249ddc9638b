/**
 * The protocol objects of an app-layer alert, as Suricata's EVE alert writes them
 * (output-json-alert.c AlertAddAppLayer): the protocol's own object under its EVE name (`http`,
 * `tls`, `ssh`, `smb`, `dcerpc`, `ftp`, `ftp_data`, `smtp`, `pop3`, `dns`...) plus the extra
 * objects some protocols add (`email` with `smtp`). Protocols without an EVE logger return an
 * empty object and add nothing.
 */
import type { AppProtocol, AppTx } from '../app-layer/types.js';
import type { AppEveObjects } from '../types.js';

export function appEveKey(p: AppProtocol): string {
  return p.eveKey ?? p.name.replace(/-/g, '_');
}

export function appEveObjects(p: AppProtocol, tx: AppTx): AppEveObjects {
  const out: AppEveObjects = {};
  const own = p.eve(tx);
  if (Object.keys(own).length > 0) out[appEveKey(p)] = own;
  if (p.eveExtra !== undefined) {
    for (const [k, v] of Object.entries(p.eveExtra(tx))) if (Object.keys(v).length > 0) out[k] = v;
  }
  return out;
}
