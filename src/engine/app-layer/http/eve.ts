/**
 * The EVE `http` object of a transaction, as Suricata's alert and http loggers write it
 * (output-json-http.c EveHttpLogJSONBasic + EveHttpLogJSONExtended, extended on): field
 * names, order and presence rules are Suricata's.
 */
import { asTx, type Tx } from './tx.js';
import type { HttpEveObject, HttpTx } from './types.js';

/** Bytes to a JSON string the way Suricata's jsonbuilder does for valid UTF-8; other bytes as latin1 characters. */
function str(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const u = s.toString('utf8');
  return u.includes('\ufffd') ? s.toString('latin1') : u;
}

function header(t: Tx, req: boolean, key: string): Uint8Array | null {
  const h = (req ? t.reqHeaders : t.resHeaders).get(key);
  return h === undefined ? null : h.value;
}

/** Content-Range "bytes start-end/size" (HTPParseContentRange); -1 parts left out. */
function contentRange(v: Uint8Array): { start?: number; end?: number; size?: number } {
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(Buffer.from(v).toString('latin1'));
  if (m === null) return {};
  const r: { start?: number; end?: number; size?: number } = {};
  if (m[1] !== undefined) r.start = Number(m[1]);
  if (m[2] !== undefined) r.end = Number(m[2]);
  if (m[3] !== undefined && m[3] !== '*') r.size = Number(m[3]);
  return r;
}

export function httpEve(tx: HttpTx): HttpEveObject {
  const t = asTx(tx);
  const o: Record<string, unknown> = {};
  if (t.hostNormalized !== null) o.hostname = str(t.hostNormalized);
  if (t.hostPort >= 0) o.http_port = t.hostPort;
  if (t.uriRaw !== null) o.url = str(t.uriRaw);
  const ua = header(t, true, 'user-agent');
  if (ua !== null) o.http_user_agent = str(ua);
  const xff = header(t, true, 'x-forwarded-for');
  if (xff !== null) o.xff = str(xff);
  const ct = header(t, false, 'content-type');
  if (ct !== null) {
    const s = str(ct);
    const semi = s.indexOf(';');
    o.http_content_type = semi >= 0 ? s.slice(0, semi) : s;
  }
  const cr = header(t, false, 'content-range');
  if (cr !== null) o.content_range = { raw: str(cr), ...contentRange(cr) };
  const ref = header(t, true, 'referer');
  if (ref !== null) o.http_refer = str(ref);
  if (t.method !== null) o.http_method = str(t.method);
  if (t.requestProtocol !== null) o.protocol = str(t.requestProtocol);
  if (t.statusNumber > 0) o.status = t.statusNumber;
  else if (t.statusCode !== null) o.status_string = str(t.statusCode);
  const loc = header(t, false, 'location');
  if (loc !== null) o.redirect = str(loc);
  o.length = t.responseMessageLength;
  return o as HttpEveObject;
}
