import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { isBulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';
import { BlocklistService, type BlocklistServiceOptions } from '../../../src/blocklist/service.js';
import { saveState } from '../../../src/blocklist/state.js';
import type { BlockEntry, BlockResult } from '../../../src/blocklist/types.js';
import { FakeNft, ManualScheduler, settle } from './fakes.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const H = 3600_000;
const root = mkdtempSync(join(tmpdir(), 'bulwark-bl-svc-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

function setup(o: Partial<BlocklistServiceOptions> = {}) {
  const clock = new ManualClock(T0);
  const sched = new ManualScheduler(clock);
  const nft = new FakeNft();
  const registry = new Registry();
  const events: Record<string, unknown>[] = [];
  const stateDir = join(root, `s${++n}`);
  const svc = new BlocklistService({
    nft,
    clock,
    log: silentLogger(),
    registry,
    scheduler: sched,
    stateDir,
    mode: 'block',
    defaultDurationMs: H,
    maxBlocksPerMinute: 0,
    onEvent: (e) => events.push(e),
    ...o,
  });
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const v = (m?.values as { value: number; labels: Record<string, string | number> }[] | undefined)?.find((x) =>
      Object.entries(labels).every(([k, val]) => x.labels[k] === val),
    );
    return v?.value ?? 0;
  };
  return { clock, sched, nft, registry, svc, events, stateDir, metric };
}

const det = (extra: object = {}) => ({ reason: 'Intrusion.Test', source: 'detection' as const, signatureId: 7, ...extra });

test('start installs the table in one transaction; nothing else is touched', async () => {
  const { svc, nft } = setup();
  await svc.start();
  assert.equal(nft.batches.length, 1);
  assert.ok(nft.tableExists);
  assert.ok(!JSON.stringify(nft.batches[0]).includes('ruleset'));
  await svc.stop();
});

test('blocks are batched: one transaction per 5 ms window, deduplicated', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const before = nft.batches.length;
  const ps = [svc.block('198.51.100.7', det()), svc.block('198.51.100.8', det()), svc.block('198.51.100.7', det()), svc.block('2001:db8::7', det())];
  await sched.advance(3);
  assert.equal(nft.batches.length, before, 'nothing committed before the window closes');
  await sched.advance(3);
  const rs = await Promise.all(ps);
  assert.equal(nft.batches.length, before + 1, 'one transaction for all four');
  assert.deepEqual(rs.map((r) => r.status), ['blocked', 'blocked', 'extended', 'blocked']);
  assert.deepEqual(nft.added('blocked4'), [{ elem: { val: '198.51.100.7', timeout: 3600 } }, { elem: { val: '198.51.100.8', timeout: 3600 } }]);
  assert.deepEqual(nft.added('blocked6'), [{ elem: { val: '2001:db8::7', timeout: 3600 } }]);
  assert.equal(svc.list().length, 3);
  await svc.stop();
});

test('500 pending requests flush at once without waiting for the window', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const ps: Promise<BlockResult>[] = [];
  for (let i = 0; i < 500; i++) ps.push(svc.block(`203.0.113.${i % 250}`, det({ durationMs: H + (i >= 250 ? 1000 : 0) })));
  await sched.advance(0);
  const rs = await Promise.all(ps);
  assert.equal(nft.batches.length, 2);
  assert.equal(rs.filter((r) => r.status === 'blocked').length, 250);
  assert.equal(rs.filter((r) => r.status === 'extended').length, 250);
  assert.equal(nft.added('blocked4').length, 250, 'duplicates in one batch become one element');
  await svc.stop();
});

