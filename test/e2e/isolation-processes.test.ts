/**
 * Process exclusions, the daemon's own flows and conntrack severing, end to end: the real daemon
 * in the "protected" namespace (198.51.100.11), a peer at .10. cgroup v2 is mounted by this test
 * on a temp dir (inside `ip netns exec` /sys is remounted and shows no cgroup hierarchy) and handed
 * to the daemon with BULWARK_CGROUP2_MOUNT; every cgroup the test creates lives below it and is
 * removed in teardown, with the mount.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, run, type Host, type TestNet } from './netns.js';
import { startDaemon, type DaemonHandle } from './daemon.js';
import { PROBE, eventually, execIn, probe, sleep, spawnProbe, startServer, type Proc } from '../fixtures/isolation/helpers.js';

let net: TestNet;
let tmp: string;
let mount: string;
let P: Host, C: Host;
let d: DaemonHandle | undefined;
const daemon = (): DaemonHandle => {
  if (!d) throw new Error('daemon not started');
  return d;
};
const tag = `bwt${process.pid.toString(36)}`;
const unit = `${tag}.service`;
const unitCg = `/system.slice/${unit}`;
const testCg = `/${tag}`;
let createdSystemSlice = false;

const abs = (cg: string): string => join(mount, cg);
const cgId = (cg: string): number => statSync(abs(cg)).ino;

/** Starts `argv` inside the namespace, first moving the shell into cgroup `cg` (so every socket it opens belongs there). */
function spawnIn(h: Host, cg: string, argv: string[]): Proc {
  const script = `echo $$ > '${join(abs(cg), 'cgroup.procs')}' && exec "$@"`;
  return rawProc(h, ['sh', '-c', script, 'sh', ...argv]);
}

/** Like spawnProbe, for any command: JSON lines on stdout are collected. */
function rawProc(h: Host, argv: string[]): Proc {
  const child = h.spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (x: string) => lines.push({ stderr: x }));
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (x: string) => {
    buf += x;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  return {
    child,
    lines,
    async waitFor(pred, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`${argv.join(' ')}: no matching line in ${timeoutMs} ms; got ${JSON.stringify(lines)}`);
        await sleep(50);
      }
    },
  };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await gone;
}

/** A TCP connect from `h` as the given process (argv prefix), bounded: true when the handshake completes. */
async function bashConnect(h: Host, prefix: string[], to: string, port: number): Promise<boolean> {
  const r = await execIn(h, 'timeout', ['2', ...prefix, '-c', `exec 3<>/dev/tcp/${to}/${port}`], 5000);
  return r.code === 0;
}

const tcpOk = async (from: Host, to: string, port: number): Promise<boolean> => (await probe(from, ['connect', 'tcp', to, String(port), '1500'])).ok === true;

