/**
 * A real Prometheus server in a monitor namespace scrapes the real daemon in the protected
 * namespace with the shipped rules file unchanged (only the prometheus.yml written here shortens
 * the scrape and evaluation intervals). An attack is blocked; Prometheus' HTTP API shows the
 * block counted and the shipped alert BulwarkCriticalAttackDetected pending or firing. The same
 * live daemon checks `promtool check metrics`, the Grafana dashboard (every query names only
 * metrics the daemon exports, and executes without error in this Prometheus) and `bulwark events`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { Registry } from 'prom-client';
import { dashboardQueries, metricNames, substituteGrafana } from '../unit/packaging/promql.js';
import { createFleetMetrics } from '../../src/fleet/metrics.js';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
const RULES = join(ROOT, 'packaging', 'prometheus', 'bulwark.rules.yml');
const DOCKER_PRIVILEGED = 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine","Cmd":["sh"],"HostConfig":{"Binds":["/:/host"],"Privileged":true}}';

let net: TestNet;
let attacker: Host;
let prot: Host;
let monitor: Host;
let daemon: DaemonHandle;
let promDir: string;
let prom: ReturnType<Host['spawn']>;
const promLog: string[] = [];

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; prometheus log:\n${promLog.slice(-20).join('')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET on Prometheus' HTTP API, from inside the monitor namespace. */
async function api<T>(path: string): Promise<T> {
  const r = await monitor.exec('curl', ['-s', '-S', '--max-time', '5', '-g', `http://127.0.0.1:9090${path}`]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { status: string; data: T; error?: string };
  assert.equal(j.status, 'success', `${path}: ${j.error ?? r.stdout}`);
  return j.data;
}

interface Vector {
  resultType: string;
  result: { metric: Record<string, string>; value: [number, string] }[];
}

const query = (q: string): Promise<Vector> => api<Vector>(`/api/v1/query?query=${encodeURIComponent(q)}`);

before(async () => {
  net = await createTestNet(['attacker', 'protected', 'monitor']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  monitor = net.host('monitor');
  daemon = await startDaemon(prot, {
    config: { protection: { enabled: true }, interfaces: ['eth0'] }, // local-only hosts are off by default
    // Metrics on the protected host's address, so the monitor namespace can scrape them.
    env: { BULWARK_METRICS_LISTEN: `${prot.ip4}:9747` },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
  promDir = mkdtempSync(join(tmpdir(), 'bulwark-prom-'));
  writeFileSync(
    join(promDir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${RULES}`,
      'scrape_configs:',
      '  - job_name: bulwark',
      '    static_configs:',
      `      - targets: ['${prot.ip4}:9747']`,
      '',
    ].join('\n'),
  );
  prom = monitor.spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout?.on('data', (d: Buffer) => promLog.push(d.toString()));
  prom.stderr?.on('data', (d: Buffer) => promLog.push(d.toString()));
  await waitFor('prometheus ready', async () => ((await monitor.exec('curl', ['-s', '--max-time', '2', 'http://127.0.0.1:9090/-/ready'])).code === 0 ? true : undefined));
});

after(async () => {
  prom.kill('SIGTERM');
  await daemon.destroy();
  await net.destroy();
  rmSync(promDir, { recursive: true, force: true });
});

test('Prometheus scrapes the daemon across namespaces and loads the shipped rules without evaluation errors', async () => {
  await waitFor('up{job="bulwark"} == 1', async () => ((await query('up{job="bulwark"}')).result[0]?.value[1] === '1' ? true : undefined));
  const groups = await waitFor('rule groups evaluated', async () => {
    const d = await api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string; type: string }[] }[] }>('/api/v1/rules');
    const rules = d.groups.flatMap((g) => g.rules);
    return rules.length > 0 && rules.every((r) => r.health === 'ok') ? d.groups : undefined;
  });
  assert.deepEqual(groups.map((g) => g.name).sort(), ['bulwark.alerts', 'bulwark.recording']);
  const shipped = [...readFileSync(RULES, 'utf8').matchAll(/- (?:alert|record): (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(groups.flatMap((g) => g.rules.map((r) => r.name)).sort(), shipped.sort());
  // The metrics the rules need are there before any attack (counters pre-set to 0).
  for (const m of ['bulwark_detections_total{kind="all",severity="critical"}', 'bulwark_blocklist_capacity', 'bulwark_database_release_timestamp_seconds{database="bulwark-core"}']) {
    await waitFor(m, async () => ((await query(m)).result.length > 0 ? true : undefined));
  }
});

test('an attack is blocked; Prometheus counts the block and the shipped critical-attack alert fires', async () => {
  const r = await attacker.exec(process.execPath, [CLIENT, JSON.stringify({ host: prot.ip4, port: 2375, payload: DOCKER_PRIVILEGED })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const blocks = await waitFor('the block counted in Prometheus', async () => {
    const v = await query('sum(bulwark_blocks_total{job="bulwark", source="detection"})');
    const n = Number(v.result[0]?.value[1] ?? '0');
    return n >= 1 ? n : undefined;
  });
  assert.equal(blocks, 1);
  const alert = await waitFor('BulwarkCriticalAttackDetected pending or firing', async () => {
    const d = await api<{ alerts: { labels: Record<string, string>; state: string; annotations: Record<string, string> }[] }>('/api/v1/alerts');
    return d.alerts.find((a) => a.labels.alertname === 'BulwarkCriticalAttackDetected' && (a.state === 'pending' || a.state === 'firing'));
  });
  assert.equal(alert.labels.instance, `${prot.ip4}:9747`);
  assert.equal(alert.labels.severity, 'critical');
  assert.match(alert.annotations.summary ?? '', new RegExp(`Critical-severity attack detected on ${prot.ip4.replace(/\./g, '\\.')}:9747`));
  // The bounded top-N view names the attacker.
  const top = await waitFor('top attacker series', async () => (await query(`bulwark_top_attacker_alerts{address="${attacker.ip4}"}`)).result[0]);
  assert.ok(Number(top.value[1]) >= 1);
  // The same attack through `bulwark events` (alert, then the unblock), JSON lines when not a terminal.
  // Detection blocks are reported by their alert (blocked_until); the unblock is a blocklist event.
  const un = await daemon.cli(['unblock', attacker.ip4]);
  assert.equal(un.code, 0, un.stderr);
  const lines = await waitFor('alert and unblock in bulwark events', async () => {
    const ev = await daemon.cli(['events', '--src', `${attacker.ip4}/32`]);
    assert.equal(ev.code, 0, ev.stderr);
    const l = ev.stdout.trim().split('\n').map((x) => JSON.parse(x) as { event_type: string; alert?: { signature_id: number } });
    return l.some((x) => x.event_type === 'alert' && x.alert?.signature_id === 9000071) && l.some((x) => x.event_type === 'blocklist') ? l : undefined;
  });
  assert.ok(lines.every((l) => l.event_type === 'alert' || l.event_type === 'blocklist'));
  const crit = await daemon.cli(['events', '--type', 'alert', '--severity', 'critical', '--sid', '9000071', '--json']);
  assert.equal(crit.stdout.trim().split('\n').length, 1, crit.stdout);
});

test('the live /metrics passes promtool check metrics', async () => {
  const r = await monitor.exec('sh', ['-c', `curl -s --max-time 5 http://${prot.ip4}:9747/metrics | promtool check metrics`]);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
});

test('every Grafana panel query names only metrics the daemon exports and runs in Prometheus without error', async () => {
  const exposed = (text: string): Set<string> => {
    const out = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [name, type] = [m[1]!, m[2]!];
      out.add(name);
      if (type === 'histogram') for (const x of ['_bucket', '_sum', '_count']) out.add(name + x);
      if (type === 'summary') for (const x of ['_sum', '_count']) out.add(name + x);
    }
    return out;
  };
  const exported = exposed((await monitor.exec('curl', ['-s', '--max-time', '5', `http://${prot.ip4}:9747/metrics`])).stdout);
  assert.ok(exported.size > 80, `only ${exported.size} metrics exported`);
  // This daemon runs without fleet, so it does not register the fleet metrics: take their names
  // from the registration the fleet component runs when fleet is configured.
  assert.ok(![...exported].some((n) => n.startsWith('bulwark_fleet_')));
  const fleetRegistry = new Registry();
  createFleetMetrics([fleetRegistry]);
  const fleet = exposed(await fleetRegistry.metrics());
  const dash = JSON.parse(readFileSync(join(ROOT, 'packaging', 'grafana', 'bulwark.json'), 'utf8')) as { panels: [] };
  const unknown: string[] = [];
  for (const q of dashboardQueries(dash)) {
    for (const n of metricNames(substituteGrafana(q.expr))) {
      if (n === 'up' || exported.has(n) || (q.row.startsWith('Fleet') && fleet.has(n))) continue;
      unknown.push(`${q.panel}: ${n}`);
    }
    const res = await api<{ resultType: string }>(`/api/v1/query?query=${encodeURIComponent(substituteGrafana(q.expr))}`);
    assert.ok(['vector', 'scalar', 'matrix'].includes(res.resultType), q.panel);
  }
  assert.deepEqual(unknown, [], 'dashboard queries name metrics bulwark does not export');
});
