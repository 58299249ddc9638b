/**
 * Port-less identification of RDP, VNC (RFB), MySQL, PostgreSQL, Redis, MongoDB and LDAP
 * (issue 11): enough for `app-layer-protocol:` and for `alert <proto>` rules that use stream
 * keywords only. Each is an `AppProtocol` whose parser identifies and counts, and parses nothing
 * else: no transactions, buffers or keywords (rules using Suricata's keywords for these
 * protocols are skipped at load as unknown keywords). PostgreSQL's SSLRequest answered `S` is
 * followed to its TLS upgrade, as Suricata does. See ./README.md for each probe's source and what
 * Suricata itself parses for the protocol.
 */
import type { AppDirection, AppParser, AppParserState, AppProbeResult, AppProtoName, AppProtocol, AppTx } from '../types.js';

/** Reads a big-endian u32 (callers check the length). */
const be32 = (d: Uint8Array, o: number): number => ((d[o]! << 24) >>> 0) + (d[o + 1]! << 16) + (d[o + 2]! << 8) + d[o + 3]!;
const le32 = (d: Uint8Array, o: number): number => d[o]! + (d[o + 1]! << 8) + (d[o + 2]! << 16) + ((d[o + 3]! << 24) >>> 0);

/** Parser of an identification-only protocol: counts bytes; PostgreSQL also follows SSLRequest → `S` to TLS. */
export class BannerParser implements AppParser {
  state: AppParserState = 'ok';
  readonly failReason = null;
  upgradeTo: AppProtoName | null = null;
  private readonly cnt: Record<string, number> = { request_bytes: 0, response_bytes: 0, gaps: 0 };
  private sslRequested = false;
  private firstResponse = true;

  constructor(private readonly proto: AppProtoName) {}

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    this.cnt[dir === 'to_server' ? 'request_bytes' : 'response_bytes']! += len;
    if (this.proto !== 'pgsql' || this.state !== 'ok' || len === 0) return;
    if (dir === 'to_server' && !this.sslRequested && len >= 8 && be32(data, off) === 8 && be32(data, off + 4) === PG_SSL_REQUEST) {
      this.sslRequested = true;
    } else if (dir === 'to_client' && this.firstResponse) {
      this.firstResponse = false;
      // SSLRequest answered 'S': the server starts TLS (PostgreSQL protocol 54.2.10); 'N' keeps plain text.
      if (this.sslRequested && data[off] === 0x53) {
        this.state = 'upgrade';
        this.upgradeTo = 'tls';
      }
    }
  }

  gap(): void {
    this.cnt.gaps!++;
  }

  end(): void { /* nothing held */ }

  txs(): Iterable<AppTx> {
    return [];
  }

  release(): void { /* no txs */ }

  memory(): number {
    return 0;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt };
  }
}

const PG_SSL_REQUEST = 80877103;
const PG_GSSENC_REQUEST = 80877104;
const PG_CANCEL_REQUEST = 80877102;
const PG_PROTO_3 = 196608;

/**
 * RDP (Suricata rust/src/rdp `probe_rdp`, `probe_rdp_response`): a TPKT header (version 3,
 * reserved 0, length ≥ 7) carrying an X.224 Connection Request (to_server, TPDU code 0xE0) or
 * Connection Confirm (to_client, 0xD0), the length indicator fitting the TPKT length.
 */
export function probeRdp(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (len === 0) return 'need-more';
  if (d[0] !== 0x03) return 'no';
  if (len < 2) return 'need-more';
  if (d[1] !== 0x00) return 'no';
  if (len < 6) return 'need-more';
  const tpkt = (d[2]! << 8) | d[3]!;
  const li = d[4]!;
  if (tpkt < 11 || li + 5 > tpkt) return 'no';
  const code = d[5]! & 0xf0;
  return code === (dir === 'to_server' ? 0xe0 : 0xd0) ? 'match' : 'no';
}

