/**
 * Suricata's non-buffer TLS keywords (detect-tls-version.c, detect-ssl-version.c,
 * detect-tls-cert-validity.c, detect-tls.c legacy `tls.subject`/`tls.issuerdn`/`tls.fingerprint`,
 * detect-tls-certs.c `tls.cert_chain_len`). `parse` throws an Error naming what is wrong.
 */
import type { AppDirection, AppKeywordSpec, AppTx } from '../types.js';
import { chainOf } from './buffers.js';
import { isTls13 } from './parser.js';
import { TlsTransaction } from './tx.js';
import type { TlsTxView } from './types.js';

/** The keywords read TLS transactions only; anything else never matches. */
function view(tx: AppTx): TlsTxView | null {
  return tx instanceof TlsTransaction ? tx : null;
}

/** Suricata's `client_connp.version` (to_server) or `server_connp.version` (to_client). */
function versionOf(t: TlsTxView, dir: AppDirection): number {
  return dir === 'to_server' ? t.clientVersion : t.serverVersion;
}

const TC: readonly AppDirection[] = ['to_client'];
const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];

interface TlsVersionArg { readonly version: number; readonly raw: boolean }

const NAMED: Readonly<Record<string, number>> = { '1.0': 0x0301, '1.1': 0x0302, '1.2': 0x0303, '1.3': 0x0304 };

/** `tls.version:1.2;` / `tls.version:0x7f12;` — the side's negotiated version; named 1.3 also matches the drafts. */
const tlsVersion: AppKeywordSpec<TlsVersionArg> = {
  name: 'tls.version',
  aliases: [],
  directions: BOTH,
  parse(value) {
    const v = (value ?? '').trim();
    const named = NAMED[v];
    if (named !== undefined) return { version: named, raw: false };
    if (/^0x[0-9a-fA-F]{1,4}$/.test(v)) return { version: parseInt(v.slice(2), 16), raw: true };
    throw new Error(`tls.version: invalid version "${v}" (1.0, 1.1, 1.2, 1.3 or 0xNNNN)`);
  },
  match(tx, dir, arg) {
    const t = view(tx);
    if (t === null) return false;
    let v = versionOf(t, dir);
    if (!arg.raw && v >> 8 === 0x7f) v = 0x0304;
    return v !== 0 && v === arg.version;
  },
};

interface SslVersionArg { readonly include: readonly number[]; readonly exclude: readonly number[] }

const SSL_NAMES: Readonly<Record<string, number>> = {
  sslv2: 0x0002, sslv3: 0x0300, 'tls1.0': 0x0301, 'tls1.1': 0x0302, 'tls1.2': 0x0303, 'tls1.3': 0x0304,
};

/**
 * `ssl_version:sslv3,!tls1.3;` — the side's version is one of the listed ones, or, when some are
 * negated, any known version that is not negated (Suricata 7.0.14 semantics).
 * Unknown versions never match.
 */
const sslVersion: AppKeywordSpec<SslVersionArg> = {
  name: 'ssl_version',
  aliases: [],
  directions: BOTH,
  parse(value) {
    const include: number[] = [];
    const exclude: number[] = [];
    for (const raw of (value ?? '').split(',')) {
      let item = raw.trim();
      const neg = item.startsWith('!');
      if (neg) item = item.slice(1).trim();
      const v = SSL_NAMES[item.toLowerCase()];
      if (v === undefined) throw new Error(`ssl_version: unknown version "${item}"`);
      (neg ? exclude : include).push(v);
    }
    return { include, exclude };
  },
  match(tx, dir, arg) {
    const t = view(tx);
    if (t === null) return false;
    let v = versionOf(t, dir);
    if (isTls13(v)) v = 0x0304;
    if (!Object.values(SSL_NAMES).includes(v)) return false;
    if (arg.include.includes(v)) return true;
    return arg.exclude.length > 0 && !arg.exclude.includes(v);
  },
};

type Cmp = 'lt' | 'gt' | 'eq' | 'range';
interface ValidityArg { readonly cmp: Cmp; readonly a: number; readonly b: number }

/** Suricata's accepted date forms (detect-tls-cert-validity.c ValidityParseDate), UTC. */
function parseDate(s: string): number {
  const t = s.trim();
  if (/^\d+$/.test(t) && t.length > 4) return Number(t); // epoch seconds
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?$/.exec(t);
  if (m === null) throw new Error(`invalid date "${t}"`);
  const n = (x: string | undefined, d: number): number => (x === undefined ? d : Number(x));
  return Date.UTC(n(m[1], 1970), n(m[2], 1) - 1, n(m[3], 1), n(m[4], 0), n(m[5], 0), n(m[6], 0)) / 1000;
}

