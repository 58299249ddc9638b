/**
 * `npm run bench`: runs every bench/*.bench.ts (and bench/blocklist.ts) one after another, each in
 * its own process. `npm run bench -- --fleet` also runs bench/fleet.ts (minutes: 1,000 simulated hosts).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const fleet = process.argv.includes('--fleet');
const only = process.argv.slice(2).filter((a) => a !== '--fleet');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
if (existsSync(path.join(dir, 'blocklist.ts')) && !files.includes('blocklist.bench.ts')) files.push('blocklist.ts');
if (fleet) files.push('fleet.ts');
let failed = 0;
for (const f of files) {
  if (only.length > 0 && !only.some((o) => f.includes(o))) continue;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit', cwd: path.join(dir, '..') });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${f} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
