/**
 * Progress bars for long CLI work (`scan` of large files, `rules update` downloads, ruleset
 * compiles). Drawn on stderr only when it is a terminal, never with --json and never into a
 * pipe or a log; and only once the work has taken `delayMs`, so quick runs print nothing extra.
 * One line, redrawn in place (`\r` + erase to end of line), at most 10 times a second.
 */
import { statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { formatBytes } from './output.js';
import type { CliContext } from './types.js';

export interface ProgressOptions {
  label: string;
  /** Show nothing until the work has taken this long (ms). */
  delayMs: number;
  /** Format done/total as bytes ("2.1MiB/4.6MiB") instead of a bare percentage. */
  bytes?: boolean;
  now?: () => number;
}

/** Whether bars may be drawn on this stream: a terminal (and not TERM=dumb), and the output is not JSON. */
export function progressAllowed(stream: Writable, json: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return !json && (stream as Writable & { isTTY?: boolean }).isTTY === true && env.TERM !== 'dumb';
}

export class Progress {
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly now: () => number;

  constructor(
    private readonly out: Writable | undefined,
    private readonly o: ProgressOptions,
  ) {
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** A bar for `bulwark scan FILE` (bytes of the file), or a silent one. */
  static forFile(ctx: CliContext, json: boolean, file: string): Progress {
    let label = file.slice(file.lastIndexOf('/') + 1);
    if (label.length > 30) label = `…${label.slice(-29)}`;
    try {
      statSync(file);
    } catch {
      return new Progress(undefined, { label, delayMs: 0 });
    }
    return new Progress(progressAllowed(ctx.stderr, json, ctx.env) ? ctx.stderr : undefined, { label, delayMs: 1000, bytes: true });
  }

  readonly update = (done: number, total: number | undefined): void => {
    if (!this.out) return;
    const t = this.now();
    if (t - this.start < this.o.delayMs || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.out.write(`\r${render(this.o.label, done, total, this.o.bytes === true, columns(this.out))}\x1b[K`);
    this.drawn = true;
  };

  /** Erases the bar (before other output); the next update draws it again. */
  readonly clear = (): void => {
    if (!this.out || !this.drawn) return;
    this.out.write('\r\x1b[K');
    this.drawn = false;
    this.lastDraw = -Infinity;
  };

  readonly end = (): void => {
    this.clear();
  };
}

function columns(out: Writable): number {
  const c = (out as Writable & { columns?: number }).columns;
  return typeof c === 'number' && c > 20 ? c : 80;
}

/** One bar line: "label [#######.......]  45%  2.1MiB/4.6MiB", fitted to the terminal width. */
export function render(label: string, done: number, total: number | undefined, bytes: boolean, width: number): string {
  const known = total !== undefined && total > 0;
  const frac = known ? Math.min(1, Math.max(0, done / total)) : 0;
  const amount = bytes ? `${formatBytes(done)}${known ? `/${formatBytes(total)}` : ''}` : known ? '' : String(done);
  const pct = known ? `${String(Math.floor(frac * 100)).padStart(3)}%` : '';
  const tail = [pct, amount].filter((x) => x !== '').join('  ');
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 8));
  const bar = '#'.repeat(Math.round(frac * barWidth)).padEnd(barWidth, '.');
  return `${label} [${bar}] ${tail}`.slice(0, width - 1);
}

/** The compile bar of `db info`, `scan` and `rules update` (shown when a compile takes over a second). */
export function compileProgress(ctx: CliContext, json: boolean): Progress {
  return new Progress(progressAllowed(ctx.stderr, json, ctx.env) ? ctx.stderr : undefined, { label: 'compiling ruleset', delayMs: 1000 });
}