test('re-blocking extends to max(old expiry, now + duration) with a replace in the kernel', async () => {
  const { svc, nft, sched, clock } = setup();
  await svc.start();
  const p1 = svc.block('198.51.100.7', det({ durationMs: 10 * 60_000 }));
  await sched.advance(100);
  const r1 = await p1;
  assert.equal(r1.status, 'blocked');
  clock.advance(5 * 60_000);
  const p2 = svc.block('198.51.100.7', det({ durationMs: 60 * 60_000 }));
  await sched.advance(5);
  const r2 = await p2;
  assert.equal(r2.status, 'extended');
  assert.equal(r2.entry.expiresAtMs, clock.now() + H, 'counted from the commit of the batch');
  const last = nft.batches.at(-1)!;
  assert.deepEqual(last.map((c) => Object.keys(c)[0]), ['add', 'delete', 'add']);
  const batches = nft.batches.length;
  const p3 = svc.block('198.51.100.7', det({ durationMs: 60_000 }));
  await sched.advance(100);
  const r3 = await p3;
  assert.equal(r3.status, 'extended');
  assert.equal(r3.entry.expiresAtMs, r2.entry.expiresAtMs, 'not shortened');
  assert.equal(nft.batches.length, batches, 'no transaction when nothing changes');
  await svc.stop();
});

test('CIDRs go to blockednet4 beside the hosts; a host inside a CIDR is covered only while the CIDR lasts as long', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const p = [svc.block('198.51.100.7', det()), svc.block('198.51.100.9', det())];
  await sched.advance(100);
  await Promise.all(p);
  const pc = svc.block('198.51.100.0/24', { reason: 'operator', source: 'cli', durationMs: 2 * H });
  await sched.advance(100);
  const rc = await pc;
  assert.equal(rc.status, 'blocked');
  const last = nft.batches.at(-1)!;
  assert.deepEqual(last, [{ add: { element: { family: 'inet', table: 'bulwark', name: 'blockednet4', elem: [{ elem: { val: { prefix: { addr: '198.51.100.0', len: 24 } }, timeout: 7200 } }] } } }], 'the hosts stay in blocked4');
  const ph = svc.block('198.51.100.200', det());
  await sched.advance(100);
  const rh = await ph;
  assert.equal(rh.status, 'covered');
  assert.equal(rh.entry.address, '198.51.100.0/24');
  const pl = svc.block('198.51.100.201', det({ durationMs: 3 * H }));
  await sched.advance(100);
  assert.equal((await pl).status, 'blocked', 'outlasts the CIDR: blocked on its own');
  assert.deepEqual(svc.list().map((e) => e.address), ['198.51.100.7', '198.51.100.9', '198.51.100.0/24', '198.51.100.201']);
  assert.deepEqual(nft.elements('blocked4').sort(), ['0.0.0.1', '198.51.100.201', '198.51.100.7', '198.51.100.9']);
  await svc.stop();
});

test('a failing transaction is retried with backoff, and succeeds without duplicating work', async () => {
  const { svc, nft, sched, metric } = setup();
  await svc.start();
  nft.failNext = 2;
  const p = svc.block('198.51.100.7', det());
  await sched.advance(100);
  await sched.advance(100);
  await sched.advance(400);
  const r = await p;
  assert.equal(r.status, 'blocked');
  assert.equal(await metric('bulwark_nft_errors_total', { op: 'batch' }), 2);
  assert.equal(nft.added('blocked4').length, 1);
  await svc.stop();
});

test('a transaction failing every attempt rejects the callers and rolls the model back', async () => {
  const { svc, nft, sched, metric } = setup();
  await svc.start();
  const p0 = svc.block('198.51.100.1', det());
  await sched.advance(100);
  await p0;
  nft.failAlways = true;
  const p = svc.block('198.51.100.7', det());
  const pu = svc.unblock(['198.51.100.1'], 'cli');
  const settled = Promise.allSettled([p, pu]);
  await sched.advance(100 + 100 + 400 + 1600 + 100);
  const [r, ru] = await settled;
  assert.equal(r.status, 'rejected');
  assert.ok(isBulwarkError(r.reason, 'BULWARK_ERR_NFT'));
  assert.equal(ru.status, 'rejected');
  assert.equal(await metric('bulwark_nft_errors_total', { op: 'batch' }), 4);
  assert.deepEqual(svc.list().map((e) => e.address), ['198.51.100.1'], 'model equals the kernel again');
  nft.failAlways = false;
  await svc.stop();
});

