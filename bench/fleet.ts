/**
 * Fleet benchmark (`npm run bench -- --fleet`; not in the default run: it takes minutes and most
 * of this 2-core machine). A real nats-server with JetStream on loopback, the decisions stream as
 * `bulwark fleet setup` makes it, 1,000 simulated hosts (ordered consumers, as bulwark hosts use)
 * in two processes, one publisher sharing block decisions. Reports p50/p99 decision→received
 * latency and the server's CPU at 10 decisions/s, then raises the rate until p99 passes 1 s.
 * Traffic stays on 127.0.0.1.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { NatsFleetConnection } from '../src/fleet/nats.js';
import { subjects } from '../src/fleet/subjects.js';

const HOSTS = Number(process.env.BULWARK_BENCH_FLEET_HOSTS ?? 1000);
const STEP_S = Number(process.env.BULWARK_BENCH_FLEET_STEP_S ?? 15);
const RATES = (process.env.BULWARK_BENCH_FLEET_RATES ?? '10,50,100,200,400,800,1600').split(',').map(Number);
const MODE = process.env.BULWARK_BENCH_FLEET_MODE ?? 'ordered';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => {
        resolve(p);
      });
    });
  });
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-fleet-'));
const port = await freePort();
writeFileSync(join(dir, 'nats.conf'), `listen: "127.0.0.1:${port}"\nmax_connections: 5000\njetstream { store_dir: "${dir}/js" }\n`);
const server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
const children: ChildProcess[] = [];
const cleanup = (): void => {
  for (const c of children) c.kill('SIGKILL');
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
try {
  await new Promise((r) => setTimeout(r, 500));
  const url = `127.0.0.1:${port}`;
  const conn = new NatsFleetConnection({ servers: url, name: 'bench publisher' });
  await conn.connected();
  await conn.ensureLayout({ replicas: 1, decisionsMaxAgeMs: 86_400_000, eventsMaxAgeMs: 3_600_000, eventsMaxBytes: 64 * 1024 * 1024, ordersMaxAgeMs: 3_600_000 });
  const t0 = Date.now();
  const per = Math.ceil(HOSTS / 2);
  const ready = [per, HOSTS - per].map(
    (n) =>
      new Promise<void>((resolve, reject) => {
        const c = fork(join(import.meta.dirname, 'lib', 'fleet-hosts.ts'), [url, String(n), MODE], { execArgv: ['--import', 'tsx'] });
        children.push(c);
        c.once('message', () => {
          resolve();
        });
        c.once('exit', (code) => {
          reject(new Error(`simulated hosts exited (${String(code)})`));
        });
      }),
  );
  await Promise.all(ready);
  console.log(`fleet bench: ${HOSTS} simulated hosts (${MODE} consumers) connected to nats-server ${url} in ${Date.now() - t0} ms; ${STEP_S} s per rate`);
  console.log('note: 2-core machine shared with other engineers (CPU figures are noisy); server, 1,000 clients and the publisher all run here');
  const report = (): Promise<{ latencies: number[]; received: number }> =>
    Promise.all(
      children.map(
        (c) =>
          new Promise<{ latencies: number[]; received: number }>((resolve) => {
            c.once('message', (m) => {
              resolve(m as { latencies: number[]; received: number });
            });
            c.send({ cmd: 'report' });
          }),
      ),
    ).then((rs) => ({ latencies: rs.flatMap((r) => r.latencies), received: rs.reduce((a, r) => a + r.received, 0) }));
  const hz = 100; // /proc stat ticks per second (CLK_TCK on Linux x86_64)
  let ip = 1;
  // Warm-up (not measured): 1,000 consumers issue their first pulls and the JIT settles.
  for (let i = 0; i < 50; i++) {
    const now = Date.now();
    void conn.publishStream(subjects.decision('fleet', `203.0.113.${i}`, 'bench'), new TextEncoder().encode(JSON.stringify({ v: 1, id: randomUUID(), kind: 'block', address: `203.0.113.${i}`, origin: 'bench', reason: 'warm-up', decidedAt: now, expiresAt: now + 60_000 })));
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
  for (const rate of RATES) {
    await report();
    const cpu0 = cpuTicks(server.pid!);
    const start = Date.now();
    let sent = 0;
    while (Date.now() - start < STEP_S * 1000) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      while (sent < due) {
        const addr = `198.51.${(ip >> 8) & 255}.${ip & 255}`;
        ip = (ip % 65_000) + 1;
        const now = Date.now();
        const d = { v: 1, id: randomUUID(), kind: 'block', address: addr, origin: 'bench', reason: 'bench', decidedAt: now, expiresAt: now + 3_600_000 };
        void conn.publishStream(subjects.decision('fleet', addr, 'bench'), new TextEncoder().encode(JSON.stringify(d))).catch(() => undefined);
        sent++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 2000)); // let stragglers arrive
    const cpu = ((cpuTicks(server.pid!) - cpu0) / hz / ((Date.now() - start) / 1000)) * 100;
    const r = await report();
    const sorted = r.latencies.sort((a, b) => a - b);
    const expected = sent * HOSTS;
    console.log(
      `rate ${String(rate).padStart(5)} decisions/s: sent ${sent}, delivered ${r.received}/${expected} (${((r.received / expected) * 100).toFixed(1)}%), latency p50 ${pct(sorted, 50)} ms p99 ${pct(sorted, 99)} ms max ${sorted[sorted.length - 1] ?? NaN} ms, nats-server CPU ${cpu.toFixed(0)}% of one core`,
    );
    if (pct(sorted, 99) > 1000 || r.received < expected * 0.99) {
      console.log(`p99 passes 1 s (or deliveries fall behind) at ${rate} decisions/s on this machine`);
      break;
    }
  }
  for (const c of children) c.send({ cmd: 'exit' });
  await conn.close();
} finally {
  cleanup();
}
