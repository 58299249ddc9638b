/** Output helpers so every command prints alike: tables for people, exact JSON for machines. */
import { Writable } from 'node:stream';
import { formatHuman } from '../config/units.js';

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts colour, cursor and
 * OSC sequences — window title, clipboard, hyperlinks; CR rewrites the line), DEL, C1 controls
 * (0x9b is a one-byte CSI), the Unicode line separators and the bidi overrides that reorder what
 * is shown, and the zero-width characters that hide text. Tab stays.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_BUT_LF = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * THE escaping of text from outside (a block reason, a rule msg, a config key, an error) for a
 * terminal: every control character becomes visible (`\x1b`, `\r`, `\n`, `\u202e`), so nothing
 * printed can move the cursor, recolour, retitle or forge a line. `keepNewlines` leaves LF as the
 * line break of multi-line messages. --json output needs none of it (JSON escapes them itself).
 */
export function escapeText(text: string, opts: { keepNewlines?: boolean } = {}): string {
  return text.replace(opts.keepNewlines === true ? CONTROL_BUT_LF : CONTROL, escapeChar);
}

/**
 * A stream for human output: everything written through it is escaped (escapeText, newlines
 * kept), whatever command wrote it. Table cells are escaped field by field first (newlines too),
 * so a field cannot forge a row.
 */
export function humanStream(out: Writable): Writable {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      out.write(escapeText(chunk.toString(), { keepNewlines: true }));
      cb();
    },
  });
  // Commands decide on tables and progress bars by asking whether the output is a terminal.
  const tty = out as Writable & { isTTY?: boolean; columns?: number };
  Object.defineProperty(w, 'isTTY', { get: () => tty.isTTY });
  Object.defineProperty(w, 'columns', { get: () => tty.columns });
  return w;
}

/** Exactly the value as JSON, one document, newline-terminated (what --json promises). */
export function printJson(out: Writable, value: unknown): void {
  out.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** Left-aligned columns separated by two spaces; cells are stringified, null/undefined print as "-". */
export function printTable(out: Writable, headers: string[], rows: unknown[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) {
    out.write(
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd() + '\n',
    );
  }
}

/** "key: value" lines with aligned values, for single-object status output. */
export function printKeyValues(out: Writable, pairs: [string, unknown][]): void {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) out.write(`${escapeText(k + ':').padEnd(w + 1)} ${cell(v)}\n`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return escapeText(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return escapeText(JSON.stringify(v));
}

/** 3723000 → "1h2m3s"; sub-second values print as ms. */
export function formatDuration(ms: number): string {
  return formatHuman(ms);
}

/** 1536 → "1.5KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${Number(v.toFixed(1))}${units[i]!}`;
}
