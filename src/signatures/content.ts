/**
 * Content strings: text with `|hex|` escapes (`abc|0d 0a|def`), shared by the YAML format and
 * the Suricata importer. In Suricata syntax a backslash escapes `"`, `;`, `\` and `:`.
 */

export class ContentError extends Error {}

/**
 * Decodes a content string to bytes. Text outside pipes is taken as Latin-1 (characters above
 * U+00FF are refused: write them as |hex|). `backslashEscapes` enables Suricata's `\"` `\;` `\\`.
 */
export function decodeContent(text: string, backslashEscapes: boolean): Uint8Array {
  const out: number[] = [];
  let hex = false;
  let hexDigits = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '|') {
      if (hex && hexDigits.length !== 0) throw new ContentError(`odd number of hex digits in |…| of "${text}"`);
      hex = !hex;
      continue;
    }
    if (hex) {
      if (ch === ' ' || ch === '\t') {
        if (hexDigits.length !== 0) throw new ContentError(`hex byte split by a space in "${text}"`);
        continue;
      }
      if (!/[0-9a-fA-F]/.test(ch)) throw new ContentError(`bad hex digit '${ch}' in "${text}"`);
      hexDigits += ch;
      if (hexDigits.length === 2) {
        out.push(parseInt(hexDigits, 16));
        hexDigits = '';
      }
      continue;
    }
    if (backslashEscapes && ch === '\\') {
      const n = text[i + 1];
      if (n === undefined) throw new ContentError(`trailing backslash in "${text}"`);
      if (n !== '"' && n !== ';' && n !== '\\' && n !== ':' && n !== '|') throw new ContentError(`unknown escape '\\${n}' in "${text}"`);
      out.push(n.charCodeAt(0));
      i++;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (code > 0xff) throw new ContentError(`character U+${code.toString(16).toUpperCase().padStart(4, '0')} outside Latin-1 in "${text}" (write it as |hex|)`);
    out.push(code);
  }
  if (hex) throw new ContentError(`unterminated |hex| in "${text}"`);
  if (out.length === 0) throw new ContentError('empty content');
  return Uint8Array.from(out);
}

/** Printable form for logs and `db info`: ASCII as is, the rest as |hex|. */
export function encodeContent(b: Uint8Array): string {
  let s = '';
  let inHex = false;
  for (const x of b) {
    const printable = x >= 0x20 && x < 0x7f && x !== 0x7c && x !== 0x22 && x !== 0x3b && x !== 0x5c;
    if (printable) {
      if (inHex) {
        s += '|';
        inHex = false;
      }
      s += String.fromCharCode(x);
    } else {
      s += inHex ? ' ' : '|';
      inHex = true;
      s += x.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  if (inHex) s += '|';
  return s;
}

/** Latin-1 bytes of a string (payload fixtures, tests). */
export function latin1(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}
