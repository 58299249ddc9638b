/**
 * ClientHello / ServerHello bodies (RFC 5246 7.4.1, RFC 8446 4.1.2-4.1.3) and the SSLv2
 * CLIENT-HELLO (draft-hickman-netscape-ssl-00, RFC 6101 E.1). Pure; malformed input gives null.
 */

export interface ClientHello {
  /** legacy_version of the hello (JA3's first field, Suricata's client version). */
  readonly version: number;
  readonly ciphers: readonly number[];
  /** Extension types in order (GREASE included; fingerprints filter them). */
  readonly extensions: readonly number[];
  /** supported_groups (ext 10). */
  readonly groups: readonly number[];
  /** ec_point_formats (ext 11). */
  readonly pointFormats: readonly number[];
  /** signature_algorithms (ext 13), in order. */
  readonly signatureAlgorithms: readonly number[];
  /** supported_versions (ext 43). */
  readonly supportedVersions: readonly number[];
  /** First host_name of server_name (ext 0), raw bytes; null when absent. */
  readonly sni: Uint8Array | null;
  /** ALPN protocol names (ext 16) in order. */
  readonly alpns: readonly Uint8Array[];
  /** The hello came in SSLv2 CLIENT-HELLO framing (no extensions, no JA3). */
  readonly sslv2: boolean;
  /** The 32-byte client random (`tls.random` to_server); null for SSLv2 framing, which has none. */
  readonly random: Uint8Array | null;
}

export interface ServerHello {
  readonly legacyVersion: number;
  /** The negotiated version: supported_versions (ext 43) when present, else legacy_version. */
  readonly version: number;
  readonly cipher: number;
  readonly extensions: readonly number[];
  readonly alpns: readonly Uint8Array[];
  /** RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello with this fixed random. */
  readonly helloRetry: boolean;
  /** The 32-byte server random (`tls.random` to_client). */
  readonly random: Uint8Array;
}

/** SHA-256("HelloRetryRequest"). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

class Reader {
  p: number;
  constructor(readonly b: Uint8Array, off: number, readonly end: number) {
    this.p = off;
  }
  left(): number {
    return this.end - this.p;
  }
  u8(): number {
    if (this.p + 1 > this.end) throw RANGE;
    return this.b[this.p++]!;
  }
  u16(): number {
    if (this.p + 2 > this.end) throw RANGE;
    const v = (this.b[this.p]! << 8) | this.b[this.p + 1]!;
    this.p += 2;
    return v;
  }
  skip(n: number): void {
    if (this.p + n > this.end) throw RANGE;
    this.p += n;
  }
  sub(n: number): Reader {
    if (this.p + n > this.end) throw RANGE;
    const r = new Reader(this.b, this.p, this.p + n);
    this.p += n;
    return r;
  }
  bytes(n: number): Uint8Array {
    if (this.p + n > this.end) throw RANGE;
    const v = this.b.slice(this.p, this.p + n);
    this.p += n;
    return v;
  }
  u16list(lenBytes: 1 | 2): number[] {
    const n = lenBytes === 1 ? this.u8() : this.u16();
    const r = this.sub(n);
    const out: number[] = [];
    while (r.left() >= 2) out.push(r.u16());
    return out;
  }
}

/** Thrown inside this module only, caught by the parse functions (never escapes). */
const RANGE = new RangeError('short');

function alpnList(r: Reader): Uint8Array[] {
  const list = r.sub(r.u16());
  const out: Uint8Array[] = [];
  while (list.left() > 0) out.push(list.bytes(list.u8()));
  return out;
}

/** ClientHello body (after the 4-byte handshake header), or null when malformed. */
export function parseClientHello(b: Uint8Array, off: number, end: number): ClientHello | null {
  try {
    const r = new Reader(b, off, end);
    const version = r.u16();
    const random = r.bytes(32);
    r.skip(r.u8());
    const ciphers = r.u16list(2);
    r.skip(r.u8());
    const extensions: number[] = [];
    let groups: number[] = [];
    let pointFormats: number[] = [];
    let sigs: number[] = [];
    let sv: number[] = [];
    let sni: Uint8Array | null = null;
    let alpns: Uint8Array[] = [];
    if (r.left() >= 2) {
      const exts = r.sub(r.u16());
      while (exts.left() >= 4) {
        const type = exts.u16();
        const e = exts.sub(exts.u16());
        extensions.push(type);
        switch (type) {
          case 0x0000: {
            const list = e.sub(e.u16());
            while (list.left() >= 3 && sni === null) {
              const nt = list.u8();
              const name = list.bytes(list.u16());
              if (nt === 0) sni = name;
            }
            break;
          }
          case 0x000a: groups = e.u16list(2); break;
          case 0x000b: {
            const n = e.u8();
            pointFormats = [...e.bytes(n)];
            break;
          }
          case 0x000d: sigs = e.u16list(2); break;
          case 0x0010: alpns = alpnList(e); break;
          case 0x002b: sv = e.u16list(1); break;
          default: break;
        }
      }
    }
    return { version, ciphers, extensions, groups, pointFormats, signatureAlgorithms: sigs, supportedVersions: sv, sni, alpns, sslv2: false, random };
  } catch {
    return null;
  }
}

/** ServerHello body, or null when malformed. */
export function parseServerHello(b: Uint8Array, off: number, end: number): ServerHello | null {
  try {
    const r = new Reader(b, off, end);
    const legacyVersion = r.u16();
    const random = r.bytes(32);
    r.skip(r.u8());
    const cipher = r.u16();
    r.u8();
    const extensions: number[] = [];
    let version = legacyVersion;
    let alpns: Uint8Array[] = [];
    if (r.left() >= 2) {
      const exts = r.sub(r.u16());
      while (exts.left() >= 4) {
        const type = exts.u16();
        const e = exts.sub(exts.u16());
        extensions.push(type);
        if (type === 0x002b) version = e.u16();
        else if (type === 0x0010) alpns = alpnList(e);
      }
    }
    return { legacyVersion, version, cipher, extensions, alpns, helloRetry: Buffer.from(random).equals(HRR_RANDOM), random };
  } catch {
    return null;
  }
}

/**
 * SSLv2 CLIENT-HELLO record body (after the 2-byte header): msg type 1, version, cipher-specs
 * length, session-id length, challenge length, cipher specs (3 bytes each). Ciphers are kept as
 * the low 16 bits of SSLv3+ specs (first byte 0), which is how a v3 server reads them.
 */
export function parseSslv2ClientHello(b: Uint8Array, off: number, end: number): ClientHello | null {
  try {
    const r = new Reader(b, off, end);
    if (r.u8() !== 1) return null;
    const version = r.u16();
    const csLen = r.u16();
    r.u16();
    r.u16();
    if (csLen % 3 !== 0) return null;
    const cs = r.sub(csLen);
    const ciphers: number[] = [];
    while (cs.left() >= 3) {
      const hi = cs.u8();
      const v = cs.u16();
      if (hi === 0) ciphers.push(v);
    }
    return { version, ciphers, extensions: [], groups: [], pointFormats: [], signatureAlgorithms: [], supportedVersions: [], sni: null, alpns: [], sslv2: true, random: null };
  } catch {
    return null;
  }
}
