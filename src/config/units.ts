/** Duration and size notation used in the configuration ("90s", "8h", "1d"; "64KiB", "32MiB"). */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$';
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?(B|KiB|MiB|GiB|TiB)?$';

/** "1h30m" → 5400000; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!new RegExp(DURATION_PATTERN).test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(total);
}

/** "32MiB" → 33554432, "4096" → 4096; undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const s = text.trim();
  const m = /^([0-9]+(?:\.[0-9]+)?)(B|KiB|MiB|GiB|TiB)?$/.exec(s);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!);
}

/** Canonical short form for docs and the example config: 3600000 → "1h", 5400000 → "90m". */
export function formatDurationMs(ms: number): string {
  for (const u of ['d', 'h', 'm', 's'] as const) {
    const f = DURATION_UNITS[u]!;
    if (ms >= f && ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms}ms`;
}

export function formatSize(n: number): string {
  for (const u of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const f = SIZE_UNITS[u]!;
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  }
  return String(n);
}

/**
 * Human-readable length for status output: 3723000 → "1h2m3s" (or "1h 2m 3s" with sep " ");
 * sub-second values print as ms. Unlike formatDurationMs this rounds down to whole seconds.
 */
export function formatHuman(ms: number, sep = ''): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.join(sep);
}
