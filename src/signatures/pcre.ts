/**
 * PCRE (Suricata `pcre:"/…/flags"`) → JavaScript RegExp over a Latin-1 view of the payload.
 * Translated: flags i s m x (x by stripping whitespace and comments), R (relative); B and O
 * are accepted and ignored (no normalised buffers here). Refused with a reason: buffer flags
 * (U I P Q H D M C K S Y V W Z…), and PCRE syntax JavaScript cannot express (possessive
 * quantifiers, atomic groups, inline flag changes, \Q…\E, \G, recursion, conditionals…).
 */

export class PcreUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface TranslatedPcre {
  regex: RegExp;
  relative: boolean;
}

const BUFFER_FLAGS = new Set(['U', 'I', 'P', 'Q', 'H', 'D', 'M', 'C', 'K', 'S', 'Y', 'V', 'W', 'Z', 'G', 'E', 'A', 'L', 'T', 'J']);

const POSIX: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  xdigit: '0-9a-fA-F',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  cntrl: '\\x00-\\x1f\\x7f',
  blank: ' \\t',
};

/** Splits `/body/flags` (delimiter may be any char after an optional '!'). */
export function splitPcre(spec: string): { body: string; flags: string } {
  if (spec.length < 2 || spec[0] !== '/') throw new PcreUnsupported('pcre: expected /regex/flags');
  const end = spec.lastIndexOf('/');
  if (end <= 0) throw new PcreUnsupported('pcre: unterminated /regex/');
  return { body: spec.slice(1, end), flags: spec.slice(end + 1) };
}

function stripExtended(body: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\') {
      out += ch + (body[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      if (body[i + 1] === ']') {
        out += ']';
        i++;
      }
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') continue;
    if (ch === '#') {
      while (i < body.length && body[i] !== '\n') i++;
      continue;
    }
    out += ch;
  }
  return out;
}

/** Rewrites PCRE-only syntax into JavaScript or throws PcreUnsupported. */
function translateBody(body: string, multiline: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\') {
      const n = body[i + 1];
      if (n === undefined) throw new PcreUnsupported('pcre: trailing backslash');
      i++;
      if (n === 'A' && !inClass) {
        out += '(?<![\\s\\S])';
        continue;
      }
      if (n === 'z' && !inClass) {
        out += '(?![\\s\\S])';
        continue;
      }
      if (n === 'Z' && !inClass) {
        out += '(?=\\n?(?![\\s\\S]))';
        continue;
      }
      if (n === 'x' && body[i + 1] === '{') {
        const close = body.indexOf('}', i);
        const hex = close > 0 ? body.slice(i + 2, close) : '';
        if (!/^[0-9a-fA-F]{1,2}$/.test(hex)) throw new PcreUnsupported('pcre: \\x{…} above 0xFF');
        out += '\\x' + hex.padStart(2, '0');
        i = close;
        continue;
      }
      if ('QEGKRXCNhHvVpPgkLlUu'.includes(n)) throw new PcreUnsupported(`pcre: \\${n} not expressible in JavaScript`);
      if (n >= '1' && n <= '9' && inClass) throw new PcreUnsupported('pcre: octal escape in class');
      if (n === '0' || (n >= '1' && n <= '7' && /^[0-7]{3}/.test(body.slice(i)))) {
        // PCRE octal (\0nn, \nnn) → \xNN
        const m = /^[0-7]{1,3}/.exec(body.slice(i))!;
        const v = parseInt(m[0], 8);
        if (v > 0xff) throw new PcreUnsupported('pcre: octal escape above 0xFF');
        out += '\\x' + v.toString(16).padStart(2, '0');
        i += m[0].length - 1;
        continue;
      }
      out += '\\' + n;
      continue;
    }
    if (inClass) {
      if (ch === '[' && body[i + 1] === ':') {
        const close = body.indexOf(':]', i + 2);
        const name = close > 0 ? body.slice(i + 2, close) : '';
        const neg = name.startsWith('^');
        const cls = POSIX[neg ? name.slice(1) : name];
        if (cls === undefined || neg) throw new PcreUnsupported(`pcre: POSIX class [:${name}:]`);
        out += cls;
        i = close + 1;
        continue;
      }
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      if (body[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (body[i + 1] === ']') {
        // PCRE: a ']' first in a class is a literal
        out += '\\]';
        i++;
      }
      continue;
    }
    if (ch === '(' && body[i + 1] === '?') {
      const rest = body.slice(i + 2);
      if (rest.startsWith(':') || rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        out += ch;
        continue;
      }
      if (rest.startsWith('<') || rest.startsWith('P<')) {
        const m = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
        if (!m) throw new PcreUnsupported('pcre: bad named group');
        out += `(?<${m[1]!}>`;
        i += 1 + m[0].length;
        continue;
      }
      if (rest.startsWith('>')) throw new PcreUnsupported('pcre: atomic group (?>…) not expressible in JavaScript');
      if (rest.startsWith('(')) throw new PcreUnsupported('pcre: conditional group not expressible in JavaScript');
      if (rest.startsWith('#')) {
        const close = body.indexOf(')', i);
        if (close < 0) throw new PcreUnsupported('pcre: unterminated comment');
        i = close;
        continue;
      }
      throw new PcreUnsupported('pcre: inline option or recursion (?…) not expressible in JavaScript');
    }
    if ((ch === '+' || ch === '?') && i > 0 && /[*+?}]/.test(body[i - 1]!) && body[i - 2] !== '\\') {
      if (ch === '+') throw new PcreUnsupported('pcre: possessive quantifier not expressible in JavaScript');
    }
    if (ch === '$' && !multiline) {
      // PCRE's $ (no D flag) also matches before a final newline.
      out += '(?=\\n?(?![\\s\\S]))';
      continue;
    }
    out += ch;
  }
  return out;
}

/** Translates `spec` (with or without a leading '!', which the caller handles) to a RegExp. */
export function translatePcre(spec: string): TranslatedPcre {
  const { body: rawBody, flags } = splitPcre(spec);
  let js = 'g';
  let relative = false;
  let extended = false;
  let multiline = false;
  let body = rawBody;
  // A leading (?i) / (?s) / (?is) applies to the whole pattern: fold it into the flags.
  const lead = /^\(\?([imsx]+)\)/.exec(body);
  let allFlags = flags;
  if (lead) {
    allFlags += lead[1]!;
    body = body.slice(lead[0].length);
  }
  for (const f of allFlags) {
    switch (f) {
      case 'i':
        if (!js.includes('i')) js += 'i';
        break;
      case 's':
        if (!js.includes('s')) js += 's';
        break;
      case 'm':
        if (!js.includes('m')) js += 'm';
        multiline = true;
        break;
      case 'x':
        extended = true;
        break;
      case 'R':
        relative = true;
        break;
      case 'B':
      case 'O':
        break;
      default:
        if (BUFFER_FLAGS.has(f)) throw new PcreUnsupported(`pcre: buffer flag /${f}`);
        throw new PcreUnsupported(`pcre: unknown flag /${f}`);
    }
  }
  if (extended) body = stripExtended(body);
  const translated = translateBody(body, multiline);
  let regex: RegExp;
  try {
    regex = new RegExp(translated, js);
  } catch {
    throw new PcreUnsupported('pcre: not valid in JavaScript');
  }
  return { regex, relative };
}
