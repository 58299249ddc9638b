/**
 * Engine benchmark (issue #4): a seeded pcap of ≥ 200,000 packets over ≥ 5,000 interleaved flows
 * and ≥ 500 random content rules plus attack rules, inspected by `bulwark scan` in a child
 * process (the real CLI path). Checks the alerts against the ground truth and prints
 * packets/s, Mbit/s and peak RSS; then the same capture with the whole ET Open corpus loaded
 * next to the bench rules: inspection and load+compile seconds, Mbit/s, peak RSS, attack flows
 * found, and every ET sid alerting on a benign flow with its count and investigated reason.
 * BENCH_ET_RUNS=N repeats the ET scan N times (min / median); BULWARK_ET_OPEN names the corpus.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpus, loadavg } from 'node:os';
import { generatePcap, generateRules } from './lib/gen.js';

const root = path.resolve(import.meta.dirname, '..');
const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });

const OPTS = { seed: 20261121, minPackets: 200_000, flows: 5_000, concurrency: 400, attackShare: 0.005, randomRules: 500 };
const TARGET_PPS = 300_000;
const TARGET_MBPS = 1_500;
const TARGET_RSS = 250 * 1024 * 1024;

interface ChildResult {
  alerts: { src: string; sid: number; msg: string; dport: string; excerpt: string }[];
  stats: Record<string, unknown>;
  peakRss: number;
  wallSeconds: number;
}

/**
 * The scans run the compiled CLI (dist/, built first), as `bulwark scan` runs; BENCH_TSX=1 runs
 * the sources through tsx instead (no build; slower: tsx's keepNames wrappers, its loader's memory).
 */
const useTsx = process.env.BENCH_TSX === '1';
if (!useTsx) {
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('npm run build failed: the bench measures dist/ (BENCH_TSX=1 runs the sources)');
}
const childArgs = useTsx ? ['--import', 'tsx', path.join(root, 'bench/lib/scan-child.ts')] : [path.join(root, 'bench/lib/scan-dist.mjs')];

