/**
 * Reading the EVE event file for `bulwark events`: the live file and its rotations
 * (FILE.N … FILE.1, then FILE — src/engine/events.ts rotates FILE → FILE.1 → … → FILE.keep),
 * filters over the event types the daemon writes (alert, blocklist, isolation, bulwark), and
 * following the file across rotations. Lines that are not JSON objects are counted, not fatal.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { cidrRange, parseCidr, rangeContains, type Range } from '../blocklist/address.js';
import { escapeText } from './output.js';

export const EVENT_TYPES = ['alert', 'blocklist', 'isolation', 'bulwark'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export type EveEvent = Record<string, unknown>;

export interface EventFilter {
  sinceMs?: number;
  /** Source address or network (alerts, blocklist events, policy isolation). */
  src?: Range;
  sids?: ReadonlySet<number>;
  /** This severity or higher (events without a severity do not pass). */
  minSeverity?: (typeof SEVERITIES)[number];
  types?: ReadonlySet<string>;
}

/** Longest line kept; longer ones are skipped (the writer never produces them). */
const MAX_LINE = 1024 * 1024;

function rec(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function parseEventLine(line: string): EveEvent | undefined {
  if (line.length === 0 || line.length > MAX_LINE) return undefined;
  try {
    return rec(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** Event time in ms ("2026-11-21T07:27:33.123456+0000" or ISO "…Z"); NaN when absent. */
export function eventTime(e: EveEvent): number {
  return typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
}

export function eventType(e: EveEvent): string {
  return typeof e.event_type === 'string' ? e.event_type : '';
}

export function eventSeverity(e: EveEvent): string | undefined {
  const s = rec(e.bulwark)?.severity;
  return typeof s === 'string' ? s : undefined;
}

export function eventSid(e: EveEvent): number | undefined {
  for (const v of [rec(e.alert)?.signature_id, rec(e.bulwark)?.signature_id, rec(e.isolation)?.signature_id]) if (typeof v === 'number') return v;
  return undefined;
}

export function eventSource(e: EveEvent): string | undefined {
  for (const v of [e.src_ip, rec(e.isolation)?.src_ip, rec(e.bulwark)?.address]) if (typeof v === 'string') return v;
  return undefined;
}

function inRange(addr: string, r: Range): boolean {
  try {
    return rangeContains(r, cidrRange(parseCidr(addr, { clearHostBits: true })));
  } catch {
    return false;
  }
}

export function matches(e: EveEvent, f: EventFilter): boolean {
  if (f.types && !f.types.has(eventType(e))) return false;
  if (f.sinceMs !== undefined) {
    const t = eventTime(e);
    if (Number.isNaN(t) || t < f.sinceMs) return false;
  }
  if (f.sids) {
    const sid = eventSid(e);
    if (sid === undefined || !f.sids.has(sid)) return false;
  }
  if (f.minSeverity !== undefined) {
    const s = eventSeverity(e);
    const i = SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);
    if (i < 0 || i < SEVERITIES.indexOf(f.minSeverity)) return false;
  }
  if (f.src) {
    const a = eventSource(e);
    if (a === undefined || !inRange(a, f.src)) return false;
  }
  return true;
}

/** The live file and its rotations, oldest first, that exist. */
export async function eventFiles(file: string): Promise<string[]> {
  const dir = dirname(file);
  const base = basename(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) && /^[0-9]{1,4}$/.test(n.slice(base.length + 1)) ? Number(n.slice(base.length + 1)) : -1))
    .filter((n) => n > 0)
    .sort((a, b) => b - a)
    .map((n) => join(dir, `${base}.${n}`));
  return names.includes(base) ? [...rotated, file] : rotated;
}

export interface ReadStats {
  files: number;
  lines: number;
  /** Lines that were not JSON objects (partial last line, foreign text). */
  unparsable: number;
}

/** Calls `onEvent(event, line)` for every matching event of the files, oldest first. */
export async function readEvents(files: readonly string[], f: EventFilter, onEvent: (e: EveEvent, line: string) => void): Promise<ReadStats> {
  const st: ReadStats = { files: 0, lines: 0, unparsable: 0 };
  for (const path of files) {
    // A rotated file last written before --since holds nothing newer.
    if (f.sinceMs !== undefined) {
      const s = await stat(path).catch(() => undefined);
      if (!s || s.mtimeMs < f.sinceMs) continue;
    }
    st.files++;
    const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    try {
      for await (const line of rl) {
        if (line === '') continue;
        st.lines++;
        const e = parseEventLine(line);
        if (!e) {
          st.unparsable++;
          continue;
        }
        if (matches(e, f)) onEvent(e, line);
      }
    } catch {
      // The file vanished (rotated away) while reading: what was read stays.
    } finally {
      rl.close();
    }
  }
  return st;
}

/**
 * Follows FILE like `tail -F`: new complete lines are handed out as they are appended; when the
 * file is rotated (renamed away, a new one created) the rest of the old one is read first, and a
 * truncated file is read again from its start. Polls every `intervalMs` until `signal` aborts.
 */
export async function followEvents(file: string, fromEnd: boolean, onLine: (line: string) => void, signal: AbortSignal, intervalMs = 250): Promise<void> {
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  let partial = '';
  const buf = Buffer.alloc(64 * 1024);
  const drain = async (): Promise<void> => {
    if (!fh) return;
    for (;;) {
      const r = await fh.read(buf, 0, buf.length, pos);
      if (r.bytesRead === 0) return;
      pos += r.bytesRead;
      partial += buf.toString('utf8', 0, r.bytesRead);
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line !== '') onLine(line);
      }
      if (partial.length > MAX_LINE) partial = '';
    }
  };
  const reopen = async (atEnd: boolean): Promise<void> => {
    try {
      const next = await open(file, 'r');
      const s = await next.stat();
      await fh?.close();
      fh = next;
      ino = s.ino;
      pos = atEnd ? s.size : 0;
      partial = '';
    } catch {
      // not there (yet): keep polling
    }
  };
  await reopen(fromEnd);
  try {
    while (!signal.aborted) {
      await drain();
      const s = await stat(file).catch(() => undefined);
      if (s && s.ino !== ino) {
        await drain(); // the rest of the rotated file, through the old handle
        await reopen(false);
        continue;
      }
      if (s && s.size < pos) {
        pos = 0;
        partial = '';
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  } finally {
    await fh?.close();
  }
}

function short(ts: number): string {
  return Number.isNaN(ts) ? '-' : new Date(ts).toISOString().slice(0, 19).replace('T', ' ');
}

/** The DETAIL column: what happened, from whichever object the event type carries. */
export function eventDetail(e: EveEvent): string {
  const b = rec(e.bulwark) ?? {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
  switch (eventType(e)) {
    case 'alert': {
      const a = rec(e.alert) ?? {};
      const count = typeof b.count === 'number' && b.count > 1 ? ` ×${b.count}` : '';
      const skip = typeof b.block_skipped === 'string' ? ` (not blocked: ${b.block_skipped})` : '';
      return `${str(a.signature)} → ${str(e.dest_ip)}:${str(e.dest_port)} ${str(a.action)}${skip}${count}`;
    }
    case 'blocklist':
      return `${str(b.event)} ${str(b.address)}${b.reason !== undefined ? `: ${str(b.reason)}` : ''}${b.expires_at !== undefined ? ` until ${str(b.expires_at)}` : ''}`;
    case 'isolation': {
      const i = rec(e.isolation) ?? {};
      return `${str(b.event)} (${str(i.mode)}${i.reason !== undefined ? `: ${str(i.reason)}` : ''})`;
    }
    default:
      return `${str(b.event)}${b.reason !== undefined ? ` (${str(b.reason)})` : ''}`;
  }
}

export const TABLE_HEADER = ['TIME (UTC)', 'TYPE', 'SEVERITY', 'SOURCE', 'SID', 'EVENT'];
const WIDTHS = [19, 9, 8, 24, 9];

/** One table row with fixed columns (rows are printed as they come, also while following), escaped for the terminal. */
export function tableRow(cells: readonly string[]): string {
  return (
    cells
      .map((c, i) => {
        const t = escapeText(c);
        const w = WIDTHS[i];
        return w === undefined ? t : t.padEnd(w);
      })
      .join('  ')
      .trimEnd() + '\n'
  );
}

export function eventRow(e: EveEvent): string[] {
  const sid = eventSid(e);
  return [short(eventTime(e)), eventType(e), eventSeverity(e) ?? '-', eventSource(e) ?? '-', sid === undefined ? '-' : String(sid), eventDetail(e)];
}
