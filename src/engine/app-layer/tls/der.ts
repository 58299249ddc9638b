/**
 * Minimal DER / X.509 reader: what Suricata reads from a certificate (rust/src/x509 over the
 * x509-parser crate): subject and issuer as x509-parser's `X509Name` Display formats them,
 * the raw serial, validity times, subjectAltName DNS names. Pure, bounded by the input, never
 * throws: a malformed certificate gives null.
 */

/** One DER element: tag byte, content range inside the source array. */
interface Der {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
  /** End of the whole element (header + content). */
  readonly next: number;
}

/** Reads the element at `off` (definite lengths only, as DER requires), or null when malformed. */
function readDer(b: Uint8Array, off: number, limit: number): Der | null {
  if (off + 2 > limit) return null;
  const tag = b[off]!;
  // High tag numbers (low 5 bits all set) never occur in the fields read here.
  if ((tag & 0x1f) === 0x1f) return null;
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > limit) return null;
  return { tag, start: p, end: p + len, next: p + len };
}

/** Children of a constructed element. */
function children(b: Uint8Array, el: Der): Der[] | null {
  const out: Der[] = [];
  let p = el.start;
  while (p < el.end) {
    const c = readDer(b, p, el.end);
    if (c === null) return null;
    out.push(c);
    p = c.next;
  }
  return out;
}

const SEQ = 0x30;
const SET = 0x31;
const OID = 0x06;