test('never-block addresses are refused; alert mode refuses detections but not the CLI; dry-run changes nothing', async () => {
  const { svc, nft, sched, metric } = setup();
  await svc.start();
  svc.neverBlock.set('management', ['203.0.113.10']);
  assert.deepEqual(await svc.block('127.0.0.1', det()), { status: 'refused', reason: 'never-block', address: '127.0.0.1' });
  assert.equal((await svc.block('203.0.113.0/24', det())).status, 'refused');
  assert.equal(svc.isNeverBlocked('203.0.113.10'), true);
  assert.equal(await metric('bulwark_blocks_refused_total', { reason: 'never-block' }), 2);
  svc.setMode('alert');
  assert.deepEqual(await svc.block('198.51.100.7', det()), { status: 'refused', reason: 'alert-mode', address: '198.51.100.7' });
  const pc = svc.block('198.51.100.8', { reason: 'operator', source: 'cli' });
  await sched.advance(100);
  assert.equal((await pc).status, 'blocked');
  svc.setMode('dry-run');
  const batches = nft.batches.length;
  assert.deepEqual(await svc.block('198.51.100.9', { reason: 'operator', source: 'cli' }), { status: 'refused', reason: 'dry-run', address: '198.51.100.9' });
  await sched.advance(200);
  assert.equal(nft.batches.length, batches);
  await svc.stop();
});