function runScan(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...childArgs, 'scan', ...args, '--json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      if (code !== 0) {
        reject(new Error(`scan exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      const alerts: ChildResult['alerts'] = [];
      let stats: Record<string, unknown> = {};
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as {
          event_type: string; src_ip?: string; src_port?: number; dest_port?: number;
          alert?: { signature_id: number; signature: string }; bulwark?: { payload_excerpt?: string };
        };
        if (o.event_type === 'alert') {
          alerts.push({ src: `${o.src_ip}:${o.src_port}`, sid: o.alert!.signature_id, msg: o.alert!.signature, dport: String(o.dest_port), excerpt: o.bulwark?.payload_excerpt ?? '' });
        }
        else if (o.event_type === 'stats') stats = o;
      }
      const m = /\{"peak_rss_bytes":(\d+)\}/.exec(err);
      resolve({ alerts, stats, peakRss: m ? Number(m[1]) : 0, wallSeconds });
    });
  });
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

const pcap = path.join(outDir, `engine-${OPTS.seed}.pcap`);
const rulesFile = path.join(outDir, `engine-${OPTS.seed}.rules`);
console.log('== engine bench');
const t0 = performance.now();
const gen = await generatePcap(pcap, OPTS);
writeFileSync(rulesFile, generateRules(OPTS.seed, OPTS.randomRules));
console.log(
  `generated ${gen.packets} packets, ${gen.flows} flows (${gen.truth.attacks.size} attack flows), ${(statSync(pcap).size / 1e6).toFixed(1)} MB pcap, ` +
    `${OPTS.randomRules} random rules + attack rules in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const r = await runScan([pcap, '--rules', rulesFile]);
const s = r.stats as { packets: number; bytes: number; seconds: number; cpu_seconds: number; packets_per_second: number; mbit_per_second: number; flows: number; alerts: number; signatures: number; dropped: unknown };
// Ground truth: every attack flow alerts exactly once with its sid, nothing else alerts.
const got = new Map<string, number[]>();
for (const a of r.alerts) got.set(a.src, [...(got.get(a.src) ?? []), a.sid]);
const problems: string[] = [];
for (const [src, sid] of gen.truth.attacks) {
  const g = got.get(src);
  if (!g || g.length !== 1 || g[0] !== sid) problems.push(`attack flow ${src}: expected [${sid}], got [${(g ?? []).join(',')}]`);
}
for (const [src, sids] of got) if (!gen.truth.attacks.has(src)) problems.push(`unexpected alert(s) ${sids.join(',')} from ${src}`);
console.log(
  `scan (${s.signatures} signatures): ${s.packets} packets, ${s.flows} flows, ${s.alerts} alerts in ${s.seconds.toFixed(3)} s → ` +
    `${Math.round(s.packets_per_second).toLocaleString('en')} packets/s, ${Math.round(s.mbit_per_second).toLocaleString('en')} Mbit/s, peak RSS ${mb(r.peakRss)} ` +
    `(process wall time incl. startup and compile ${r.wallSeconds.toFixed(2)} s); not inspected: ${JSON.stringify(s.dropped)}`,
);
console.log(
  `CPU time of the scan ${s.cpu_seconds.toFixed(3)} s → ${Math.round(s.packets / s.cpu_seconds).toLocaleString('en')} packets/s, ` +
    `${Math.round((s.bytes * 8) / 1e6 / s.cpu_seconds).toLocaleString('en')} Mbit/s per CPU-second (load average when run: ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs)`,
);
console.log(
  `targets: packets/s ≥ ${TARGET_PPS.toLocaleString('en')}: ${s.packets_per_second >= TARGET_PPS ? 'PASS' : 'FAIL'}; ` +
    `Mbit/s ≥ ${TARGET_MBPS}: ${s.mbit_per_second >= TARGET_MBPS ? 'PASS' : 'FAIL'}; peak RSS ≤ ${mb(TARGET_RSS)}: ${r.peakRss <= TARGET_RSS ? 'PASS' : 'FAIL'}`,
);
if (problems.length > 0) {
  console.log(`ground truth: FAIL (${problems.length} problems)\n  ${problems.slice(0, 20).join('\n  ')}`);
  process.exitCode = 1;
} else console.log(`ground truth: PASS (${gen.truth.attacks.size} attack flows alerted exactly once, no false alerts)`);

// ---------------------------------------------------------------- ET Open + the bench rules
// The same capture with the whole ET Open corpus loaded next to the bench rules, as the daemon
// loads it (--inbound-only: the rules about this host as a client stay skipped). Read from the
// shared corpus (never copied into the project): $BULWARK_ET_OPEN or ../shared/corpus/et-open.
const TARGET_ET_SECONDS = 1.47; // Snort 3 + Hyperscan on this pcap with the 505 bench rules only (0.77–1.47 s across sessions)
/**
 * The day Snort took 1.47 s, bulwark's 505-rule scan took 0.53 s on the same machine. Snort cannot
 * run here, so its time in this run is estimated from ours: 1.47 × (this run's 505-rule seconds /
 * 0.53). Printed beside the fixed target, never instead of it.
 */
const SNORT_PER_BULWARK_505 = 1.47 / 0.53;
const TARGET_ET_LOAD_SECONDS = 10;
const TARGET_ET_RSS = 400 * 1024 * 1024;
/**
 * ET sids that alert on benign flows of this capture, investigated one by one: a real match of
 * the rule on the generated traffic (say why), or a bug (fix it, never list it here). Any other
 * sid on a benign flow fails the bench until someone looks at it.
 */
const ET_BENIGN_EXPLAINED: Record<number, string> = {
  2010937:
    'real match: "ET SCAN Suspicious inbound to mySQL port 3306" is flow:to_server; flags:S; on port 3306 from $EXTERNAL_NET with ' +
    'threshold type limit, count 5, seconds 60, track by_src — it alerts on every inbound SYN to 3306 (up to 5 per source a minute; ' +
    'databases.vars has HOME_NET and EXTERNAL_NET = any, as a host agent), and the bench opens connections to 3306 from 250 client addresses',
  2010939:
    'real match: "ET SCAN Suspicious inbound to PostgreSQL port 5432", the same rule for port 5432 (flags:S, threshold limit 5 per source a minute)',
};

const etDir = process.env.BULWARK_ET_OPEN ?? path.resolve(root, '../shared/corpus/et-open');
if (!existsSync(etDir)) {
  console.log(`ET Open: NOT RUN — ${etDir} not found (set BULWARK_ET_OPEN to the directory of the ET Open .rules files)`);
} else {
  const files = readdirSync(etDir)
    .filter((f) => f.endsWith('.rules'))
    .sort()
    .map((f) => path.join(etDir, f));
  const runs = Math.max(1, Number(process.env.BENCH_ET_RUNS ?? 1));
  const results: ChildResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await runScan([pcap, '--inbound-only', '--rules', rulesFile, ...files.flatMap((f) => ['--rules', f])]));
  const e = results[0]!;
  type EtStats = typeof s & { load_seconds: number; load_cpu_seconds?: number };
  const all = results.map((x) => x.stats as EtStats);
  const es = all[0]!;
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]): number => sorted(xs)[Math.floor((xs.length - 1) / 2)]!;
  const secs = all.map((x) => x.seconds);
  const cpu = all.map((x) => x.cpu_seconds);
  const load = all.map((x) => x.load_seconds);
  const loadCpu = all.map((x) => x.load_cpu_seconds ?? Number.NaN);
  const rss = results.map((x) => x.peakRss);
  const benchSids = new Set<number>([...Array.from({ length: OPTS.randomRules }, (_, i) => 8_000_000 + i), ...[...gen.truth.attacks.values()]]);
  console.log(`\n== ET Open (${files.length} files from ${etDir}) + the ${OPTS.randomRules + 5} bench rules: ${es.signatures} signatures loaded, ${runs} run(s)`);
  const mm = (xs: number[], d = 3): string => (xs.length === 1 ? xs[0]!.toFixed(d) : `min ${Math.min(...xs).toFixed(d)} / median ${median(xs).toFixed(d)}`);
  console.log(
    `inspection ${mm(secs)} s (CPU ${mm(cpu)} s) → ${Math.round((es.bytes * 8) / 1e6 / Math.min(...secs)).toLocaleString('en')} Mbit/s, ` +
      `${Math.round(es.packets / Math.min(...secs)).toLocaleString('en')} packets/s; load + compile ${mm(load, 2)} s (CPU ${mm(loadCpu, 2)} s); peak RSS ${rss.map(mb).join(', ')}; ` +
      `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs`,
  );
  // Attack flows: found when their bench sid alerted on them (ET rules alerting there are listed too).
  const byFlow = new Map<string, { sid: number; msg: string; excerpt: string }[]>();
  for (const a of e.alerts) byFlow.set(a.src, [...(byFlow.get(a.src) ?? []), { sid: a.sid, msg: a.msg, excerpt: a.excerpt }]);
  let found = 0;
  const etOnAttacks = new Map<number, { msg: string; flows: number }>();
  const etProblems: string[] = [];
  for (const [src, sid] of gen.truth.attacks) {
    const g = byFlow.get(src) ?? [];
    if (g.some((x) => x.sid === sid)) found++;
    else etProblems.push(`attack flow ${src}: its sid ${sid} did not alert (got ${g.map((x) => x.sid).join(',') || 'nothing'})`);
    for (const x of g) {
      if (benchSids.has(x.sid)) {
        if (x.sid !== sid) etProblems.push(`attack flow ${src}: bench sid ${x.sid} alerted besides ${sid}`);
        continue;
      }
      const o = etOnAttacks.get(x.sid) ?? { msg: x.msg, flows: 0 };
      o.flows++;
      etOnAttacks.set(x.sid, o);
    }
  }
  console.log(`attack flows found: ${found}/${gen.truth.attacks.size}`);
  for (const [sid, o] of [...etOnAttacks].sort((a, b) => a[0] - b[0])) console.log(`  ET on attack flows: sid ${sid} "${o.msg}" on ${o.flows} flow(s)`);
  // Benign flows: every alert is listed by sid with its count and the investigated reason.
  const benign = new Map<number, { msg: string; alerts: number; flows: Set<string>; ports: Set<string>; excerpt: string }>();
  for (const a of e.alerts) {
    if (gen.truth.attacks.has(a.src)) continue;
    if (benchSids.has(a.sid)) {
      etProblems.push(`bench sid ${a.sid} alerted on benign flow ${a.src}`);
      continue;
    }
    const o = benign.get(a.sid) ?? { msg: a.msg, alerts: 0, flows: new Set(), ports: new Set(), excerpt: a.excerpt };
    o.alerts++;
    o.flows.add(a.src);
    o.ports.add(a.dport);
    benign.set(a.sid, o);
  }
  console.log(`ET alerts on benign flows: ${[...benign.values()].reduce((n, o) => n + o.alerts, 0)} alerts, ${benign.size} sids`);
  for (const [sid, o] of [...benign].sort((a, b) => b[1].alerts - a[1].alerts)) {
    const why = ET_BENIGN_EXPLAINED[sid];
    console.log(`  sid ${sid} "${o.msg}": ${o.alerts} alerts on ${o.flows.size} flows (dest ports ${[...o.ports].sort().join(',')}) — ${why ?? `NOT INVESTIGATED (payload excerpt: ${JSON.stringify(o.excerpt.slice(0, 120))})`}`);
    if (why === undefined) etProblems.push(`sid ${sid} alerts on benign flows and is not investigated`);
  }
  console.log(
    `targets${runs > 1 ? ' (best of the runs)' : ''}: inspection ≤ ${TARGET_ET_SECONDS} s (Snort 3 + Hyperscan, 505 rules): ${Math.min(...secs) <= TARGET_ET_SECONDS ? 'PASS' : 'FAIL'}; ` +
      `load + compile ≤ ${TARGET_ET_LOAD_SECONDS} s: ${Math.min(...load) <= TARGET_ET_LOAD_SECONDS ? 'PASS' : 'FAIL'}; ` +
      `peak RSS ≤ ${mb(TARGET_ET_RSS)}: ${Math.min(...rss) <= TARGET_ET_RSS ? 'PASS' : 'FAIL'}; attack flows ${found}/${gen.truth.attacks.size}: ${found === gen.truth.attacks.size ? 'PASS' : 'FAIL'}`,
  );
  // The same scan sharded over worker threads (`scan --workers N`, docs/engine.md "Scan workers"):
  // the same alerts in the same order are part of the result.
  const workerCounts = (process.env.BENCH_ET_WORKERS ?? '2').split(',').map(Number).filter((n) => n > 1);
  for (const w of workerCounts) {
    const wr: ChildResult[] = [];
    for (let i = 0; i < runs; i++) wr.push(await runScan([pcap, '--inbound-only', '--workers', String(w), '--rules', rulesFile, ...files.flatMap((f) => ['--rules', f])]));
    const ws = wr.map((x) => x.stats as EtStats & { shard?: { inspected: number[]; held_max: number; waits: number } });
    const wsecs = ws.map((x) => x.seconds);
    const wrss = wr.map((x) => x.peakRss);
    const same = wr.every((x) => JSON.stringify(x.alerts) === JSON.stringify(e.alerts));
    if (!same) etProblems.push(`--workers ${w}: the alerts differ from one worker's`);
    console.log(
      `${w} workers: inspection ${mm(wsecs)} s (CPU ${mm(ws.map((x) => x.cpu_seconds))} s) → ${Math.round((es.bytes * 8) / 1e6 / Math.min(...wsecs)).toLocaleString('en')} Mbit/s; ` +
        `peak RSS ${wrss.map(mb).join(', ')}; packets per worker ${ws[0]!.shard?.inspected.join(' / ') ?? '?'}; alerts ${same ? 'identical to 1 worker (same order)' : 'DIFFERENT'}; ` +
        `inspection ≤ ${TARGET_ET_SECONDS} s: ${Math.min(...wsecs) <= TARGET_ET_SECONDS ? 'PASS' : 'FAIL'} (${(Math.min(...wsecs) / (SNORT_PER_BULWARK_505 * s.seconds)).toFixed(2)}× Snort's time estimated for this run); peak RSS ≤ ${mb(TARGET_ET_RSS)}: ${Math.min(...wrss) <= TARGET_ET_RSS ? 'PASS' : 'FAIL'}`,
    );
  }
  const scaled = SNORT_PER_BULWARK_505 * s.seconds;
  console.log(
    `Snort's time estimated for this run (1.47 s × this run's 505-rule ${s.seconds.toFixed(3)} s / 0.53 s): ${scaled.toFixed(2)} s; ` +
      `1 worker ${Math.min(...secs) <= scaled ? 'within' : 'over'} it (${(Math.min(...secs) / scaled).toFixed(2)}×)`,
  );
  if (etProblems.length > 0) {
    console.log(`ET ground truth: FAIL (${etProblems.length} problems)\n  ${etProblems.slice(0, 20).join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('ET ground truth: PASS (every attack flow found by its bench rule, every ET alert on benign flows explained)');
}
