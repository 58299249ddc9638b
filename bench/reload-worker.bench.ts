/**
 * Event-loop delay during a database reload (issue 14: "compile off the event loop"), before and
 * after: `before` is what the daemon's reload did on its event loop until this change —
 * loadDatabases (read, parse, compile) plus the engine's scan tables at setRuleset; `after` is
 * loadDatabasesOffThread (src/signatures/offthread.ts: the same work in a worker at nice +10, the
 * main thread only rebuilding the result and the pcre regexes in <= 4 ms slices; the scan
 * tables come from the worker). Measured with perf_hooks.monitorEventLoopDelay (1 ms resolution):
 * max and p99, plus an idle baseline of the same length (what the machine's load alone costs).
 *
 * Cases: all ET Open rules (../shared/corpus/et-open, when present) and 200,000 generated rules
 * (databases.limits.rules raised to 250,000 for the case; 50,000 distinct contents, one rule in
 * ten with a pcre). `BULWARK_BENCH_CASES=et` or `=gen` runs one case; `BULWARK_BENCH_PHASES=after`
 * skips "before" (whose garbage a later main-thread collection would charge to "after").
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaultConfig, type Config } from '../src/config/types.js';
import { loadDatabases, type LoadedDatabases } from '../src/signatures/load.js';
import { loadDatabasesOffThread } from '../src/signatures/offthread.js';

const GENERATED = 200_000;

function generated(): string {
  const lines: string[] = [];
  for (let i = 0; i < GENERATED; i++) {
    const id = (i % 50_000).toString(36).padStart(4, '0');
    const pcre = i % 10 === 0 ? ` pcre:"/gen-${id}=[a-z]{2,8}\\d+/i";` : '';
    lines.push(`alert tcp any any -> any 8080 (msg:"GEN ${i}"; flow:to_server,established; content:"gen-${id}=";${pcre} sid:${6_000_000 + i}; rev:1;)`);
  }
  return lines.join('\n') + '\n';
}

interface Figures {
  ms: number;
  maxMs: number;
  p99Ms: number;
  signatures: number;
}

async function measure(fn: () => Promise<number>): Promise<Figures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  // A timer keeps the loop turning so an idle loop reports its scheduling delay, not 0.
  const keep = setInterval(() => undefined, 5);
  h.enable();
  const t0 = performance.now();
  const signatures = await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  clearInterval(keep);
  return { ms, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, signatures };
}

function show(name: string, f: Figures): void {
  console.log(`  ${name.padEnd(40)} ${(f.ms / 1000).toFixed(1).padStart(6)} s   event-loop delay max ${f.maxMs.toFixed(0).padStart(6)} ms  p99 ${f.p99Ms.toFixed(1).padStart(7)} ms   ${f.signatures ? `${f.signatures} signatures` : ''}`);
}

async function runCase(name: string, cfg: Config['databases']): Promise<void> {
  console.log(`${name}:`);
  if (process.env.BULWARK_BENCH_PHASES !== 'after') {
    const before = await measure(async () => {
      const r: LoadedDatabases = await loadDatabases(cfg, { skipManifest: true });
      return r.ruleset.signatures.length;
    });
    show('before: in-thread compile', before);
  }
  const after = await measure(async () => (await loadDatabasesOffThread(cfg, { skipManifest: true })).ruleset.signatures.length);
  show('after: worker + sliced rebuild', after);
  const idle = await measure(async () => {
    await new Promise((r) => setTimeout(r, Math.min(after.ms, 15_000)));
    return 0;
  });
  show('idle baseline (machine load only)', idle);
}

async function main(): Promise<void> {
  const only = process.env.BULWARK_BENCH_CASES;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-reload-'));
  try {
    const base = { ...defaultConfig().databases, dir: mkdtempSync(join(dir, 'db-')), requireManifest: false };
    const et = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'et-open');
    if (only === undefined || only === 'et') {
      if (existsSync(et)) await runCase('ET Open (all rules files)', { ...base, rules: readdirSync(et).filter((f) => f.endsWith('.rules')).sort().map((f) => join(et, f)) });
      else console.log('(../shared/corpus/et-open not found: ET Open case skipped)');
    }
    if (only === undefined || only === 'gen') {
      const file = join(dir, 'generated.rules');
      writeFileSync(file, generated());
      await runCase(`${GENERATED} generated rules`, { ...base, rules: [file], limits: { ...base.limits, rules: 250_000 } });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