test('invalid address or duration is an INVALID_ARGUMENT error', async () => {
  const { svc } = setup();
  await svc.start();
  await assert.rejects(svc.block('198.51.100.300', det()), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  await assert.rejects(svc.block('198.51.100.7', det({ durationMs: 0 })), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  await assert.rejects(svc.unblock(['nope'], 'cli'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  await svc.stop();
});

test('rate limit caps new detection blocks per minute; extensions and CLI blocks are not capped', async () => {
  const { svc, sched } = setup({ maxBlocksPerMinute: 2 });
  await svc.start();
  const a = [svc.block('198.51.100.1', det()), svc.block('198.51.100.2', det())];
  assert.deepEqual(await svc.block('198.51.100.3', det()), { status: 'refused', reason: 'rate-limit', address: '198.51.100.3' });
  const c = svc.block('198.51.100.4', { reason: 'op', source: 'cli' });
  await sched.advance(100);
  await Promise.all([...a, c]);
  const ext = svc.block('198.51.100.1', det());
  await sched.advance(100);
  assert.equal((await ext).status, 'extended');
  await sched.advance(60_000);
  const later = svc.block('198.51.100.3', det());
  await sched.advance(100);
  assert.equal((await later).status, 'blocked');
  await svc.stop();
});

test('expiry: the model learns of it at the earliest expiry, emits an event, counts, no nft call', async () => {
  const { svc, nft, sched, events, metric } = setup();
  await svc.start();
  const p = [svc.block('198.51.100.1', det({ durationMs: 3000 })), svc.block('198.51.100.2', det({ durationMs: 10_000 }))];
  await sched.advance(100);
  await Promise.all(p);
  assert.equal(await metric('bulwark_blocked_hosts', { family: 'ipv4' }), 2);
  const batches = nft.batches.length;
  await sched.advance(3000);
  assert.deepEqual(svc.list().map((e) => e.address), ['198.51.100.2']);
  const ev = events.filter((e) => (e.bulwark as { event: string }).event === 'host unblocked');
  assert.equal(ev.length, 1);
  assert.equal((ev[0]!.bulwark as { unblock_reason: string }).unblock_reason, 'expired');
  assert.equal(await metric('bulwark_unblocks_total', { reason: 'expired' }), 1);
  assert.equal(await metric('bulwark_blocked_hosts', { family: 'ipv4' }), 1);
  assert.equal(nft.batches.length, batches, 'the kernel expires elements itself');
  await sched.advance(7000);
  assert.equal(svc.list().length, 0);
  await svc.stop();
});

test('re-blocking an address the model just expired uses a replace (the kernel may still hold it)', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const p = svc.block('198.51.100.1', det({ durationMs: 2000 }));
  await sched.advance(100);
  await p;
  await sched.advance(2000);
  assert.equal(svc.list().length, 0);
  const p2 = svc.block('198.51.100.1', det());
  await sched.advance(100);
  assert.equal((await p2).status, 'blocked');
  assert.deepEqual(nft.batches.at(-1)!.map((c) => Object.keys(c)[0]), ['add', 'delete', 'add']);
  await svc.stop();
});

test('unblock removes listed entries, reports the others; unblock all flushes both sets', async () => {
  const { svc, nft, sched, metric } = setup();
  await svc.start();
  const p = [svc.block('198.51.100.1', det()), svc.block('198.51.100.2', det()), svc.block('2001:db8::1', det())];
  await sched.advance(100);
  await Promise.all(p);
  const pu = svc.unblockDetailed(['198.51.100.1', '198.51.100.77'], 'cli');
  await sched.advance(0);
  const r = await pu;
  assert.deepEqual(r.removed.map((e) => e.address), ['198.51.100.1']);
  assert.deepEqual(r.notBlocked, ['198.51.100.77']);
  assert.deepEqual(nft.batches.at(-1)!.map((c) => Object.keys(c)[0]), ['delete']);
  const pa = svc.unblock('all', 'cli');
  await sched.advance(0);
  assert.equal((await pa).length, 2);
  assert.ok(JSON.stringify(nft.batches.at(-1)).includes('"flush":{"set":{"family":"inet","table":"bulwark","name":"blocked4"}}'));
  assert.equal(svc.list().length, 0);
  assert.equal(await metric('bulwark_unblocks_total', { reason: 'cli' }), 3);
  await svc.stop();
});

test('unblocking an element deleted behind our back: the transaction is rebuilt against the kernel', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const p = [svc.block('198.51.100.1', det()), svc.block('198.51.100.2', det())];
  await sched.advance(100);
  await Promise.all(p);
  nft.setElements('blocked4', ['0.0.0.1', { elem: { val: '198.51.100.2', timeout: 3600, expires: 3500 } }]);
  const pu = svc.unblockDetailed(['198.51.100.1', '198.51.100.2'], 'cli');
  await sched.advance(0);
  await sched.advance(100);
  const r = await pu;
  assert.equal(r.removed.length, 2, 'both gone from the model');
  assert.equal(JSON.stringify(nft.batches.at(-1)), JSON.stringify([{ delete: { element: { family: 'inet', table: 'bulwark', name: 'blocked4', elem: ['198.51.100.2'] } } }]));
  assert.equal(svc.list().length, 0);
  await svc.stop();
});

test('kernel check: cheap (terse ruleset, one probe, four small sets), never lists the big sets', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  const p = svc.block('198.51.100.7', det());
  await sched.advance(100);
  await p;
  nft.lists = [];
  nft.probes = [];
  const batches = nft.batches.length;
  await sched.advance(3000);
  assert.deepEqual(nft.lists, [['ruleset'], ['set', 'inet', 'bulwark', 'allow4'], ['set', 'inet', 'bulwark', 'allow6'], ['set', 'inet', 'bulwark', 'blockednet4'], ['set', 'inet', 'bulwark', 'blockednet6']]);
  assert.equal(nft.probes.length, 1);
  assert.equal(nft.batches.length, batches, 'nothing to repair');
  await svc.stop();
});

test('kernel check: a vanished table is re-created with its blocks and counted', async () => {
  const { svc, nft, sched, metric } = setup();
  let restoredHook = 0;
  svc.onRulesetRestored(() => {
    restoredHook++;
  });
  await svc.start();
  const p = svc.block('198.51.100.7', det());
  await sched.advance(100);
  await p;
  nft.tableExists = false;
  await sched.advance(3000);
  assert.deepEqual(nft.elements('blocked4').sort(), ['0.0.0.1', '198.51.100.7']);
  assert.equal(await metric('bulwark_ruleset_restored_total'), 1);
  assert.equal(await metric('bulwark_blocklist_repairs_total', { what: 'table' }), 1);
  assert.equal(restoredHook, 1);
  await svc.stop();
});

test('kernel check: partial tampering is repaired — flushed sets, a flushed chain, a deleted CIDR, a flushed allow set', async () => {
  const { svc, nft, sched, metric } = setup();
  await svc.start();
  const p = [svc.block('198.51.100.7', det()), svc.block('2001:db8::7', det()), svc.block('203.0.113.0/24', { reason: 'op', source: 'cli' })];
  await sched.advance(100);
  await Promise.all(p);
  const chainInput = [...nft.k.chains.get('input')!];

  // nft flush set inet bulwark blocked4 (the canary goes with it)
  nft.k.sets.get('blocked4')!.elems.clear();
  nft.k.sets.get('blocked6')!.elems.clear();
  await sched.advance(3000);
  assert.deepEqual(nft.elements('blocked4').sort(), ['0.0.0.1', '198.51.100.7']);
  assert.deepEqual(nft.elements('blocked6').sort(), ['2001:db8::7', '::2']);
  assert.equal(await metric('bulwark_blocklist_repairs_total', { what: 'elements' }), 2);

  // nft flush chain inet bulwark input; and a rule inserted into output
  nft.k.chains.set('input', []);
  nft.k.chains.get('output')!.unshift('');
  await sched.advance(3000);
  assert.deepEqual(nft.k.chains.get('input'), chainInput);
  assert.ok(!nft.k.chains.get('output')!.includes(''));
  assert.equal(await metric('bulwark_blocklist_repairs_total', { what: 'chains' }), 1);

  // nft delete element inet bulwark blockednet4 { 203.0.113.0/24 }
  nft.k.sets.get('blockednet4')!.elems.clear();
  await sched.advance(3000);
  assert.equal(nft.elements('blockednet4').length, 1);

  // nft flush set inet bulwark allow4
  nft.k.sets.get('allow4')!.elems.clear();
  await sched.advance(3000);
  assert.ok(nft.elements('allow4').length > 0);
  assert.equal(await metric('bulwark_blocklist_repairs_total', { what: 'allow' }), 1);
  assert.deepEqual(svc.list().map((e) => e.address), ['198.51.100.7', '2001:db8::7', '203.0.113.0/24'], 'the model never changed');
  await svc.stop();
});

test('full compare: a single element deleted by hand comes back; a hand-added one is adopted, a never-block one removed', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  svc.neverBlock.set('management', ['203.0.113.10']);
  await svc.syncAllow();
  const p = [svc.block('198.51.100.7', det()), svc.block('198.51.100.8', det())];
  await sched.advance(100);
  await Promise.all(p);
  nft.k.sets.get('blocked4')!.elems.delete('"198.51.100.8"');
  nft.k.sets.get('blocked4')!.elems.set('"198.51.100.99"', { elem: { val: '198.51.100.99', timeout: 600, expires: 500 } });
  nft.k.sets.get('blocked4')!.elems.set('"203.0.113.10"', { elem: { val: '203.0.113.10', timeout: 600, expires: 500 } });
  await sched.advance(3000);
  assert.ok(!nft.elements('blocked4').includes('198.51.100.8'), 'the canary cannot see one missing element');
  const r = await svc.fullCompare();
  assert.deepEqual({ missing: r.missing, adopted: r.adopted, removed: r.removed }, { missing: 1, adopted: 1, removed: 1 });
  assert.deepEqual(nft.elements('blocked4').sort(), ['0.0.0.1', '198.51.100.7', '198.51.100.8', '198.51.100.99']);
  assert.equal(svc.list().find((e) => e.address === '198.51.100.99')?.reason, 'found in the kernel, not added by bulwark');
  await svc.stop();
});