/** VNC/RFB (Suricata rust/src/rfb): both sides open with `RFB ddd.ddd\n` (RFC 6143 7.1.1). */
export function probeRfb(_dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  const want = 'RFB ddd.ddd\n';
  for (let i = 0; i < Math.min(len, want.length); i++) {
    const c = d[i]!;
    const w = want.charCodeAt(i);
    if (w === 0x64 ? !(c >= 0x30 && c <= 0x39) : c !== w) return 'no';
  }
  return len >= want.length ? 'match' : 'need-more';
}

/**
 * MySQL (Suricata 8 rust/src/mysql probes the server greeting): packet length (3 bytes LE) and
 * sequence 0, then the Handshake v10 (0x0a) with a printable NUL-terminated server version, or an
 * ERR packet (0xff) refusing the host.
 */
export function probeMysql(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (dir !== 'to_client') return 'no';
  if (len < 5) return 'need-more';
  const plen = d[0]! | (d[1]! << 8) | (d[2]! << 16);
  if (d[3] !== 0 || plen < 3 || plen > 1024) return 'no';
  if (d[4] === 0xff) return plen >= 9 && len >= 6 ? 'match' : len < 6 ? 'need-more' : 'no';
  if (d[4] !== 0x0a) return 'no';
  for (let i = 5; i < Math.min(len, 5 + plen); i++) {
    const c = d[i]!;
    if (c === 0) return i > 5 ? 'match' : 'no';
    if (c < 0x20 || c > 0x7e) return 'no';
  }
  return len < 5 + plen ? 'need-more' : 'no';
}

/**
 * PostgreSQL (Suricata rust/src/pgsql probes the client's first message): StartupMessage
 * (length, protocol 3.0), SSLRequest / GSSENCRequest (length 8), CancelRequest (length 16).
 */
export function probePgsql(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (dir !== 'to_server') return 'no';
  if (len < 8) return 'need-more';
  const l = be32(d, 0);
  const code = be32(d, 4);
  if ((code === PG_SSL_REQUEST || code === PG_GSSENC_REQUEST) && l === 8) return 'match';
  if (code === PG_CANCEL_REQUEST && l === 16) return 'match';
  if (code === PG_PROTO_3 && l >= 9 && l <= 10_000) return 'match';
  return 'no';
}

/** Redis (no Suricata parser): a RESP request, an array of bulk strings `*<n>\r\n$<m>\r\n`. */
export function probeRedis(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (dir !== 'to_server') return 'no';
  if (len === 0) return 'need-more';
  // both patterns start with '*' (no string, no regex for the many flows that do not)
  if (d[0] !== 0x2a) return 'no';
  const n = Math.min(len, 32);
  const s = String.fromCharCode(...d.subarray(0, n));
  if (/^\*[1-9]\d{0,5}\r\n\$\d{1,9}\r\n/.test(s)) return 'match';
  if (/^\*(\d{0,6}(\r(\n(\$\d{0,9}\r?)?)?)?)?$/.test(s) && n < 32) return 'need-more';
  return 'no';
}

const MONGO_REQUEST_OPS = new Set([2001, 2002, 2004, 2005, 2006, 2007, 2010, 2012, 2013]);
/**
 * MongoDB (no Suricata parser): wire protocol MsgHeader, little-endian messageLength (16 B–48 MB),
 * requestID, responseTo (0 for a request; the request's id in a reply), opCode (requests: OP_MSG
 * 2013, OP_QUERY 2004, OP_COMPRESSED 2012…; replies: OP_REPLY 1, OP_MSG, OP_COMPRESSED).
 */
