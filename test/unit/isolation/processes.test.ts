import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/log/index.js';
import type { Nft, NftListOutput, NftProbeResult } from '../../../src/blocklist/types.js';
import { cgroupWithin, findCgroup2Mount, nftCgroupArg, parseProcCgroup, slicePath, type CgroupFs } from '../../../src/isolation/cgroup.js';
import { enterAgentCgroup, leaveAgentCgroup, onlyOwnProcesses } from '../../../src/isolation/agent-cgroup.js';
import { checkLimits, selectRules, validateExclusion, emptyDeviceFile, addDeviceExclusion, editDeviceExclusion } from '../../../src/isolation/exclusions.js';
import { ProcessEnforcer } from '../../../src/isolation/process-enforcer.js';
import { ProcessExclusions, spareKind, spareSetFrom, unitPathFrom, type ProcInfo, type ProcessHost } from '../../../src/isolation/processes.js';
import { buildProcScript, compileElements } from '../../../src/isolation/ruleset.js';
import { parseProfiles } from '../../../src/isolation/profiles.js';
import type { EffectiveRule } from '../../../src/isolation/types.js';
import type { ExclusionRule } from '../../../src/config/types.js';

/** An in-memory cgroup tree: path → { id, procs }. */
class FakeCgroups implements CgroupFs {
  mount: string | undefined = '/sys/fs/cgroup';
  next = 100;
  tree = new Map<string, { id: number; procs: number[] }>([['/', { id: 1, procs: [] }]]);
  failMove = new Set<number>();
  mk(path: string, procs: number[] = []): number {
    const id = this.next++;
    this.tree.set(path, { id, procs });
    return id;
  }
  id(p: string): Promise<number | undefined> {
    return Promise.resolve(this.tree.get(p)?.id);
  }
  procs(p: string): Promise<number[]> {
    return Promise.resolve([...(this.tree.get(p)?.procs ?? [])]);
  }
  create(p: string): Promise<void> {
    if (!this.tree.has(p)) this.mk(p);
    return Promise.resolve();
  }
  move(pid: number, p: string): Promise<void> {
    if (this.failMove.has(pid)) return Promise.reject(new Error('EBUSY'));
    for (const v of this.tree.values()) v.procs = v.procs.filter((x) => x !== pid);
    const t = this.tree.get(p);
    if (!t) return Promise.reject(new Error('ENOENT'));
    t.procs.push(pid);
    return Promise.resolve();
  }
  remove(p: string): Promise<void> {
    if ((this.tree.get(p)?.procs.length ?? 0) > 0) return Promise.reject(new Error('EBUSY'));
    this.tree.delete(p);
    return Promise.resolve();
  }
  children(p: string): Promise<string[]> {
    const pre = p === '/' ? '/' : `${p}/`;
    return Promise.resolve([...this.tree.keys()].filter((k) => k.startsWith(pre) && k !== p && !k.slice(pre.length).includes('/')).map((k) => k.slice(pre.length)));
  }
}

function host(cg: FakeCgroups, procs: ProcInfo[] = []): ProcessHost {
  return {
    cgroups: cg,
    unitCgroup: (u) => Promise.resolve({ path: unitPathFrom(u, undefined, 'system.slice') }),
    uid: (n) => Promise.resolve(n === 'backup' ? 34 : n === 'root' ? 0 : undefined),
    gid: (n) => Promise.resolve(n === 'ops' ? 2000 : undefined),
    // A fresh scan sees where each process is now.
    processes: () => Promise.resolve(procs.map((p): ProcInfo => {
        const now = [...cg.tree].find(([, v]) => v.procs.includes(p.pid))?.[0];
        return now === undefined ? p : { ...p, cgroup: now };
      })),
    processGid: () => Promise.resolve(undefined),
  };
}

const prule = (id: string, process: EffectiveRule['process'], direction: EffectiveRule['direction'] = 'both'): EffectiveRule => ({
  id,
  source: 'device',
  direction,
  protocol: 'any',
  remote: 'any',
  localPorts: 'any',
  remotePorts: 'any',
  description: '',
  ...(process ? { process } : {}),
});