test('state: written after changes, restored at start with the time left; expired entries are not restored', async () => {
  const a = setup();
  await a.svc.start();
  const p = [a.svc.block('198.51.100.1', det({ durationMs: 10_000 })), a.svc.block('198.51.100.2', det({ durationMs: 2 * H }))];
  await a.sched.advance(100);
  await Promise.all(p);
  await a.sched.advance(1000);
  await a.svc.writeState(false); // the write the timer started
  const saved = JSON.parse(readFileSync(join(a.stateDir, 'blocklist.json'), 'utf8')) as { entries: { address: string }[] };
  assert.equal(saved.entries.length, 2);
  await a.svc.stop();

  const b = setup({ stateDir: a.stateDir });
  b.clock.set(a.clock.now() + 20_000);
  const res = await b.svc.start();
  assert.equal(res.restored, 1);
  assert.deepEqual(b.svc.list().map((e) => e.address), ['198.51.100.2']);
  const elems = b.nft.added('blocked4') as { elem: { val: string; timeout: number } }[];
  assert.equal(elems.length, 1);
  assert.equal(elems[0]!.elem.val, '198.51.100.2');
  assert.equal(elems[0]!.elem.timeout, Math.ceil((2 * H - 1100 - 20_000) / 1000), 'remaining time, not the full duration');
  assert.equal(b.svc.list()[0]!.reason, 'Intrusion.Test');
  await b.svc.stop();
});

