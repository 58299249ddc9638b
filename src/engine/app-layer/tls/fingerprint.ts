/**
 * TLS client/server fingerprints: JA3 / JA3S (salesforce/ja3 README, Suricata's app-layer-ssl.c
 * and util-ja3.c) and JA4 (FoxIO JA4 technical details, Suricata's rust/src/ja4.rs). GREASE
 * values (RFC 8701) are left out of every list, as all three specs say. Pure.
 */
import { createHash } from 'node:crypto';
import type { ClientHello, ServerHello } from './hello.js';

/** RFC 8701 GREASE values: 0x?a?a with both bytes equal. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

const dec = (xs: readonly number[]): string => xs.filter((x) => !isGrease(x)).join('-');

/** JA3 string: version,ciphers,extensions,groups,point formats (decimal, '-' separated, GREASE out). */
export function ja3String(ch: ClientHello): string {
  return [String(ch.version), dec(ch.ciphers), dec(ch.extensions), dec(ch.groups), ch.pointFormats.join('-')].join(',');
}

/** JA3S string: version,cipher,extensions. */
export function ja3sString(sh: ServerHello): string {
  return [String(sh.legacyVersion), String(sh.cipher), dec(sh.extensions)].join(',');
}

export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'latin1').digest('hex');
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

/** First 12 hex digits of SHA-256; Suricata hashes empty lists too (`e3b0c44298fc` for ""). */
function sha12(s: string): string {
  return createHash('sha256').update(s, 'latin1').digest('hex').slice(0, 12);
}

/** JA4 version code of a 16-bit TLS/SSL/DTLS version. */
function ja4Version(v: number): string {
  switch (v) {
    case 0x0304: return '13';
    case 0x0303: return '12';
    case 0x0302: return '11';
    case 0x0301: return '10';
    case 0x0300: return 's3';
    // Suricata's TLS parser has no SSL 1/2 or DTLS codes
    default: return '00';
  }
}

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** First and last character of the first ALPN value; "00" without ALPN; hex nibbles when not alphanumeric (JA4 spec). */
function ja4Alpn(alpns: readonly Uint8Array[]): string {
  const a = alpns[0];
  if (a === undefined || a.length === 0) return '00';
  // a 2-byte GREASE value as first ALPN counts as none (Suricata rust/src/ja4.rs)
  if (a.length === 2 && isGrease((a[0]! << 8) | a[1]!)) return '00';
  const f = a[0]!;
  const l = a[a.length - 1]!;
  if (isAlnum(f) && isAlnum(l)) return String.fromCharCode(f, l);
  return f.toString(16).padStart(2, '0')[0]! + l.toString(16).padStart(2, '0')[1]!;
}

const two = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');

/**
 * JA4 over TCP (`t`), as Suricata computes it (rust/src/ja4.rs, FoxIO spec):
 * `t<ver><d|i><nn ciphers><nn extensions><alpn>_<sha256(sorted ciphers)[:12]>_<sha256(sorted extensions without SNI/ALPN "_" signature algorithms)[:12]>`.
 * Version: the highest non-GREASE of the hello version and supported_versions ("00" for
 * anything but SSLv3–TLS 1.3: drafts, SSLv2, DTLS). Unlike the FoxIO reference, empty lists are
 * hashed too and the "_" before the signature algorithms is always there.
 */
export function ja4(ch: ClientHello): string {
  const version = Math.max(...[ch.version, ...ch.supportedVersions].filter((v) => !isGrease(v)));
  const ciphers = ch.ciphers.filter((c) => !isGrease(c));
  const exts = ch.extensions.filter((e) => !isGrease(e));
  const a = `t${ja4Version(version)}${ch.sni === null ? 'i' : 'd'}${two(ciphers.length)}${two(exts.length)}${ja4Alpn(ch.alpns)}`;
  const b = sha12(ciphers.map(hex4).sort().join(','));
  const extList = exts.filter((e) => e !== 0x0000 && e !== 0x0010).map(hex4).sort().join(',');
  const sigs = ch.signatureAlgorithms.filter((s) => !isGrease(s)).map(hex4).join(',');
  const c = sha12(`${extList}_${sigs}`);
  return `${a}_${b}_${c}`;
}