test('cgroup helpers: mountinfo (pure v2, hybrid, none), /proc/PID/cgroup, slices, nft path, ancestry', () => {
  const pure = '29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
  const hybrid = '30 23 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n41 30 0:36 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n';
  const bind = '50 23 0:26 /system.slice /mnt/x rw - cgroup2 cgroup2 rw\n';
  assert.equal(findCgroup2Mount(pure), '/sys/fs/cgroup');
  assert.equal(findCgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(findCgroup2Mount(bind), undefined, 'a bind mount of a subtree would shift every path');
  assert.equal(findCgroup2Mount('33 23 0:5 / /sys rw - sysfs sysfs rw\n'), undefined);
  assert.equal(findCgroup2Mount('1 2 0:3 / /tmp/with\\040space rw - cgroup2 none rw\n'), '/tmp/with space');
  assert.equal(parseProcCgroup('12:pids:/x\n0::/system.slice/a.service\n'), '/system.slice/a.service');
  assert.equal(parseProcCgroup('12:pids:/x\n'), undefined);
  assert.equal(slicePath('system.slice'), '/system.slice');
  assert.equal(slicePath('user-1000.slice'), '/user.slice/user-1000.slice');
  assert.equal(slicePath('-.slice'), '/');
  assert.equal(unitPathFrom('a.service', '/system.slice/a.service', 'system.slice'), '/system.slice/a.service');
  assert.equal(unitPathFrom('a.service', '', 'app-web.slice'), '/app.slice/app-web.slice/a.service', 'stopped unit: from its slice');
  assert.equal(unitPathFrom('a.service', undefined, undefined), '/system.slice/a.service');
  assert.equal(nftCgroupArg('/sys/fs/cgroup', '/system.slice/a.service'), 'system.slice/a.service');
  assert.equal(nftCgroupArg('/sys/fs/cgroup/unified', '/x'), 'unified/x');
  assert.equal(nftCgroupArg('/tmp/cg', '/x'), '../../../tmp/cg/x');
  assert.equal(cgroupWithin('/a/b/c', '/a/b'), true);
  assert.equal(cgroupWithin('/a/bc', '/a/b'), false);
});

test('validation: one process selector, no address/port fields, users and groups outbound only; limits shared with address rules', () => {
  assert.deepEqual(validateExclusion({ direction: 'both', unit: 'nginx.service' }), { direction: 'both', protocol: 'any', localPorts: 'any', remotePorts: 'any', description: '', status: 'active', unit: 'nginx.service' });
  assert.equal(validateExclusion({ direction: 'inbound', cgroup: 'system.slice/app.service/' }).cgroup, '/system.slice/app.service');
  assert.throws(() => validateExclusion({ direction: 'both', unit: 'a.service', user: 'x' }), /give only one of/);
  assert.throws(() => validateExclusion({ direction: 'both', unit: 'a.service', remoteAddress: '198.51.100.1' }), /cannot be combined/);
  assert.throws(() => validateExclusion({ direction: 'both', unit: 'a.service', localPorts: '22' }), /cannot be combined/);
  assert.throws(() => validateExclusion({ direction: 'both', unit: 'nginx' }), /not a systemd unit name/);
  assert.throws(() => validateExclusion({ direction: 'both', cgroup: 'a/../b' }), /not a cgroup path/);
  assert.throws(() => validateExclusion({ direction: 'both', cgroup: 'a/"b' }), /quotes/);
  assert.throws(() => validateExclusion({ direction: 'inbound', user: 'backup' }), /outbound only/);
  assert.throws(() => validateExclusion({ direction: 'both', group: 'ops' }), /outbound only/);
  assert.throws(() => validateExclusion({ direction: 'both', executable: 'bin/x' }), /absolute path or a process name/);
  assert.equal(validateExclusion({ direction: 'outbound', executable: 'zabbix_agentd' }).executable, 'zabbix_agentd');
  // 50 inbound / 50 outbound over address and process rules together ('both' counts for both).
  let f = emptyDeviceFile();
  for (let i = 0; i < 25; i++) f = addDeviceExclusion(f, { direction: 'both', unit: `u${i}.service` }).file;
  for (let i = 0; i < 25; i++) f = addDeviceExclusion(f, { direction: 'both', remoteAddress: `203.0.113.${i + 1}`, localPorts: '22' }).file;
  assert.throws(() => addDeviceExclusion(f, { direction: 'outbound', user: 'backup' }), /at most 50 outbound/);
  assert.throws(() => addDeviceExclusion(f, { direction: 'inbound', cgroup: 'x' }), /at most 50 inbound/);
  checkLimits(f.exclusions, 'device');
  // Editing to another kind replaces the selector.
  const e = editDeviceExclusion(f, '1', { executable: '/usr/bin/x' }, parseProfiles('version: 1\nprofiles: {}\n'));
  assert.equal(e.edited.executable, '/usr/bin/x');
  assert.equal(e.edited.unit, undefined);
});

test('scopes: device process exclusions only for manual isolation, policy ones only for automatic; never compiled into address sets', () => {
  const db = parseProfiles('version: 1\nprofiles: {}\n');
  const device = addDeviceExclusion(emptyDeviceFile(), { direction: 'both', unit: 'dev.service' }).file;
  const policy: ExclusionRule[] = [validateExclusion({ direction: 'outbound', user: 'backup' })];
  const base = { profiles: [], db, host: { dnsServers: [], dhcpServers: [] }, device, policy, management: [] };
  const manual = selectRules({ ...base, mode: 'manual' });
  const auto = selectRules({ ...base, mode: 'automatic' });
  assert.deepEqual(manual.map((r) => [r.id, r.process]), [['device/1', { kind: 'unit', value: 'dev.service' }]]);
  assert.deepEqual(auto.map((r) => [r.id, r.process]), [['policy/1', { kind: 'user', value: 'backup' }]]);
  const el = compileElements([...manual, ...auto]);
  assert.deepEqual(Object.values(el).map((s) => s.texts.length), [0, 0, 0, 0], 'process rules add no address elements');
});

test('resolution: unit and cgroup to ids (stale id after a restart, missing cgroup left out), users, groups, root refused', async () => {
  const cg = new FakeCgroups();
  const id1 = cg.mk('/system.slice/app.service');
  const px = new ProcessExclusions(host(cg), 1);
  const rules = [
    prule('device/1', { kind: 'unit', value: 'app.service' }),
    prule('device/2', { kind: 'cgroup', value: '/batch' }, 'outbound'),
    prule('device/3', { kind: 'user', value: 'backup' }, 'outbound'),
    prule('device/4', { kind: 'group', value: 'ops' }, 'outbound'),
    prule('device/5', { kind: 'user', value: 'nobody-here' }, 'outbound'),
    prule('device/6', { kind: 'user', value: 'root' }, 'outbound'),
    prule('device/7', { kind: 'user', value: '0' }, 'outbound'),
  ];
  const r1 = await px.resolve(rules);
  assert.deepEqual(r1.rules[0]?.matches, [{ kind: 'cgroup', cgroup: { path: '/system.slice/app.service', id: id1, level: 2 } }]);
  assert.equal(r1.rules[1]?.state, 'missing');
  assert.match(r1.rules[1].warning ?? '', /does not exist .*left out until it appears/);
  assert.deepEqual(r1.rules[2]?.matches, [{ kind: 'uid', id: 34 }]);
  assert.deepEqual(r1.rules[3]?.matches, [{ kind: 'gid', id: 2000 }]);
  assert.match(r1.rules[4]?.warning ?? '', /unknown on this host/);
  assert.match(r1.rules[5]?.warning ?? '', /exempt every root process/);
  assert.equal(r1.rules[6]?.state, 'missing');
  assert.equal(r1.warnings.length, 4);
  // The unit restarts: same path, new id → a different key (the rules are reloaded).
  cg.tree.delete('/system.slice/app.service');
  const r2 = await px.resolve(rules);
  assert.equal(r2.rules[0]?.state, 'missing');
  const id2 = cg.mk('/system.slice/app.service');
  cg.mk('/batch');
  const r3 = await px.resolve(rules);
  assert.notEqual(id2, id1);
  assert.notEqual(r3.key, r1.key);
  assert.equal((r3.rules[0]?.matches[0] as { cgroup: { id: number } }).cgroup.id, id2);
  assert.equal(r3.rules[1]?.state, 'resolved');
  // No cgroup2 at all: cgroup kinds are left out with a clear warning, users still work.
  cg.mount = undefined;
  const r4 = await px.resolve(rules);
  assert.match(r4.rules[0]?.warning ?? '', /no cgroup v2 hierarchy is mounted/);
  assert.equal(r4.rules[2]?.state, 'resolved');
});

test('executables: matching processes move into bulwark-excluded below their own cgroup, by path or name; released afterwards', async () => {
  const cg = new FakeCgroups();
  cg.mk('/system.slice/agent.service', [10]);
  cg.mk('/user.slice/s1.scope', [11, 12, 13]);
  const procs: ProcInfo[] = [
    { pid: 10, comm: 'agentd', exe: '/opt/agent/agentd', cgroup: '/system.slice/agent.service' },
    { pid: 11, comm: 'agentd', exe: '/opt/agent/agentd (deleted)', cgroup: '/user.slice/s1.scope' },
    { pid: 12, comm: 'bash', exe: '/usr/bin/bash', cgroup: '/user.slice/s1.scope' },
    { pid: 13, comm: 'agentd', exe: '/tmp/agentd', cgroup: '/user.slice/s1.scope' },
    { pid: 1, comm: 'agentd', exe: '/opt/agent/agentd', cgroup: '/' },
  ];
  const px = new ProcessExclusions(host(cg, procs), 1);
  const r = await px.resolve([prule('device/1', { kind: 'executable', value: '/opt/agent/agentd' })]);
  assert.deepEqual(r.rules[0]?.pids, [10, 11], 'exact path (a replaced binary still matches), not the daemon itself');
  assert.deepEqual(r.rules[0].matches.map((m) => (m.kind === 'cgroup' ? m.cgroup.path : '')), ['/system.slice/agent.service/bulwark-excluded', '/user.slice/s1.scope/bulwark-excluded']);
  assert.deepEqual(cg.tree.get('/user.slice/s1.scope')?.procs, [12, 13], 'other processes stay where they were');
  assert.equal(px.moved, 2);
  const byName = await px.resolve([prule('device/2', { kind: 'executable', value: 'agentd' })]);
  assert.deepEqual(byName.rules[0]?.pids, [10, 11, 13], 'by name: process name or file name');
  assert.equal(px.moved, 3, 'already placed processes are not moved again');
  cg.failMove.add(12);
  const bash = await px.resolve([prule('device/3', { kind: 'executable', value: 'bash' })]);
  assert.deepEqual(bash.rules[0]?.unmoved, [12]);
  assert.match(bash.rules[0].warning ?? '', /could not be moved/);
  const none = await px.resolve([prule('device/4', { kind: 'executable', value: 'nothing' })]);
  assert.equal(none.rules[0]?.state, 'missing');
  assert.match(none.rules[0].warning ?? '', /no running process matches/);
  assert.deepEqual(await px.release(), []);
  assert.deepEqual(cg.tree.get('/user.slice/s1.scope')?.procs.sort(), [11, 12, 13]);
  assert.deepEqual(cg.tree.get('/system.slice/agent.service')?.procs, [10]);
  assert.ok(![...cg.tree.keys()].some((k) => k.endsWith('bulwark-excluded')), 'bulwark cgroups removed');
});

test('release: a child forked into bulwark-excluded while its parent is moved back is drained too, then the cgroup is removed', async () => {
  const cg = new FakeCgroups();
  cg.mk('/user.slice/s1.scope', [11]);
  const procs: ProcInfo[] = [{ pid: 11, comm: 'agentd', exe: '/opt/agent/agentd', cgroup: '/user.slice/s1.scope' }];
  const px = new ProcessExclusions(host(cg, procs), 1);
  await px.resolve([prule('device/1', { kind: 'executable', value: '/opt/agent/agentd' })]);
  const excluded = '/user.slice/s1.scope/bulwark-excluded';
  assert.deepEqual(cg.tree.get(excluded)?.procs, [11]);
  // The placed process forks as it is moved back: its child appears in the excluded cgroup after the procs listing.
  const move = cg.move.bind(cg);
  let forked = false;
  cg.move = async (pid, p) => {
    await move(pid, p);
    if (!forked && pid === 11) {
      forked = true;
      cg.tree.get(excluded)?.procs.push(99);
    }
  };
  assert.deepEqual(await px.release(), []);
  assert.equal(cg.tree.has(excluded), false, 'the cgroup is removed once drained');
  assert.deepEqual(cg.tree.get('/user.slice/s1.scope')?.procs.sort(), [11, 99]);
});

test('release: a cgroup that stays populated is reported after bounded retries and kept for the next release', async () => {
  const cg = new FakeCgroups();
  cg.mk('/user.slice/s1.scope', [11]);
  const procs: ProcInfo[] = [{ pid: 11, comm: 'agentd', exe: '/opt/agent/agentd', cgroup: '/user.slice/s1.scope' }];
  const px = new ProcessExclusions(host(cg, procs), 1);
  await px.resolve([prule('device/1', { kind: 'executable', value: '/opt/agent/agentd' })]);
  cg.failMove.add(11);
  const problems = await px.release();
  assert.equal(problems.length, 2, JSON.stringify(problems));
  assert.match(problems[0] ?? '', /moving 11 back/);
  assert.match(problems[1] ?? '', /removing .*bulwark-excluded: EBUSY/);
  cg.failMove.delete(11);
  assert.deepEqual(await px.release(), [], 'a later release retries it');
  assert.equal(cg.tree.has('/user.slice/s1.scope/bulwark-excluded'), false);
});

test('nft rules for process exclusions: directions, users, the daemon (reply-only inbound plus the metrics port)', () => {
  const c = (path: string, id: number) => ({ kind: 'cgroup' as const, cgroup: { path, id, level: path.split('/').length - 1 } });
  const { script, comments } = buildProcScript(
    '/sys/fs/cgroup/unified',
    [
      { ruleId: 'device/1', direction: 'both', selector: { kind: 'unit', value: 'a.service' }, matches: [c('/system.slice/a.service', 77)], state: 'resolved' },
      { ruleId: 'device/2', direction: 'outbound', selector: { kind: 'cgroup', value: '/b' }, matches: [c('/b', 78)], state: 'resolved' },
      { ruleId: 'device/3', direction: 'inbound', selector: { kind: 'cgroup', value: '/c' }, matches: [c('/c', 79)], state: 'resolved' },
      { ruleId: 'device/4', direction: 'outbound', selector: { kind: 'user', value: 'backup' }, matches: [{ kind: 'uid', id: 34 }], state: 'resolved' },
      { ruleId: 'device/5', direction: 'both', selector: { kind: 'cgroup', value: '/gone' }, matches: [], state: 'missing' },
    ],
    { cgroup: { path: '/bulwark-daemon-5', id: 90, level: 1 }, metricsPort: 9747 },
  );
  const lines = script.trim().split('\n');
  assert.deepEqual(lines.slice(0, 5), ['add table inet bulwark', 'add chain inet bulwark iso_pin', 'flush chain inet bulwark iso_pin', 'add chain inet bulwark iso_pout', 'flush chain inet bulwark iso_pout']);
  const rules = lines.slice(5);
  assert.deepEqual(rules, [
    'add rule inet bulwark iso_pout socket cgroupv2 level 1 "unified/bulwark-daemon-5" ct mark set 0x00004277 accept comment "agent cgroup 90"',
    'add rule inet bulwark iso_pin ct direction reply socket cgroupv2 level 1 "unified/bulwark-daemon-5" ct mark set 0x00004277 accept comment "agent cgroup 90"',
    'add rule inet bulwark iso_pin tcp dport 9747 socket cgroupv2 level 1 "unified/bulwark-daemon-5" ct mark set 0x00004277 accept comment "agent-metrics cgroup 90"',
    'add rule inet bulwark iso_pout socket cgroupv2 level 2 "unified/system.slice/a.service" ct mark set 0x00004278 accept comment "device/1 cgroup 77"',
    'add rule inet bulwark iso_pin socket cgroupv2 level 2 "unified/system.slice/a.service" ct mark set 0x00004278 accept comment "device/1 cgroup 77"',
    'add rule inet bulwark iso_pout ct direction original socket cgroupv2 level 1 "unified/b" ct mark set 0x00004278 accept comment "device/2 cgroup 78"',
    'add rule inet bulwark iso_pin ct direction original socket cgroupv2 level 1 "unified/c" ct mark set 0x00004278 accept comment "device/3 cgroup 79"',
    'add rule inet bulwark iso_pout meta skuid 34 ct mark set 0x00004278 accept comment "device/4 uid 34"',
  ]);
  assert.equal(comments.length, 8);
  assert.ok(!script.includes('/gone'), 'a missing cgroup is left out, never written (it would fail the batch)');
});

test('sparing sockets: excluded cgroups (not the root), uids, pids, gids; the daemon marked as agent', () => {
  const set = spareSetFrom(
    { key: '', warnings: [], rules: [{ ruleId: 'd/1', direction: 'both', selector: { kind: 'cgroup', value: '/a' }, matches: [{ kind: 'cgroup', cgroup: { path: '/a', id: 1, level: 1 } }, { kind: 'uid', id: 34 }, { kind: 'gid', id: 7 }], pids: [55], state: 'resolved' }] },
    { path: '/bulwark-daemon-9', id: 2, level: 1 },
  );
  set.pidGids = new Map([[66, 7]]);
  assert.equal(spareKind({ cgroup: '/a/b', uid: 0, pids: [] }, set), 'process');
  assert.equal(spareKind({ cgroup: '/bulwark-daemon-9', uid: 0, pids: [] }, set), 'agent');
  assert.equal(spareKind({ cgroup: '/ab', uid: 0, pids: [] }, set), undefined);
  assert.equal(spareKind({ uid: 34, pids: [] }, set), 'process');
  assert.equal(spareKind({ uid: 0, pids: [55] }, set), 'process');
  assert.equal(spareKind({ uid: 0, pids: [66] }, set), 'process');
  assert.equal(spareKind({ uid: 0, pids: [67] }, set), undefined);
  const rootOnly = spareSetFrom({ key: '', warnings: [], rules: [{ ruleId: 'd/1', direction: 'both', selector: { kind: 'executable', value: 'x' }, matches: [{ kind: 'cgroup', cgroup: { path: '/', id: 1, level: 0 } }], state: 'resolved' }] }, undefined);
  assert.equal(spareKind({ cgroup: '/anything', uid: 0, pids: [] }, rootOnly), undefined, 'the root cgroup never spares everything');
});

class ScriptNft implements Nft {
  scripts: string[] = [];
  failNext = 0;
  apply(): Promise<void> {
    return Promise.resolve();
  }
  applyText(s: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('Error: cgroupv2 path fails: No such file or directory'));
    }
    this.scripts.push(s);
    return Promise.resolve();
  }
  list(): Promise<NftListOutput> {
    return Promise.resolve({ nftables: [] });
  }
  probeText(): Promise<NftProbeResult> {
    return Promise.reject(new Error('not used by isolation'));
  }
}

