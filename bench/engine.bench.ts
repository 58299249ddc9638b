/**
 * Engine benchmark (issue #4): a seeded pcap of ≥ 200,000 packets over ≥ 5,000 interleaved flows
 * and ≥ 500 random content rules plus attack rules, inspected by `bulwark scan` in a child
 * process (the real CLI path). Checks the alerts against the ground truth and prints
 * packets/s, Mbit/s and peak RSS; then the same capture with the ET Open corpus if present.
 */
import { spawn } from 'node:child_process';
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
  alerts: { src: string; sid: number }[];
  stats: Record<string, unknown>;
  peakRss: number;
  wallSeconds: number;
}

function runScan(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/lib/scan-child.ts'), 'scan', ...args, '--json'], {
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
        const o = JSON.parse(line) as { event_type: string; src_ip?: string; src_port?: number; alert?: { signature_id: number } };
        if (o.event_type === 'alert') alerts.push({ src: `${o.src_ip}:${o.src_port}`, sid: o.alert!.signature_id });
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

const et = path.resolve(root, '../shared/corpus/et-open');
if (!existsSync(et)) console.log(`ET Open: skipped (${et} not found)`);
else {
  const files = readdirSync(et)
    .filter((f) => f.endsWith('.rules'))
    .map((f) => path.join(et, f));
  const e = await runScan([pcap, ...files.flatMap((f) => ['--rules', f])]);
  const es = e.stats as typeof s;
  console.log(
    `ET Open (${files.length} files, ${es.signatures} signatures loaded): ${Math.round(es.packets_per_second).toLocaleString('en')} packets/s, ` +
      `${Math.round(es.mbit_per_second).toLocaleString('en')} Mbit/s, ${es.alerts} alerts, peak RSS ${mb(e.peakRss)}, wall time incl. compile ${e.wallSeconds.toFixed(1)} s`,
  );
}