test('restart with the kernel still holding the blocks adds nothing; unknown kernel elements are adopted', async () => {
  const s = setup();
  saveState(s.stateDir, [{ address: '198.51.100.1', family: 4, reason: 'x', source: 'cli', blockedAtMs: T0 - 1000, expiresAtMs: T0 + H }], T0);
  s.nft.setElements('blocked4', [{ elem: { val: '198.51.100.1', timeout: 3600, expires: 3599 } }], ['timeout']);
  s.nft.setElements('blockednet4', [{ elem: { val: { prefix: { addr: '203.0.113.0', len: 24 } }, timeout: 600, expires: 500 } }], ['interval', 'timeout']);
  const res = await s.svc.start();
  assert.deepEqual(res, { restored: 0, adopted: 1, dropped: 0 });
  assert.equal(s.nft.added('blocked4').length, 0);
  assert.equal(s.nft.added('blockednet4').length, 0);
  const adopted = s.svc.list().find((e) => e.address === '203.0.113.0/24')!;
  assert.equal(adopted.expiresAtMs, T0 + 500_000);
  assert.equal(s.svc.list().find((e) => e.address === '198.51.100.1')!.expiresAtMs, T0 + H, 'within 2 s of the file: the file is kept');
  await s.svc.stop();
});

test('restart: when the kernel expiry differs from the state file, the kernel (which enforces it) wins', async () => {
  const s = setup();
  saveState(s.stateDir, [{ address: '198.51.100.1', family: 4, reason: 'x', source: 'cli', blockedAtMs: T0 - 1000, expiresAtMs: T0 + H }], T0);
  s.nft.setElements('blocked4', [{ elem: { val: '198.51.100.1', timeout: 3600, expires: 1800 } }], ['timeout']);
  await s.svc.start();
  const e = s.svc.list()[0]!;
  assert.equal(e.expiresAtMs, T0 + 1800_000);
  assert.equal(e.reason, 'x', 'metadata from the file');
  await s.svc.stop();
});

test('a corrupt state file is moved aside, counted, and the daemon starts', async () => {
  const s = setup();
  saveState(s.stateDir, [], T0);
  writeFileSync(join(s.stateDir, 'blocklist.json'), '{"version":1,"entries":[{"addr');
  await s.svc.start();
  assert.equal(await s.metric('bulwark_blocklist_state_errors_total'), 1);
  assert.ok(readdirSync(s.stateDir).some((f) => f.startsWith('blocklist.json.corrupt-')));
  await s.svc.stop();
  assert.ok(readdirSync(s.stateDir).includes('blocklist.json'), 'a fresh file is written at stop');
});

