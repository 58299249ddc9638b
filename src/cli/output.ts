import { formatHuman } from '../config/units.js';
/** Output helpers so every command prints alike: tables for people, exact JSON for machines. */
import type { Writable } from 'node:stream';

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
  for (const [k, v] of pairs) out.write(`${escapeControl(k + ':').padEnd(w + 1)} ${cell(v)}\n`);
}

/**
 * Makes text safe to print on a terminal: control characters (C0, DEL, C1 — escape sequences
 * could move the cursor, rewrite earlier lines or set the title) and Unicode direction overrides
 * and invisible format characters become visible escapes (\x1b, \u202e). Event data, rule
 * messages and file contents can carry them; JSON output escapes on its own.
 */
export function escapeControl(text: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const bad = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0xfeff;
    if (!bad) continue;
    out += text.slice(last, i) + (c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`);
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return escapeControl(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return escapeControl(JSON.stringify(v));
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
