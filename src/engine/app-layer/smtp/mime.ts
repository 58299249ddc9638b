/**
 * The message of one SMTP transaction, line by line, by Suricata 8's MIME rules
 * (rust/src/mime/smtp.rs `mime_smtp_parse_line`, mime.rs `mime_parse_header_line` /
 * `mime_find_header_token`): top-level headers (for `email.*`), the top-level boundary only
 * (nested multiparts are body lines), parts with a file name (Content-Disposition `filename`,
 * else Content-Type `name`) become files whose decoded bytes are `file.data`; URLs are taken
 * from text parts and attachments. See ../smtp/README.md.
 */
import { bump } from '../text/lines.js';
import type { MimeFile, MimeHeader, SmtpEventName, SmtpLimits } from './types.js';
import { FileHasher, type FileHashAlgo } from '../filehash.js';

const MAX_LINE_LEN = 998; // RFC 2045, Suricata MIME_ANOM_LONG_LINE
const MAX_ENC_LINE_LEN = 76; // RFC 2045, MIME_ANOM_LONG_ENC_LINE
const MAX_HEADER_NAME = 75;
const MAX_HEADER_VALUE = 2000;
const MAX_BOUNDARY_LEN = 254;
const MAX_TOKEN_LEN = 255; // RS_MIME_MAX_TOKEN_LEN
/** Suricata's default `extract-urls-schemes: [http]` (searched as `http://`, case-insensitive, logged without the scheme). */
const URL_SCHEMES = ['http://'];

const enum St { Start, Header, Body }
const enum Enc { Plain, Base64, QP }
const enum Ct { Message, Plain, Html, Unknown }

function lowerEq(a: Uint8Array, s: string): boolean {
  if (a.length !== s.length) return false;
  for (let i = 0; i < a.length; i++) {
    let c = a[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== s.charCodeAt(i)) return false;
  }
  return true;
}

const isMimeSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** `mime_find_header_token`: a `name=value` parameter after the first `;` (quoted or up to `;`), RFC 2231 sections joined. */
export function findHeaderToken(value: Uint8Array, token: string): Uint8Array | null {
  const semi = value.indexOf(0x3b);
  if (semi === -1) return null;
  const tokens = new Map<string, Uint8Array>();
  let i = semi + 1;
  while (i < value.length) {
    while (i < value.length && isMimeSpace(value[i]!)) i++;
    const eq = value.indexOf(0x3d, i);
    if (eq === -1) break;
    const name = String.fromCharCode(...value.subarray(i, eq));
    i = eq + 1;
    let v: Uint8Array;
    if (value[i] === 0x22) {
      let j = i + 1;
      let esc = false;
      while (j < value.length && !(value[j] === 0x22 && !esc)) {
        esc = value[j] === 0x5c;
        j++;
      }
      if (j >= value.length) break; // unterminated quote: Suricata's parser stops here
      v = value.subarray(i + 1, j);
      i = j + 1;
    } else {
      let j = i;
      while (j < value.length && value[j] !== 0x3b) j++;
      let e = j;
      while (e > i && isMimeSpace(value[e - 1]!)) e--;
      v = value.subarray(i, e);
      i = j;
    }
    while (i < value.length && isMimeSpace(value[i]!)) i++;
    if (value[i] === 0x3b) i++;
    if (!tokens.has(name)) tokens.set(name, v);
    else tokens.set(name, v); // HashMap insert: the last one wins
  }
  const direct = tokens.get(token);
  if (direct !== undefined) return direct;
  const first = tokens.get(`${token}*0`);
  if (first === undefined) return null;
  const parts = [first];
  for (let k = 1; ; k++) {
    const p = tokens.get(`${token}*${k}`);
    if (p === undefined) break;
    parts.push(p);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function b64(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c === 0x2b) return 62;
  if (c === 0x2f) return 63;
  return -1;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1; // Suricata accepts upper-case hex digits only
}

export class MimeDecoder {
  private st = St.Start;
  /** Top-level headers first (`mainHeaders` of them), then the current part's. */
  readonly headers: MimeHeader[] = [];
  /** Number of top-level headers once the top-level header block ended (0 before: `email.*` absent). */
  mainHeaders = 0;
  private mainDone = false;
  private filename: Uint8Array | null = null;
  private boundary: Uint8Array | null = null;
  private enc = Enc.Plain;
  private b64tmp = new Uint8Array(4);
  private b64n = 0;
  private ct = Ct.Message;
  private bufeol: Uint8Array | null = null;
  readonly urls: Uint8Array[] = [];
  readonly files: MimeFile[] = [];
  /** Attachment names in order (EVE `email.attachment`). */
  readonly attachments: Uint8Array[] = [];
  private current: MimeFile | null = null;
  readonly events = new Set<SmtpEventName>();

  /** `hashes`: the digests to compute of every attachment (the ruleset's file hash keywords). */
  constructor(private readonly limits: SmtpLimits, private readonly cnt: Record<string, number>, private readonly hashes: readonly FileHashAlgo[] = []) {}

  /** Bytes held. */
  memory(): number {
    let n = 256;
    for (const h of this.headers) n += h.name.length + h.value.length + 32;
    for (const u of this.urls) n += u.length + 16;
    for (const f of this.files) n += f.data.length + f.name.length + 48;
    return n;
  }

  /** First top-level header `name` (lower case), once the top-level header block ended. */
  header(name: string): Uint8Array | null {
    for (let i = 0; i < this.mainHeaders; i++) if (lowerEq(this.headers[i]!.name, name)) return this.headers[i]!.value;
    return null;
  }

  /** Every top-level header `name`. */
  headerAll(name: string): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.mainHeaders; i++) if (lowerEq(this.headers[i]!.name, name)) out.push(this.headers[i]!.value);
    return out;
  }

  /** One message line: `line` without its ending, `eol` the ending bytes ('' for the last line of a BDAT chunk without one). */
  line(line: Uint8Array, eol: Uint8Array): void {
    if (line.length > MAX_LINE_LEN) this.events.add('mime_long_line');
    switch (this.st) {
      case St.Start:
      case St.Header:
        if (line.length === 0) {
          this.st = St.Body;
          this.processHeaders();
          if (!this.mainDone) {
            this.mainDone = true;
            this.mainHeaders = this.headers.length;
          }
          this.openFile();
          return;
        }
        if (this.st === St.Header && (line[0] === 0x20 || line[0] === 0x09)) {
          const last = this.headers.at(-1);
          if (last) this.appendValue(last, line.subarray(1));
          return;
        }
        this.addHeader(line);
        return;
      case St.Body:
        this.body(line, eol);
        return;
    }
  }

  /** End of the message: close the open file. */
  finish(): void {
    this.closeFile();
    if (!this.mainDone) {
      // A message without an empty line: its headers are still the top-level ones (Suricata keeps main_headers_nb 0 → none visible).
      this.mainDone = true;
    }
  }

  private addHeader(line: Uint8Array): void {
    const colon = line.indexOf(0x3a);
    if (colon === -1) return; // not a header line: ignored, as Suricata does
    let v = colon + 1;
    while (v < line.length && isMimeSpace(line[v]!)) v++;
    if (this.headers.length >= this.limits.maxHeaders) {
      bump(this.cnt, 'limit_headers');
      return;
    }
    if (this.st === St.Start) this.st = St.Header;
    const name = line.slice(0, colon);
    if (name.length > MAX_HEADER_NAME) this.events.add('mime_long_header_name');
    const h: MimeHeader = { name, value: new Uint8Array(0) };
    this.appendValue(h, line.subarray(v));
    this.headers.push(h);
  }

  private appendValue(h: MimeHeader, more: Uint8Array): void {
    const room = this.limits.maxHeaderValue - h.value.length;
    const take = Math.min(room, more.length);
    if (take < more.length) bump(this.cnt, 'limit_header_value');
    if (take > 0) {
      const nv = new Uint8Array(h.value.length + take);
      nv.set(h.value);
      nv.set(more.subarray(0, take), h.value.length);
      h.value = nv;
    }
    if (h.value.length > MAX_HEADER_VALUE) this.events.add('mime_long_header_value');
  }

  /** `mime_smtp_process_headers` over the current part's headers (all headers for the top level). */
  private processHeaders(): void {
    const part = this.headers.slice(this.mainHeaders);
    for (const h of part) {
      if (lowerEq(h.name, 'content-disposition')) {
        if (this.filename === null) {
          const f = findHeaderToken(h.value, 'filename');
          if (f !== null) this.setFilename(f);
        }
      } else if (lowerEq(h.name, 'content-transfer-encoding')) {
        if (lowerEq(h.value, 'base64')) {
          this.enc = Enc.Base64;
          this.b64n = 0;
        } else if (lowerEq(h.value, 'quoted-printable')) this.enc = Enc.QP;
      }
    }
    for (const h of part) {
      if (!lowerEq(h.name, 'content-type')) continue;
      if (this.filename === null) {
        const f = findHeaderToken(h.value, 'name');
        if (f !== null) this.setFilename(f);
      }
      if (this.mainHeaders === 0 && !this.mainDone) {
        const bnd = findHeaderToken(h.value, 'boundary');
        if (bnd !== null) {
          const b = new Uint8Array(bnd.length + 2);
          b[0] = 0x2d;
          b[1] = 0x2d;
          b.set(bnd, 2);
          this.boundary = b;
          if (bnd.length > MAX_BOUNDARY_LEN) this.events.add('mime_long_boundary');
        }
      }
      const semi = h.value.indexOf(0x3b);
      const ct = semi === -1 ? h.value : h.value.subarray(0, semi);
      const s = String.fromCharCode(...ct.subarray(0, 16));
      this.ct = ct.length === 10 && s === 'text/plain' ? Ct.Plain : ct.length === 9 && s === 'text/html' ? Ct.Html : Ct.Unknown;
      break;
    }
  }

  private setFilename(f: Uint8Array): void {
    let v = f;
    if (v.length > MAX_TOKEN_LEN) {
      this.events.add('mime_long_filename');
      v = v.subarray(0, MAX_TOKEN_LEN);
    }
    this.filename = v.slice();
    if (this.attachments.length < this.limits.maxFiles) this.attachments.push(this.filename);
  }

  private openFile(): void {
    if (this.filename === null) return;
    if (this.files.length >= this.limits.maxFiles) {
      bump(this.cnt, 'limit_files');
      return;
    }
    this.current = { name: this.filename, data: new Uint8Array(0), kept: 0, seen: 0, closed: false, hasher: this.hashes.length > 0 ? new FileHasher(this.hashes) : null };
    this.files.push(this.current);
    bump(this.cnt, 'files');
  }

  private closeFile(): void {
    const f = this.current;
    if (f !== null) {
      f.closed = true;
      if (f.hasher !== null) {
        f.digests = f.hasher.finish();
        f.hasher = null;
      }
    }
    this.current = null;
  }

  private append(d: Uint8Array): void {
    const f = this.current;
    if (f === null || d.length === 0) return;
    f.seen += d.length;
    // hashed over every decoded byte, kept for file.data or not (Suricata hashes the whole file)
    f.hasher?.update(d);
    const take = Math.min(d.length, this.limits.fileDataLimit - f.kept);
    if (take < d.length) bump(this.cnt, 'limit_file_data', d.length - Math.max(0, take));
    if (take <= 0) return;
    if (f.kept + take > f.data.length) {
      const nb = new Uint8Array(Math.min(this.limits.fileDataLimit, Math.max(256, (f.kept + take) * 2)));
      nb.set(f.data.subarray(0, f.kept));
      f.data = nb;
    }
    f.data.set(d.subarray(0, take), f.kept);
    f.kept += take;
  }

  private body(line: Uint8Array, eol: Uint8Array): void {
    const b = this.boundary;
    if (b !== null && line.length >= b.length && startsWith(line, b)) {
      this.st = St.Start;
      this.closeFile();
      this.filename = null;
      this.headers.length = this.mainHeaders;
      this.enc = Enc.Plain;
      this.bufeol = null;
      return;
    }
    const full = concat(line, eol);
    if (this.filename === null) {
      if (this.ct === Ct.Plain || this.ct === Ct.Html || this.ct === Ct.Message) this.findUrls(full);
      return;
    }
    switch (this.enc) {
      case Enc.Plain:
        this.findUrls(full);
        if (this.bufeol !== null) this.append(this.bufeol);
        this.append(line);
        this.bufeol = eol.length > 0 ? eol : null;
        return;
      case Enc.Base64: {
        if (line.length > MAX_ENC_LINE_LEN) this.events.add('mime_long_enc_line');
        const dec = this.decodeB64(line);
        if (dec === null) {
          this.events.add('mime_invalid_base64');
          return;
        }
        this.findUrls(dec);
        this.append(dec);
        return;
      }
      case Enc.QP: {
        if (line.length > MAX_ENC_LINE_LEN) this.events.add('mime_long_enc_line');
        const out: number[] = [];
        let eolEqual = false;
        for (let c = 0; c < line.length;) {
          if (line[c] === 0x3d) {
            if (c === line.length - 1) {
              eolEqual = true;
              break;
            } else if (c + 2 >= line.length) {
              this.events.add('mime_invalid_qp');
              break;
            }
            const h1 = hex(line[c + 1]!);
            const h2 = hex(line[c + 2]!);
            if (h1 >= 0 && h2 >= 0) out.push((h1 << 4) | h2);
            else this.events.add('mime_invalid_qp');
            c += 3;
          } else {
            out.push(line[c]!);
            c++;
          }
        }
        if (!eolEqual) for (const x of eol) out.push(x);
        const dec = Uint8Array.from(out);
        this.findUrls(dec);
        this.append(dec);
        return;
      }
    }
  }

  /** `mime_base64_decode`: spaces skipped, quads decoded, `=` padding; any other byte fails the line. */
  private decodeB64(input: Uint8Array): Uint8Array | null {
    const out = new Uint8Array(Math.floor(((this.b64n + input.length) * 3) / 4) + 3);
    let o = 0;
    const t = this.b64tmp;
    for (let i = 0; i < input.length;) {
      while (this.b64n < 4 && i < input.length) {
        if (input[i] !== 0x20) t[this.b64n++] = input[i]!;
        i++;
      }
      if (this.b64n === 4) {
        this.b64n = 0;
        const a = b64(t[0]!);
        const b = b64(t[1]!);
        if (a < 0 || b < 0) return null;
        if (t[2] === 0x3d) {
          out[o++] = ((a << 2) | (b >> 4)) & 0xff;
          continue;
        }
        const c = b64(t[2]!);
        if (c < 0) return null;
        if (t[3] === 0x3d) {
          out[o++] = ((a << 2) | (b >> 4)) & 0xff;
          out[o++] = ((b << 4) | (c >> 2)) & 0xff;
          continue;
        }
        const d = b64(t[3]!);
        if (d < 0) return null;
        out[o++] = ((a << 2) | (b >> 4)) & 0xff;
        out[o++] = ((b << 4) | (c >> 2)) & 0xff;
        out[o++] = ((c << 6) | d) & 0xff;
      }
    }
    return out.subarray(0, o);
  }

  /** `mime_smtp_extract_urls` on one line: each scheme found (case-insensitive) up to a space, quote, `<`, `>`, `]`, tab or the line end. */
  private findUrls(input: Uint8Array): void {
    for (const scheme of URL_SCHEMES) {
      let i = 0;
      while (i < input.length) {
        const at = indexOfCi(input, scheme, i);
        if (at === -1) break;
        let e = at;
        while (e < input.length) {
          const c = input[e]!;
          // Suricata's list plus CR/LF: the line ending is not part of a URL.
          if (c === 0x20 || c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x5d || c === 0x09 || c === 0x0d || c === 0x0a) break;
          e++;
        }
        if (this.urls.length < this.limits.maxUrls) this.urls.push(input.slice(at + scheme.length, e));
        else bump(this.cnt, 'limit_urls');
        i = Math.max(e, at + 1);
      }
    }
  }
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

function indexOfCi(h: Uint8Array, needle: string, from: number): number {
  const n = needle.length;
  outer: for (let i = from; i + n <= h.length; i++) {
    for (let k = 0; k < n; k++) {
      let c = h[i + k]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== needle.charCodeAt(k)) continue outer;
    }
    return i;
  }
  return -1;
}
