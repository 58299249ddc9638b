/**
 * Live capture rate (issue #4, not part of `npm run bench`; needs root): replays the engine
 * benchmark pcap, rewritten with tcprewrite for the test hosts, from the attacker namespace
 * into the protected host's veth with tcpreplay at rising rates, while the protected host
 * captures with PcapLiveSource and inspects with the Engine. Reports the highest rate with zero
 * capture drops. Run: npx tsx bench/live-rate.ts [RATE…]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createTestNet, run } from '../test/e2e/netns.js';
import { generatePcap, generateRules } from './lib/gen.js';

const root = path.resolve(import.meta.dirname, '..');
const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const OPTS = { seed: 20261121, minPackets: 200_000, flows: 5_000, concurrency: 400, attackShare: 0.005, randomRules: 500 };
const pcap = path.join(outDir, `engine-${OPTS.seed}.pcap`);
const rulesFile = path.join(outDir, `engine-${OPTS.seed}.rules`);
if (!existsSync(pcap)) await generatePcap(pcap, OPTS);
writeFileSync(rulesFile, generateRules(OPTS.seed, OPTS.randomRules));

// A rate of 0 means --topspeed (as fast as tcpreplay can send).
const rates = process.argv.slice(2).map((a) => (a === 'max' ? 0 : Number(a))).filter((n) => n >= 0 && Number.isFinite(n));
if (rates.length === 0) rates.push(100_000, 200_000, 300_000, 400_000, 0);

const net = await createTestNet(['attacker', 'protected']);
try {
  const a = net.host('attacker');
  const p = net.host('protected');
  const mac = (await p.exec('cat', ['/sys/class/net/eth0/address'])).stdout.trim();
  const rewritten = path.join(outDir, `engine-${OPTS.seed}-live.pcap`);
  const rw = await run('tcprewrite', [`--enet-dmac=${mac}`, '--fixcsum', `--infile=${pcap}`, `--outfile=${rewritten}`], { timeoutMs: 120_000 });
  if (rw.code !== 0) throw new Error(`tcprewrite failed: ${rw.stderr}`);
  const child = p.spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/lib/live-child.ts'), 'eth0', rulesFile], { cwd: root, stdio: 'pipe' });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const waitLine = async (pred: (l: string) => boolean): Promise<string> => {
    for (let i = 0; i < 600; i++) {
      const l = lines.find(pred);
      if (l !== undefined) {
        lines.splice(lines.indexOf(l), 1);
        return l;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('capture child did not answer');
  };
  await waitLine((l) => l.includes('ready'));
  const stats = async (): Promise<{ received: number; dropped: number; packets: number; alerts: number }> => {
    child.stdin!.write('stats\n');
    return JSON.parse(await waitLine((l) => l.includes('received'))) as { received: number; dropped: number; packets: number; alerts: number };
  };
  let best = 0;
  for (const rate of rates) {
    const before = await stats();
    const r = await a.exec('tcpreplay', ['-i', 'eth0', '--preload-pcap', rate === 0 ? '--topspeed' : `--pps=${rate}`, rewritten], { timeoutMs: 300_000 });
    await new Promise((res) => setTimeout(res, 1500)); // buffer timeout + processing backlog
    const after = await stats();
    const achieved = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(r.stdout)?.[1];
    const recv = after.received - before.received;
    const drops = after.dropped - before.dropped;
    console.log(
      `requested ${rate === 0 ? 'top speed' : `${rate.toLocaleString('en')} pps`}, tcpreplay achieved ${achieved ?? '?'} pps: captured ${recv}, inspected ${after.packets - before.packets}, ` +
        `dropped by the kernel buffer ${drops}, alerts ${after.alerts - before.alerts}`,
    );
    if (drops === 0 && recv > 0) best = Math.max(best, Number(achieved ?? rate));
  }
  console.log(`highest rate with zero capture drops: ${Math.round(best).toLocaleString('en')} packets/s (target 300,000)`);
  child.stdin!.end();
} finally {
  await net.destroy();
}