test('latency histogram observes detection → commit', async () => {
  const { svc, sched, clock, registry } = setup();
  await svc.start();
  const p = svc.block('198.51.100.7', det({ detectedAtMs: clock.now() - 95 }));
  await sched.advance(5);
  await p;
  const h = (await registry.getMetricsAsJSON()).find((m) => m.name === 'bulwark_block_latency_seconds')!;
  const count = (h.values as { metricName?: string; value: number }[]).find((v) => v.metricName === 'bulwark_block_latency_seconds_count');
  assert.equal(count?.value, 1);
  const le = (h.values as { metricName?: string; value: number; labels: { le?: number | string } }[]).filter((v) => v.metricName === 'bulwark_block_latency_seconds_bucket');
  assert.equal(le.find((v) => v.labels.le === 0.05)?.value, 0, '100 ms is above the 50 ms bucket');
  assert.equal(le.find((v) => v.labels.le === 0.1)?.value, 1, '95 ms before the request + the 5 ms window = 100 ms');
  await svc.stop();
  await settle();
});

test('issue 14: broadcast, multicast, unspecified and IPv4-mapped forms are never blocked', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  svc.neverBlock.set('interface', ['198.51.100.2', '198.51.100.255', '2001:db8::2']);
  for (const a of ['0.0.0.0', '255.255.255.255', '198.51.100.255', '224.0.0.1', 'ff02::1', '::', 'ff02::1:ff00:2', '::ffff:198.51.100.2', '::ffff:127.0.0.1', '0.0.0.0/0', '::/0']) {
    const r = await svc.block(a, { reason: 'op', source: 'cli' });
    assert.equal(r.status, 'refused', a);
    assert.equal(svc.isNeverBlocked(a), true, a);
  }
  await sched.advance(100);
  assert.deepEqual(svc.list(), []);
  assert.deepEqual(nft.added('blocked4'), []);
  assert.deepEqual(nft.added('blocked6'), []);
  // A mapped form of an ordinary address is that address (an operator's request) …
  const p = svc.block('::ffff:198.51.100.7', { reason: 'op', source: 'cli' });
  await sched.advance(100);
  const r = await p;
  assert.equal(r.status === 'blocked' && r.entry.address, '198.51.100.7');
  assert.deepEqual(nft.added('blocked4'), [{ elem: { val: '198.51.100.7', timeout: 3600 } }]);
  // … but on the wire (a detection) a mapped source is forged: it never gets the IPv4 host blocked.
  assert.equal((await svc.block('::ffff:198.51.100.9', det())).status, 'refused');
  assert.equal(svc.coveredBy('198.51.100.9'), undefined);
  await svc.stop();
});

test('issue 14: restore applies the checks of a new block and keeps every valid entry', async () => {
  const s = setup();
  const e = (address: string, expiresAtMs: number): BlockEntry => ({ address, family: address.includes(':') ? 6 : 4, reason: 'x', source: 'cli', blockedAtMs: T0 - 1000, expiresAtMs });
  saveState(
    s.stateDir,
    [
      e('0.0.0.0/0', T0 + H),
      e('198.51.100.2', T0 + H), // the host's own address
      e('224.0.0.1', T0 + H),
      e('ff02::1:ff00:2', T0 + H),
      e('::ffff:198.51.100.2', T0 + H),
      e('203.0.113.0/24', T0 + 5 * 60_000),
      e('203.0.113.7', T0 + 50 * 60_000), // inside the /24 but outlasts it
      e('203.0.113.0/25', T0 + 2 * H), // inside the /24: merged, the /24 keeps the later expiry
      e('198.51.100.9', T0 + 100 * 24 * H * 10), // 1000 days: not a block anybody asked for
    ],
    T0,
  );
  s.svc.neverBlock.set('interface', ['198.51.100.2']);
  const res = await s.svc.start();
  assert.deepEqual(
    s.svc.list().map((x) => [x.address, (x.expiresAtMs - T0) / 60_000]),
    [
      ['203.0.113.0/24', 120],
      ['203.0.113.7', 50],
    ],
  );
  assert.equal(res.dropped, 6, 'the /25 is merged into the /24, not dropped');
  assert.deepEqual(s.nft.elements('blocked4').sort(), ['0.0.0.1', '203.0.113.7']);
  assert.deepEqual(s.nft.elements('blockednet4'), [{ prefix: { addr: '203.0.113.0', len: 24 } }]);
  await s.svc.stop();
});

