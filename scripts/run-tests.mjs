#!/usr/bin/env node
// Runs the test suites through tsx with an explicit file list (on Node 20, `node --test test/`
// with .ts files silently runs nothing). Fails when zero tests ran.
// Usage: node scripts/run-tests.mjs [unit|e2e|all] [extra file filters...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, mkdtempSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const [suite = 'all', ...filters] = process.argv.slice(2);

function find(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const suites = suite === 'all' ? ['unit', 'e2e'] : [suite];
let total = { tests: 0, pass: 0, fail: 0, skipped: 0 };

for (const s of suites) {
  let files = find(join(root, 'test', s));
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  if (files.length === 0) continue;
  if (s === 'e2e') {
    // End-to-end tests run the compiled CLI and daemon (node bin/bulwark.js): build first.
    console.log('\n== build (npm run build) for e2e');
    const built = await new Promise((resolve) => {
      const child = spawn('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
      child.on('exit', (c) => resolve(c === 0));
      child.on('error', () => resolve(false));
    });
    if (!built) { console.error('build failed: e2e tests not run'); total.fail += 1; continue; }
  }
  const tapDir = mkdtempSync(join(tmpdir(), 'bulwark-tap-'));
  const tap = join(tapDir, 'out.tap');
  const args = [
    '--import', 'tsx', '--test',
    // End-to-end files share one machine's CPUs and start real daemons: one at a time.
    ...(s === 'e2e' ? ['--test-concurrency=1'] : []),
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files.map((f) => relative(root, f)),
  ];
  console.log(`\n== ${s}: ${files.length} files`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  const text = readFileSync(tap, 'utf8');
  const num = (k) => { const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')); return m ? Number(m[1]) : 0; };
  total.tests += num('tests'); total.pass += num('pass'); total.fail += num('fail'); total.skipped += num('skipped') + num('todo');
  if (code !== 0 && num('fail') === 0) total.fail += 1; // a crash outside a test still fails the run
}

console.log(`\n${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
if (total.tests === 0) { console.error('no tests ran'); process.exit(1); }
process.exit(total.fail > 0 ? 1 : 0);
