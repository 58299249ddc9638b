/**
 * Lexical helpers of the `.rules` importer (src/signatures/rules.ts): the option text split at
 * its top-level semicolons, quoted values, header tokens, the legacy file keywords rewritten to
 * the buffer form Suricata gives them, and the error a malformed rule raises.
 */

/** A malformed rule (the import skips it as "invalid rule" with this message). */
export class RuleError extends Error {}

/**
 * The legacy `filename:"x"` and `fileext:"x"` keywords as Suricata sets them up
 * (detect-filename.c): a nocase content on the `file.name` buffer (`fileext`: `.x` with
 * endswith), after which no sticky buffer is active (a later content is a payload content
 * again). Quotes are optional and `!` negates, as Suricata allows; without a value Suricata
 * refuses the rule.
 */
export function expandFileKeywords(options: { name: string; value: string | undefined }[]): { name: string; value: string | undefined }[] {
  if (!options.some((o) => o.name === 'filename' || o.name === 'fileext')) return options;
  const out: { name: string; value: string | undefined }[] = [];
  for (const o of options) {
    if (o.name !== 'filename' && o.name !== 'fileext') {
      out.push(o);
      continue;
    }
    let v = (o.value ?? '').trim();
    if (v === '') throw new RuleError(`${o.name} needs a value`);
    const neg = v.startsWith('!');
    if (neg) v = v.slice(1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    // the value becomes a quoted content: characters content syntax gives a meaning stay out
    if (v === '' || /["\\;|]/.test(v)) throw new RuleError(`${o.name}: unsupported value "${v}"`);
    const text = o.name === 'fileext' ? `.${v}` : v;
    out.push({ name: 'file.name', value: undefined }, { name: 'content', value: `${neg ? '!' : ''}"${text}"` }, { name: 'nocase', value: undefined });
    if (o.name === 'fileext') out.push({ name: 'endswith', value: undefined });
    out.push({ name: 'pkt_data', value: undefined });
  }
  return out;
}

/** Splits the option text at top-level ';' (quotes and backslash escapes respected). */
export function splitOptions(body: string): { name: string; value: string | undefined }[] {
  const out: { name: string; value: string | undefined }[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\' && i + 1 < body.length) {
      cur += ch + body[i + 1]!;
      i++;
      continue;
    }
    if (ch === '"') inQuote = !inQuote;
    if (ch === ';' && !inQuote) {
      push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (inQuote) throw new RuleError('unterminated quoted string');
  if (cur.trim() !== '') throw new RuleError(`option without terminating ';': "${cur.trim().slice(0, 40)}"`);
  return out;
  function push(s: string): void {
    const t = s.trim();
    if (t === '') return;
    const colon = t.indexOf(':');
    if (colon < 0) out.push({ name: t.toLowerCase(), value: undefined });
    else out.push({ name: t.slice(0, colon).trim().toLowerCase(), value: t.slice(colon + 1).trim() });
  }
}

/**
 * The event a decode-event / stream-event / app-layer-event keyword names, lower case (Suricata
 * looks event names up case-insensitively); stream events get the `stream.` prefix their EVE
 * name has when the rule leaves it out.
 */
export function parseEventName(kw: string, value: string | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  if (!/^[a-z0-9_]+(\.[a-z0-9_]+)?$/.test(v)) throw new RuleError(`${kw}: bad event name "${(value ?? '').trim().slice(0, 60)}"`);
  return kw === 'stream-event' && !v.startsWith('stream.') ? `stream.${v}` : v;
}

/**
 * Removes surrounding quotes and an optional leading '!'. Quotes are mandatory unless `optional`
 * (Suricata's SIGMATCH_QUOTES_OPTIONAL keywords, such as pcre, take the value bare too).
 */
export function unquote(v: string, what: string, optional = false): { text: string; negated: boolean } {
  let t = v.trim();
  let negated = false;
  if (t.startsWith('!')) {
    negated = true;
    t = t.slice(1).trim();
  }
  const quoted = t.length >= 2 && t.startsWith('"') && t.endsWith('"');
  if (!quoted) {
    if (optional && t !== '') return { text: t, negated };
    throw new RuleError(`${what}: expected a quoted string`);
  }
  return { text: t.slice(1, -1), negated };
}

/** Tokenises the header: action proto src sport dir dst dport (brackets may contain spaces). */
export function headerTokens(h: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of h) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (/\s/.test(ch) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}