test('issue 14: kernel elements of never-block addresses are removed at start, not adopted', async () => {
  const s = setup();
  s.nft.setElements('blocked4', [{ elem: { val: '198.51.100.2', timeout: 3600, expires: 3000 } }, { elem: { val: '203.0.113.9', timeout: 3600, expires: 3000 } }], ['timeout']);
  s.svc.neverBlock.set('interface', ['198.51.100.2']);
  const res = await s.svc.start();
  assert.deepEqual(res, { restored: 0, adopted: 1, dropped: 1 });
  assert.deepEqual(s.nft.elements('blocked4').sort(), ['0.0.0.1', '203.0.113.9']);
  await s.svc.stop();
});

test('issue 14: a table of the previous layout is migrated at start with every element', async () => {
  const s = setup();
  s.nft.setElements(
    'blocked4',
    [
      { elem: { val: '198.51.100.7', timeout: 3600, expires: 3000 } },
      { elem: { val: { prefix: { addr: '203.0.113.0', len: 24 } }, timeout: 3600, expires: 1000 } },
    ],
    ['interval', 'timeout'],
  );
  s.nft.setElements('blocked6', [{ elem: { val: '2001:db8::7', timeout: 3600, expires: 2000 } }], ['interval', 'timeout']);
  saveState(s.stateDir, [{ address: '198.51.100.7', family: 4, reason: 'kept metadata', source: 'detection', blockedAtMs: T0 - 600_000, expiresAtMs: T0 + 3000_000 }], T0);
  await s.svc.start();
  assert.deepEqual(s.nft.k.sets.get('blocked4')!.flags, ['timeout']);
  assert.deepEqual(s.nft.k.sets.get('blocked6')!.flags, ['timeout']);
  assert.deepEqual(s.nft.elements('blocked4').sort(), ['0.0.0.1', '198.51.100.7']);
  assert.deepEqual(s.nft.elements('blocked6').sort(), ['2001:db8::7', '::2']);
  assert.deepEqual(s.nft.elements('blockednet4'), [{ prefix: { addr: '203.0.113.0', len: 24 } }]);
  assert.equal(s.svc.list().find((x) => x.address === '198.51.100.7')?.reason, 'kept metadata');
  assert.equal(s.svc.list().find((x) => x.address === '203.0.113.0/24')?.expiresAtMs, T0 + 1000_000, 'time left from the kernel');
  // And the periodic check is content with the result.
  const batches = s.nft.batches.length;
  await s.sched.advance(3000);
  assert.equal(s.nft.batches.length, batches);
  await s.svc.stop();
});

test('a steady stream of blocks (each sent as the previous resolves) does not starve a repair', async () => {
  const { svc, nft, sched } = setup();
  await svc.start();
  let done = 0;
  let checkedAfter: number | undefined;
  let rc: Promise<unknown> | undefined;
  // The check asks for the lock while a batch holds it. Like the real adapter, the transaction
  // settles a few promise hops after its work is done (the requester is quicker to send the next).
  const apply = nft.apply.bind(nft);
  nft.apply = async (cmds) => {
    if (done === 3 && rc === undefined) {
      nft.k.sets.get('blocked6')!.elems.clear(); // something to repair: the repair needs the lock
      rc = svc.reconcile().then(() => (checkedAfter = done));
    }
    await apply(cmds);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  // Each request is sent from the previous one's settlement, as a detection storm does.
  const loop = new Promise<void>((resolve, reject) => {
    const next = (i: number): void => {
      if (i === 200) {
        resolve();
        return;
      }
      svc.block(`203.0.113.${i % 250}`, det()).then(() => {
        done++;
        next(i + 1);
      }, reject);
    };
    next(0);
  });
  for (let i = 0; i < 100 && done < 200; i++) await sched.advance(5);
  await loop;
  await rc;
  assert.ok(checkedAfter !== undefined && checkedAfter < 10, `the repair waited for ${checkedAfter} blocks`);
  assert.ok(nft.elements('blocked6').includes('::2'));
  await svc.stop();
});