function validityKeyword(name: 'tls_cert_notbefore' | 'tls_cert_notafter'): AppKeywordSpec<ValidityArg> {
  return {
    name,
    aliases: [],
    directions: TC,
    parse(value) {
      const v = (value ?? '').trim();
      try {
        const range = v.split('<>');
        if (range.length === 2) return { cmp: 'range', a: parseDate(range[0]!), b: parseDate(range[1]!) };
        if (v.startsWith('<')) return { cmp: 'lt', a: parseDate(v.slice(1)), b: 0 };
        if (v.startsWith('>')) return { cmp: 'gt', a: parseDate(v.slice(1)), b: 0 };
        return { cmp: 'eq', a: parseDate(v), b: 0 };
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
      }
    },
    match(tx, dir, arg) {
      const t = view(tx);
      const f = t === null ? null : chainOf(t, dir)?.first;
      if (!f) return false;
      const c = name === 'tls_cert_notbefore' ? f.notBefore : f.notAfter;
      switch (arg.cmp) {
        case 'lt': return c < arg.a;
        case 'gt': return c > arg.a;
        case 'range': return c > arg.a && c < arg.b;
        default: return c === arg.a;
      }
    },
  };
}

/** `tls_cert_expired` / `tls_cert_valid`: notAfter against the packet time (no chain validation). */
function expiryKeyword(name: 'tls_cert_expired' | 'tls_cert_valid'): AppKeywordSpec<null> {
  return {
    name,
    aliases: [],
    directions: TC,
    parse(value) {
      if (value !== null && value.trim() !== '') throw new Error(`${name} takes no value`);
      return null;
    },
    match(tx, dir, _arg, tsUs) {
      const t = view(tx);
      const f = t === null ? null : chainOf(t, dir)?.first;
      if (!f || f.notAfter === 0) return false;
      const now = Math.floor(tsUs / 1e6);
      return name === 'tls_cert_expired' ? f.notAfter < now : f.notAfter >= now;
    },
  };
}

interface StrArg { readonly text: string; readonly negated: boolean }

/** Legacy `tls.subject:"…"` / `tls.issuerdn:!"…"` / `tls.fingerprint:"…"`: substring of the first certificate's field. */
function legacyString(name: 'tls.subject' | 'tls.issuerdn' | 'tls.fingerprint'): AppKeywordSpec<StrArg> {
  return {
    name,
    aliases: [],
    directions: TC,
    parse(value) {
      let v = (value ?? '').trim();
      const negated = v.startsWith('!');
      if (negated) v = v.slice(1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (v === '') throw new Error(`${name}: empty value`);
      return { text: v, negated };
    },
    match(tx, dir, arg) {
      const t = view(tx);
      const chain = t === null ? null : chainOf(t, dir);
      const field = name === 'tls.fingerprint' ? chain?.fingerprint : name === 'tls.subject' ? chain?.first?.subject : chain?.first?.issuer;
      if (field === undefined || field === null) return false;
      return field.includes(arg.text) !== arg.negated;
    },
  };
}

interface UintArg { readonly op: '=' | '<' | '>' | '<=' | '>=' | '!' | 'range'; readonly a: number; readonly b: number }

/** Suricata's unsigned-integer keyword syntax (detect-engine-uint.c): N, <N, >N, <=N, >=N, !N, A-B, A<>B (exclusive). */
export function parseUint(value: string | null, name: string): UintArg {
  const v = (value ?? '').trim();
  const m = /^(<=|>=|<|>|!|=)?\s*(\d+)$/.exec(v);
  if (m) return { op: (m[1] ?? '=') as UintArg['op'], a: Number(m[2]), b: 0 };
  const r = /^(\d+)\s*(?:-|<>)\s*(\d+)$/.exec(v);
  if (r && Number(r[1]) < Number(r[2])) return { op: 'range', a: Number(r[1]), b: Number(r[2]) };
  throw new Error(`${name}: invalid value "${v}"`);
}

export function matchUint(x: number, u: UintArg): boolean {
  switch (u.op) {
    case '<': return x < u.a;
    case '>': return x > u.a;
    case '<=': return x <= u.a;
    case '>=': return x >= u.a;
    case '!': return x !== u.a;
    case 'range': return x > u.a && x < u.b;
    default: return x === u.a;
  }
}

/** `tls.cert_chain_len:3;` — certificates in the side's Certificate message. */
const certChainLen: AppKeywordSpec<UintArg> = {
  name: 'tls.cert_chain_len',
  aliases: [],
  directions: TC,
  parse: (value) => parseUint(value, 'tls.cert_chain_len'),
  match(tx, dir, arg) {
    const t = view(tx);
    const chain = t === null ? null : chainOf(t, dir);
    return chain !== null && matchUint(chain.length, arg);
  },
};

/** The keyword table (`AppProtocol.keywords`). */
export const TLS_KEYWORDS: readonly AppKeywordSpec[] = [
  tlsVersion,
  sslVersion,
  validityKeyword('tls_cert_notbefore'),
  validityKeyword('tls_cert_notafter'),
  expiryKeyword('tls_cert_expired'),
  expiryKeyword('tls_cert_valid'),
  legacyString('tls.subject'),
  legacyString('tls.issuerdn'),
  legacyString('tls.fingerprint'),
  certChainLen,
];