async function cliJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await daemon().cli(['--json', ...args]);
  assert.equal(r.code, 0, `bulwark ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

type ProcRow = { id: string; state: string; resolved: Record<string, unknown>[]; pids?: number[]; warning?: string };
async function procRows(): Promise<ProcRow[]> {
  return ((await cliJson(['isolation', 'status'])).processExclusions ?? []) as ProcRow[];
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bw-isoproc-'));
  mount = join(tmp, 'cgroup2');
  mkdirSync(mount);
  const m = await run('mount', ['-t', 'cgroup2', 'cgroup2', mount]);
  if (m.code !== 0) {
    // Not a skip: process exclusions need cgroup v2, and this machine must provide it.
    throw new Error(`cgroup v2 cannot be mounted on this machine (mount -t cgroup2: ${m.stderr.trim()}); process exclusions need a cgroup v2 hierarchy`);
  }
  createdSystemSlice = !existsSync(abs('/system.slice'));
  mkdirSync(abs(unitCg), { recursive: true });
  mkdirSync(abs(testCg));
  net = await createTestNet(['peer', 'protected']);
  [C, P] = [net.host('peer'), net.host('protected')];
  const resolv = join(tmp, 'resolv.conf');
  writeFileSync(resolv, `nameserver ${C.ip4}\n`);
  await Promise.all([startServer(C, ['server', 'tcp', '8080']), startServer(C, ['server', 'tcp', '4222']), startServer(P, ['server', 'tcp', '7002'])]);
  d = await startDaemon(P, {
    // No interception listeners: the test services use ports the signature databases name (7001 is WebLogic).
    config: { isolation: { duration: '1h' }, intercept: { listen: false } },
    env: { BULWARK_CGROUP2_MOUNT: mount, BULWARK_METRICS_LISTEN: '0.0.0.0:9747', BULWARK_ISOLATION_RESOLV_CONF: resolv },
  });
});

after(async () => {
  await d?.destroy().catch(() => undefined);
  await (net as TestNet | undefined)?.destroy();
  // Leaf first; a cgroup is removable once its processes are gone (they were in the namespaces).
  const dirs = [join(testCg, 'bulwark-excluded'), unitCg, testCg, ...(createdSystemSlice ? ['/system.slice'] : [])];
  for (const name of existsSync(mount) ? readdirSync(mount) : []) if (name.startsWith('bulwark-daemon-')) dirs.push(`/${name}`);
  for (const cg of dirs) {
    for (let i = 0; i < 20 && existsSync(abs(cg)); i++) {
      try {
        rmdirSync(abs(cg));
      } catch {
        await sleep(100);
      }
    }
  }
  await run('umount', [mount]);
  rmSync(tmp, { recursive: true, force: true });
});

test("cgroup v2 is visible to the daemon and it runs in a cgroup of its own", async () => {
  const st = await cliJson(['isolation', 'status']);
  assert.equal(st.isolated, false);
  const logs = daemon().logs().join('\n');
  assert.match(logs, /the daemon's own flows are exempt from isolation by its cgroup/, 'agent cgroup entered');
  assert.ok(!/no cgroup v2 hierarchy is visible/.test(logs), 'the daemon sees the cgroup2 mount');
});

test('unit exclusion: its service keeps serving and connecting across a restart (new cgroup id); other traffic is dropped', async () => {
  const add = await daemon().cli(['isolation', 'exclusions', 'add', '--direction', 'both', '--unit', unit, '--description', 'simulated unit']);
  assert.equal(add.code, 0, add.stderr);
  let server = spawnIn(P, unitCg, [process.execPath, PROBE, 'server', 'tcp', '7001']);
  await server.waitFor((l) => l.listening !== undefined);
  const idBefore = cgId(unitCg);

  assert.equal((await daemon().cli(['isolation', 'on', '--for', '10m'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 7001), true, 'inbound to the excluded unit flows');
  assert.equal(await tcpOk(C, P.ip4, 7002), false, 'inbound to another service is dropped');
  assert.equal(await bashConnect(P, ['sh', '-c', `echo $$ > '${join(abs(unitCg), 'cgroup.procs')}' && exec bash "$@"`, 'sh'], C.ip4, 8080), true, 'outbound from the unit flows');
  assert.equal(await bashConnect(P, ['bash'], C.ip4, 8080), false, 'outbound from another process is dropped');
  let rows = await procRows();
  const row = rows.find((r) => r.id === 'device/1');
  assert.equal(row?.state, 'resolved', JSON.stringify(rows));
  assert.deepEqual(row.resolved, [{ cgroup: unitCg, cgroupId: idBefore, level: 2 }]);
  const human = await daemon().cli(['isolation', 'status']);
  assert.match(human.stdout, new RegExp(`device/1 +both +unit ${unit.replace('.', '\\.')} +resolved +cgroup ${unitCg.replace('.', '\\.')} \\(id ${idBefore}\\)`));

  // "systemctl restart": the process exits, the cgroup goes away and comes back with a new id.
  await stopProc(server);
  await eventually(() => {
    try {
      rmdirSync(abs(unitCg));
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }, 3000, 50);
  await eventually(async () => (await procRows()).find((r) => r.id === 'device/1')?.state === 'missing', 5000, 200);
  rows = await procRows();
  assert.match(rows.find((r) => r.id === 'device/1')?.warning ?? '', /does not exist .*left out until it appears/);
  mkdirSync(abs(unitCg));
  const idAfter = cgId(unitCg);
  assert.notEqual(idAfter, idBefore, 'the recreated cgroup has a new id');
  server = spawnIn(P, unitCg, [process.execPath, PROBE, 'server', 'tcp', '7001']);
  await server.waitFor((l) => l.listening !== undefined);
  const t0 = Date.now();
  const back = await eventually(() => tcpOk(C, P.ip4, 7001), 5000, 100);
  const took = Date.now() - t0;
  assert.equal(back, true, 'the restarted unit is reachable again');
  console.log(`# re-resolution after the unit restart: traffic flowed again ${took} ms after the new process listened (rescan 1 s)`);
  assert.ok(took < 5000);
  assert.deepEqual((await procRows()).find((r) => r.id === 'device/1')?.resolved, [{ cgroup: unitCg, cgroupId: idAfter, level: 2 }]);
  assert.equal(await tcpOk(C, P.ip4, 7002), false, 'other traffic still dropped');
  const metrics = (await daemon().http('/metrics')).body;
  assert.match(metrics, /^bulwark_isolation_process_reresolved_total [1-9]/m);
  assert.match(metrics, /^bulwark_isolation_process_exclusions\{state="resolved"\} 1$/m);
  assert.equal((await daemon().cli(['isolation', 'off'])).code, 0);
  await stopProc(server);
  assert.equal((await daemon().cli(['isolation', 'exclusions', 'remove', '1'])).code, 0);
});

