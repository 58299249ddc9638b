/**
 * Oversized rules files (issue 14): how long the event loop stalls while the daemon's database
 * loader handles them, and what it costs in memory. Cases: 200,000 rules in one file, one rule
 * with a 10 MB content, and, for comparison, the ET Open rules from ../shared/corpus (a real,
 * accepted ruleset: the compile that remains on the event loop). Measured with perf_hooks' event-loop delay histogram
 * around loadDatabases (the same call the daemon's `db reload` makes).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultConfig } from '../src/config/types.js';
import { errorMessage } from '../src/errors.js';
import { loadDatabases } from '../src/signatures/load.js';
import { rng } from './lib/gen.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rules(n: number, seed: number): string {
  const r = rng(seed);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let c = '';
    for (let j = 0; j < 12; j++) c += alphabet.charAt(Math.floor(r() * alphabet.length));
    out.push(`alert tcp any any -> any 80 (msg:"BENCH ${i}"; flow:to_server,established; content:"${c}"; sid:${3_000_000 + i}; rev:1;)`);
  }
  return out.join('\n') + '\n';
}

async function measure(name: string, text: string | string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-rules-'));
  try {
    let files: string[];
    if (typeof text === 'string') {
      const file = join(dir, 'big.rules');
      writeFileSync(file, text);
      files = [file];
    } else files = text;
    // An empty database directory: only the rules files count.
    const cfg = { ...defaultConfig().databases, dir: mkdtempSync(join(dir, 'db-')), rules: files, requireManifest: false };
    gc();
    const rss0 = process.memoryUsage().rss;
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const t0 = performance.now();
    let outcome: string;
    try {
      const r = await loadDatabases(cfg, { skipManifest: true });
      outcome = `loaded, ${r.ruleset.signatures.length} signatures`;
    } catch (e) {
      outcome = `refused: ${errorMessage(e).slice(0, 140)}`;
    }
    const ms = performance.now() - t0;
    // Let the histogram see the end of the stall.
    await new Promise((r) => setTimeout(r, 50));
    h.disable();
    gc();
    const rss1 = process.memoryUsage().rss;
    console.log(`  ${name.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms, longest event-loop stall ${(h.max / 1e6).toFixed(0)} ms, RSS +${((rss1 - rss0) / 2 ** 20).toFixed(0)} MB after GC; ${outcome}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log('rules-file limits (loadDatabases on the event loop):');
  await measure('200,000 rules in one file', rules(200_000, 1));
  // At the default bound: what a file just under the limit still costs (refused later, by the automaton state bound).
  await measure('150,000 rules (at the bound)', rules(150_000, 3));
  await measure('one 10 MB content', `alert tcp any any -> any 80 (msg:"BENCH huge"; content:"${'A'.repeat(10 * 1024 * 1024)}"; sid:3999999; rev:1;)\n`);
  const et = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'et-open');
  if (existsSync(et)) await measure('ET Open (accepted)', readdirSync(et).filter((f) => f.endsWith('.rules')).map((f) => join(et, f)));
  else console.log('  (../shared/corpus/et-open not found: ET Open case skipped)');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