test('enforcer: reloads only when the resolution changes; a load that fails (cgroup vanished meanwhile) is retried re-resolved', async () => {
  const cg = new FakeCgroups();
  cg.mk('/system.slice/app.service');
  const nft = new ScriptNft();
  const e = new ProcessEnforcer({ nft, log: silentLogger(), resolver: new ProcessExclusions(host(cg), 1), cgroupMount: '/sys/fs/cgroup', agent: undefined });
  const rules = [prule('device/1', { kind: 'unit', value: 'app.service' }), prule('device/2', { kind: 'user', value: 'backup' }, 'outbound')];
  await e.apply(rules);
  assert.equal(nft.scripts.length, 1);
  assert.equal(e.needsRescan, true);
  assert.equal(await e.refresh(), false, 'nothing changed: no reload');
  cg.tree.delete('/system.slice/app.service');
  const idNew = cg.mk('/system.slice/app.service');
  assert.equal(await e.refresh(), true, 'new cgroup id: reloaded');
  assert.ok(nft.scripts.at(-1)?.includes(`comment "device/1 cgroup ${idNew}"`));
  assert.deepEqual(e.expectedComments, [`iso_pin device/1 cgroup ${idNew}`, `iso_pout device/1 cgroup ${idNew}`, 'iso_pout device/2 uid 34']);
  // The cgroup vanishes between resolution and load: nft fails, re-resolved without it.
  nft.failNext = 1;
  cg.tree.delete('/system.slice/app.service');
  await e.apply(rules);
  assert.ok(!nft.scripts.at(-1)?.includes('socket cgroupv2'), 'loaded without the vanished cgroup');
  assert.ok(e.warnings.some((w) => /does not exist/.test(w)));
  const rep = e.report();
  assert.equal(rep.processExclusions[0]?.state, 'missing');
  assert.deepEqual(rep.processExclusions[1]?.resolved, [{ uid: 34 }]);
  await e.clear();
  assert.equal(e.needsRescan, false);
});