export function probeMongodb(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (len < 16) {
    // Decide early where the bytes seen already rule it out: the length's high byte (≤ 48 MB),
    // and a request's responseTo (0).
    if (len >= 4 && d[3]! > 0x02) return 'no';
    if (dir === 'to_server') for (let i = 8; i < len && i < 12; i++) if (d[i] !== 0) return 'no';
    return 'need-more';
  }
  const ml = le32(d, 0);
  const responseTo = le32(d, 8);
  const op = le32(d, 12);
  if (ml < 16 || ml > 48_000_000) return 'no';
  if (dir === 'to_server') return responseTo === 0 && MONGO_REQUEST_OPS.has(op) ? 'match' : 'no';
  return responseTo !== 0 && (op === 1 || op === 2013 || op === 2012) ? 'match' : 'no';
}

/**
 * LDAP (Suricata 8 rust/src/ldap, probing by parsing an LDAPMessage): BER SEQUENCE, INTEGER
 * messageID (1–4 bytes), then a protocolOp [APPLICATION n] tag of a request (to_server:
 * bind 0x60, unbind 0x42, search 0x63, modify 0x66, add 0x68, del 0x4a, modDN 0x6c, compare 0x6e,
 * abandon 0x50, extended 0x77) or a response (to_client: 0x61, 0x64, 0x65, 0x73, 0x67, 0x69,
 * 0x6b, 0x6d, 0x6f, 0x78, 0x79).
 */
export function probeLdap(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (len < 2) return 'need-more';
  if (d[0] !== 0x30) return 'no';
  let i = 2;
  const l0 = d[1]!;
  if (l0 & 0x80) {
    const n = l0 & 0x7f;
    if (n === 0 || n > 4) return 'no';
    i += n;
  }
  if (len < i + 3) return 'need-more';
  if (d[i] !== 0x02) return 'no';
  const idLen = d[i + 1]!;
  if (idLen < 1 || idLen > 4) return 'no';
  i += 2 + idLen;
  if (len <= i) return 'need-more';
  const op = d[i]!;
  const req = [0x60, 0x42, 0x63, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, 0x77];
  const res = [0x61, 0x64, 0x65, 0x73, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78, 0x79];
  return (dir === 'to_server' ? req : res).includes(op) ? 'match' : 'no';
}

function banner(
  name: AppProtoName, ruleProtocols: readonly string[], hintPorts: readonly number[], probeDirections: readonly AppDirection[],
  probe: (dir: AppDirection, d: Uint8Array, len: number) => AppProbeResult,
): AppProtocol {
  return {
    name, ruleProtocols, hintPorts, probeDirections, probe,
    create: () => new BannerParser(name),
    buffers: [],
    keywords: [],
    eve: () => ({}),
  };
}

export const RDP_PROTOCOL = banner('rdp', ['rdp'], [3389], ['to_server', 'to_client'], probeRdp);
/** Suricata names it `rfb` (`alert rfb`, `app-layer-protocol:rfb`); bulwark's protocol list calls it vnc. */
export const VNC_PROTOCOL = banner('vnc', ['rfb', 'vnc'], [5900, 5901], ['to_client', 'to_server'], probeRfb);
export const MYSQL_PROTOCOL = banner('mysql', ['mysql'], [3306], ['to_client'], probeMysql);
export const PGSQL_PROTOCOL = banner('pgsql', ['pgsql'], [5432], ['to_server'], probePgsql);
export const REDIS_PROTOCOL = banner('redis', ['redis'], [6379], ['to_server'], probeRedis);
// The client always speaks first in MongoDB: probing its request is enough (and decides early).
export const MONGODB_PROTOCOL = banner('mongodb', ['mongodb'], [27017], ['to_server'], probeMongodb);
export const LDAP_PROTOCOL = banner('ldap', ['ldap'], [389, 3268], ['to_server', 'to_client'], probeLdap);

export const BANNER_PROTOCOLS: readonly AppProtocol[] = [
  RDP_PROTOCOL, VNC_PROTOCOL, MYSQL_PROTOCOL, PGSQL_PROTOCOL, REDIS_PROTOCOL, MONGODB_PROTOCOL, LDAP_PROTOCOL,
];