test('user exclusion: connections opened by that uid flow, the same connection as another uid is dropped', async () => {
  const bad = await daemon().cli(['isolation', 'exclusions', 'add', '--direction', 'both', '--user', '4321']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /user exclusions are outbound only/);
  assert.equal((await daemon().cli(['isolation', 'exclusions', 'add', '--direction', 'outbound', '--user', '4321'])).code, 0);
  assert.equal((await daemon().cli(['isolation', 'on', '--for', '10m'])).code, 0);
  const as = (uid: number): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'bash'];
  assert.equal(await bashConnect(P, as(4321), C.ip4, 8080), true, 'uid 4321 connects');
  assert.equal(await bashConnect(P, as(4322), C.ip4, 8080), false, 'uid 4322 is cut off');
  assert.equal(await bashConnect(P, ['bash'], C.ip4, 8080), false, 'root is cut off');
  const row = (await procRows()).find((r) => r.state === 'resolved');
  assert.deepEqual(row?.resolved, [{ uid: 4321 }]);
  assert.equal((await daemon().cli(['isolation', 'off'])).code, 0);
  const list = (await cliJson(['isolation', 'exclusions'])).device as { id: number }[];
  for (const e of list) assert.equal((await daemon().cli(['isolation', 'exclusions', 'remove', String(e.id)])).code, 0);
});

test('executable exclusion: the excluded program is placed in a bulwark cgroup and connects; a copy under another name does not', async () => {
  const excl = join(tmp, 'bwexcl-sh');
  const other = join(tmp, 'bwother-sh');
  copyFileSync('/usr/bin/bash', excl);
  copyFileSync('/usr/bin/bash', other);
  // Each loop tries a connection every 300 ms from a subshell (a fork: it inherits the cgroup its parent is in).
  const loop = `for i in $(seq 1 40); do if ( exec 3<>/dev/tcp/${C.ip4}/8080 ) 2>/dev/null; then echo '{"ok":true}'; else echo '{"ok":false}'; fi; sleep 0.3; done`;
  assert.equal((await daemon().cli(['isolation', 'exclusions', 'add', '--direction', 'both', '--executable', excl])).code, 0);
  assert.equal((await daemon().cli(['isolation', 'on', '--for', '10m'])).code, 0);
  const t0 = Date.now();
  // TCP connect of a dropped SYN would hang: the subshells are bounded by the kernel's SYN retries, so bound each with timeout.
  const boundedLoop = loop.replace('( exec 3<>', 'timeout 1 "$0" -c "exec 3<>').replace(' ) 2>/dev/null', '" 2>/dev/null');
  const a = spawnIn(P, testCg, [excl, '-c', boundedLoop]);
  const b = spawnIn(P, testCg, [other, '-c', boundedLoop]);
  await a.waitFor((l) => l.ok === true, 8000);
  console.log(`# executable exclusion: first connection through ${Date.now() - t0} ms after the program started (rescan 1 s; earlier attempts were dropped)`);
  await sleep(1500);
  assert.ok(b.lines.length >= 1 && b.lines.every((l) => l.ok === false), `the other program stays cut off: ${JSON.stringify(b.lines)}`);
  const lastA = a.lines.slice(-3);
  assert.ok(lastA.length === 3 && lastA.every((l) => l.ok === true), `once placed, every attempt of the excluded program flows: ${JSON.stringify(a.lines)}`);
  const row = (await procRows()).find((r) => r.pids !== undefined);
  assert.equal(row?.state, 'resolved');
  assert.ok(row.pids?.includes(a.child.pid ?? -1) || row.pids?.length, JSON.stringify(row));
  assert.deepEqual(row.resolved.map((r) => r.cgroup), [`${testCg}/bulwark-excluded`]);
  assert.ok(existsSync(abs(`${testCg}/bulwark-excluded`)));
  assert.equal((await daemon().cli(['isolation', 'off'])).code, 0);
  // Released: the processes are back in the test cgroup and the bulwark cgroup is gone.
  assert.equal(existsSync(abs(`${testCg}/bulwark-excluded`)), false, 'bulwark-excluded removed when isolation ends');
  await Promise.all([stopProc(a), stopProc(b)]);
  const list = (await cliJson(['isolation', 'exclusions'])).device as { id: number }[];
  for (const e of list) assert.equal((await daemon().cli(['isolation', 'exclusions', 'remove', String(e.id)])).code, 0);
});