test("the daemon's cgroup: its own unit's cgroup when only it lives there, else a child it moves into; removed on stop", async () => {
  const parents = new Map<number, number>([[501, 500], [502, 501], [600, 1]]);
  const ppid = (p: number): Promise<number | undefined> => Promise.resolve(parents.get(p));
  assert.equal(await onlyOwnProcesses([500, 501, 502], 500, ppid), true);
  assert.equal(await onlyOwnProcesses([500, 600], 500, ppid), false);
  const own = (cg: string) => ({ cgroupOf: () => Promise.resolve(cg), ppid });
  // Started from a shell: the session scope is shared with other processes → a child cgroup of our own.
  const cg = new FakeCgroups();
  cg.mk('/user.slice/session-1.scope', [500, 600]);
  cg.mk('/user.slice/session-1.scope/bulwark-daemon-1'); // empty leftover of a crashed daemon
  const live = cg.mk('/user.slice/session-1.scope/bulwark-daemon-2', [700]); // another live daemon
  const got = await enterAgentCgroup(cg, silentLogger(), 500, own('/user.slice/session-1.scope'));
  assert.deepEqual(got, { path: '/user.slice/session-1.scope/bulwark-daemon-500', id: cg.tree.get('/user.slice/session-1.scope/bulwark-daemon-500')?.id, level: 3, created: true, origin: '/user.slice/session-1.scope' });
  assert.deepEqual(cg.tree.get('/user.slice/session-1.scope')?.procs, [600], 'only the daemon moved');
  assert.equal(cg.tree.has('/user.slice/session-1.scope/bulwark-daemon-1'), false, 'empty leftover removed');
  assert.equal(cg.tree.get('/user.slice/session-1.scope/bulwark-daemon-2')?.id, live, "another daemon's cgroup untouched");
  await leaveAgentCgroup(cg, silentLogger(), 500);
  assert.equal(cg.tree.has('/user.slice/session-1.scope/bulwark-daemon-500'), false, 'removed on a clean stop');
  assert.deepEqual(cg.tree.get('/user.slice/session-1.scope')?.procs, [600, 500]);
  // Its own unit (only the daemon and its children): used as it is.
  const unitId = cg.mk('/system.slice/bulwark.service', [500, 501]);
  const mine = await enterAgentCgroup(cg, silentLogger(), 500, own('/system.slice/bulwark.service'));
  assert.deepEqual(mine, { path: '/system.slice/bulwark.service', id: unitId, level: 2, created: false, origin: '/system.slice/bulwark.service' });
  // The root cgroup is never "its own".
  cg.tree.set('/', { id: 1, procs: [500] });
  assert.equal((await enterAgentCgroup(cg, silentLogger(), 500, own('/')))?.path, '/bulwark-daemon-500');
  cg.mount = undefined;
  assert.equal(await enterAgentCgroup(cg, silentLogger()), undefined, 'no cgroup2: none (uid/gid fallback), with a warning');
});