/** Dotted form of an OID's content bytes. */
export function oidString(b: Uint8Array, start: number, end: number): string {
  if (start >= end) return '';
  const parts: number[] = [];
  let v = 0;
  let first = true;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    v = v * 128 + (c & 0x7f);
    if ((c & 0x80) === 0) {
      if (first) {
        const x = v < 40 ? 0 : v < 80 ? 1 : 2;
        parts.push(x, v - 40 * x);
        first = false;
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/**
 * Short names x509-parser uses for attribute types (its own abbreviations first, then the
 * oid-registry short names); unknown types print as the dotted OID, like x509-parser.
 */
const ATTR_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'Email',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.4': 'surname',
  '2.5.4.5': 'serialNumber',
  '2.5.4.9': 'streetAddress',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.41': 'name',
  '2.5.4.42': 'givenName',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.46': 'dnQualifier',
};

/** ASN.1 string tags x509-parser prints as UTF-8 text (NumericString ... Utf8String, IA5String). */
const TEXT_TAGS = new Set([0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x07]);
const BMP_STRING = 0x1e;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** x509-parser's `attribute_value_to_string`; null where it errors (invalid UTF-8 / UTF-16). */
function attrValue(b: Uint8Array, v: Der): string | null {
  const data = b.subarray(v.start, v.end);
  if (TEXT_TAGS.has(v.tag)) {
    try {
      return utf8.decode(data);
    } catch {
      return null;
    }
  }
  if (v.tag === BMP_STRING) {
    if (data.length % 2 !== 0) return null;
    let s = '';
    for (let i = 0; i < data.length; i += 2) s += String.fromCharCode((data[i]! << 8) | data[i + 1]!);
    return s;
  }
  // Not a string type: x509-parser prints the raw content as uppercase hex.
  return Buffer.from(data).toString('hex').toUpperCase();
}

/** What x509-parser's Display prints for a Name it cannot format. */
export const INVALID_NAME = '<X509Error: Invalid X.509 name>';

/**
 * Formats a Name (SEQUENCE OF RDN SET OF AttributeTypeAndValue) as x509-parser's Display does
 * (what Suricata logs and matches): RDNs in certificate order joined by ", ", attributes of one
 * RDN joined by "+", each `SN=value`. Null when the Name is not DER.
 */
export function formatName(b: Uint8Array, name: Der): string | null {
  const rdns = children(b, name);
  if (rdns === null) return null;
  const out: string[] = [];
  for (const rdn of rdns) {
    if (rdn.tag !== SET) return null;
    const attrs = children(b, rdn);
    if (attrs === null) return null;
    const parts: string[] = [];
    for (const a of attrs) {
      if (a.tag !== SEQ) return null;
      const tv = children(b, a);
      if (tv === null || tv.length < 2 || tv[0]!.tag !== OID) return null;
      const oid = oidString(b, tv[0]!.start, tv[0]!.end);
      const val = attrValue(b, tv[1]!);
      if (val === null) return INVALID_NAME;
      parts.push(`${ATTR_NAMES[oid] ?? oid}=${val}`);
    }
    out.push(parts.join('+'));
  }
  return out.join(', ');
}

/** Seconds since the epoch of a UTCTime / GeneralizedTime, or null when not a valid time. */
export function parseTime(b: Uint8Array, t: Der): number | null {
  const s = Buffer.from(b.subarray(t.start, t.end)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  let rest: string;
  if (t.tag === 0x17) {
    // YYMMDDHHMM[SS]Z (seconds are optional in BER UTCTime)
    m = /^(\d{2})(\d{8}(?:\d{2})?)Z$/.exec(s);
    if (m === null) return null;
    const yy = Number(m[1]);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = m[2]!.padEnd(10, '0');
  } else if (t.tag === 0x18) {
    m = /^(\d{4})(\d{10})(?:\.\d+)?Z$/.exec(s);
    if (m === null) return null;
    year = Number(m[1]);
    rest = m[2]!;
  } else return null;
  const mon = Number(rest.slice(0, 2));
  const day = Number(rest.slice(2, 4));
  const h = Number(rest.slice(4, 6));
  const mi = Number(rest.slice(6, 8));
  const sec = Number(rest.slice(8, 10));
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60) return null;
  return Date.UTC(year, mon - 1, day, h, mi, sec) / 1000;
}

/** EVE time format of a certificate date ("2003-03-29T00:57:44", UTC). */
export function formatTime(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().slice(0, 19);
}

/** What bulwark keeps of one certificate. */
export interface X509Info {
  /** x509-parser Display of the subject / issuer (see `formatName`). */
  readonly subject: string;
  readonly issuer: string;
  /** Serial INTEGER content bytes as encoded (leading 0x00 kept), Suricata's `raw_serial`. */
  readonly serial: Uint8Array;
  /** Validity in seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** subjectAltName dNSName entries in order. */
  readonly subjectAltNames: readonly string[];
}

const OID_SAN = '2.5.29.17';

/** Parses a DER certificate; null when it is not an X.509 certificate Suricata's parser would accept. */
export function parseCertificate(b: Uint8Array): X509Info | null {
  const cert = readDer(b, 0, b.length);
  if (cert?.tag !== SEQ) return null;
  const top = children(b, cert);
  if (top === null || top.length < 3 || top[0]!.tag !== SEQ) return null;
  const tbs = children(b, top[0]!);
  if (tbs === null) return null;
  let i = 0;
  if (tbs[0]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const serial = tbs[i++];
  const sigAlg = tbs[i++];
  const issuer = tbs[i++];
  const validity = tbs[i++];
  const subject = tbs[i++];
  const spki = tbs[i++];
  if (serial?.tag !== 0x02 || sigAlg?.tag !== SEQ || issuer?.tag !== SEQ || validity?.tag !== SEQ || subject?.tag !== SEQ || spki?.tag !== SEQ) return null;
  const times = children(b, validity);
  if (times?.length !== 2) return null;
  const notBefore = parseTime(b, times[0]!);
  const notAfter = parseTime(b, times[1]!);
  if (notBefore === null || notAfter === null) return null;
  const subj = formatName(b, subject);
  const iss = formatName(b, issuer);
  if (subj === null || iss === null) return null;
  const sans: string[] = [];
  for (; i < tbs.length; i++) {
    const el = tbs[i]!;
    if (el.tag !== 0xa3) continue;
    const extsSeq = readDer(b, el.start, el.end);
    if (extsSeq?.tag !== SEQ) return null;
    const exts = children(b, extsSeq);
    if (exts === null) return null;
    for (const ext of exts) {
      const parts = children(b, ext);
      if (parts === null || parts.length < 2 || parts[0]!.tag !== OID) return null;
      if (oidString(b, parts[0]!.start, parts[0]!.end) !== OID_SAN) continue;
      const value = parts[parts.length - 1]!; // OCTET STRING after the optional critical BOOLEAN
      if (value.tag !== 0x04) return null;
      const names = readDer(b, value.start, value.end);
      if (names?.tag !== SEQ) return null;
      for (const gn of children(b, names) ?? []) {
        // dNSName [2] IMPLICIT IA5String
        if (gn.tag === 0x82) sans.push(Buffer.from(b.subarray(gn.start, gn.end)).toString('latin1'));
      }
    }
  }
  return { subject: subj, issuer: iss, serial: b.slice(serial.start, serial.end), notBefore, notAfter, subjectAltNames: sans };
}

/** Suricata's serial text: uppercase hex bytes joined by ':'. */
export function formatSerial(serial: Uint8Array): string {
  const out: string[] = [];
  for (const x of serial) out.push(x.toString(16).toUpperCase().padStart(2, '0'));
  return out.join(':');
}

/** Lowercase hex bytes joined by ':' (Suricata's certificate fingerprint form). */
export function colonHex(d: Uint8Array): string {
  const out: string[] = [];
  for (const x of d) out.push(x.toString(16).padStart(2, '0'));
  return out.join(':');
}