test("the daemon's own connections survive isolation as plain root; another root process's are cut", async () => {
  // A scrape connection to the daemon (metrics on 0.0.0.0:9747) held open across isolation…
  const scrape = spawnProbe(C, ['http-keepalive', P.ip4, '9747', '/metrics', '40']);
  await scrape.waitFor((l) => l.ok === true);
  // …and a connection of another root process.
  const held = spawnProbe(C, ['hold', 'tcp', P.ip4, '7002']);
  await held.waitFor((l) => l.connected === true);
  const on = await cliJson(['isolation', 'on', '--for', '10m']);
  const agent = on.agent as { match: string; cgroup: string; cgroupId: number };
  assert.equal(agent.match, 'cgroup', JSON.stringify(on.agent));
  assert.match(agent.cgroup, /\/bulwark-daemon-[0-9]+$/);
  assert.equal(agent.cgroupId, cgId(agent.cgroup));
  const cut = await held.waitFor((l) => l.closed === true && l.error !== undefined, 5000);
  assert.equal(cut.error, 'ECONNRESET', "the other root process's connection is cut");
  const n = scrape.lines.length;
  await sleep(1500);
  const after = scrape.lines.slice(n);
  assert.ok(after.length >= 3 && after.every((l) => l.ok === true), `scrapes keep working during isolation: ${JSON.stringify(after)}`);
  const ports = new Set(scrape.lines.filter((l) => l.ok === true).map((l) => l.localPort));
  assert.equal(ports.size, 1, 'on the same connection opened before isolation');
  assert.equal(await tcpOk(C, P.ip4, 7002), false, 'new connections to other root services are dropped');
  // Outbound from the daemon's cgroup (where its fleet/update connections come from) to a NATS stand-in.
  assert.equal(await bashConnect(P, ['sh', '-c', `echo $$ > '${join(abs(agent.cgroup), 'cgroup.procs')}' && exec bash "$@"`, 'sh'], C.ip4, 4222), true, "the daemon's cgroup reaches the NATS stand-in");
  assert.equal(await bashConnect(P, ['bash'], C.ip4, 4222), false, 'another root process does not');
  assert.match((await daemon().http('/metrics')).body, /^bulwark_isolation_agent_cgroup 1$/m);
  assert.equal((await daemon().cli(['isolation', 'off'])).code, 0);
  await stopProc(scrape);
});

test('severing with 10,000 conntrack entries removes them all in one conntrack process; an excluded flow stays', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) lines.push(`-I -p udp -s ${C.ip4} -d ${P.ip4} --sport ${1024 + (i % 60_000)} --dport ${9000 + Math.floor(i / 60_000)} -t 600`);
  // Kept: DNS to the host's resolver (profile dns-client), and a loopback flow.
  lines.push(`-I -p udp -s ${P.ip4} -d ${C.ip4} --sport 40053 --dport 53 -t 600`, '-I -p udp -s 127.0.0.1 -d 127.0.0.1 --sport 40054 --dport 9999 -t 600');
  const file = join(tmp, 'ct-insert');
  writeFileSync(file, lines.join('\n') + '\n');
  const r = await P.exec('conntrack', ['-R', file], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const count = async (): Promise<number> => Number((await execIn(P, 'conntrack', ['-C'])).stdout.trim());
  assert.ok((await count()) >= 10_002, `entries created: ${await count()}`);
  const on = await cliJson(['isolation', 'on', '--for', '10m']);
  const sever = on.lastSever as { conntrack: number; conntrackProcesses: number; conntrackDeleteProcesses: number; strategy: string; conntrackMs: number; totalMs: number };
  console.log(
    `# severing with 10k conntrack entries: ${sever.conntrack} deleted by ${sever.conntrackDeleteProcesses} conntrack process (${sever.strategy}; ${sever.conntrackProcesses} conntrack processes in all, marks included) in ${sever.conntrackMs} ms; whole severing ${sever.totalMs} ms`,
  );
  assert.ok(sever.conntrack >= 10_000, JSON.stringify(sever));
  assert.equal(sever.strategy, 'mark');
  assert.equal(sever.conntrackDeleteProcesses, 1, 'every entry deleted by one conntrack process');
  assert.ok(sever.conntrackProcesses <= 5, 'a constant number of conntrack processes, not one per entry');
  const left = (await execIn(P, 'conntrack', ['-L', '-p', 'udp'])).stdout;
  assert.equal(left.split('\n').filter((l) => l.includes(`src=${C.ip4} dst=${P.ip4}`) && / dport=9\d\d\d /.test(l)).length, 0, 'no test entry left');
  assert.match(left, new RegExp(`src=${P.ip4.replace(/\./g, '\\.')} dst=${C.ip4.replace(/\./g, '\\.')} sport=40053 dport=53 .*mark=0 `), 'the excluded DNS flow is kept, its mark restored');
  assert.match(left, /src=127\.0\.0\.1 dst=127\.0\.0\.1 sport=40054 dport=9999 /, 'loopback kept');
  assert.ok((await count()) < 50, `conntrack -C after severing: ${await count()}`);
  assert.equal((await daemon().cli(['isolation', 'off'])).code, 0);
});
