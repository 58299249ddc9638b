import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';
import { createBlocklistComponent, type BlocklistComponent } from '../../../src/service/blocklist.js';
import type { CommandHandler, DaemonBus, DaemonContext } from '../../../src/service/types.js';
import { FakeNft, ManualScheduler } from './fakes.js';

function setup(over: Partial<Config> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bl-comp-'));
  const config: Config = { ...defaultConfig(), stateDir: dir, neverBlockSshClients: true, ...over };
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 8));
  const sched = new ManualScheduler(clock);
  const nft = new FakeNft();
  const handlers = new Map<string, CommandHandler>();
  const events: Record<string, unknown>[] = [];
  const bus = { emitEvent: (e: Record<string, unknown>) => events.push(e) } as unknown as DaemonBus;
  const ctx: DaemonContext = {
    config,
    configPath: undefined,
    log: silentLogger(),
    registry: new Registry(),
    clock,
    commands: { register: (n, h) => handlers.set(n, h) },
    bus,
    get: () => undefined,
  };
  const sources = { interfaces: () => ['198.51.100.11'], sessions: () => Promise.resolve(['203.0.113.77']), management: () => Promise.resolve(['203.0.113.10']) };
  const comp = createBlocklistComponent({ nft, sources, scheduler: sched, refreshIntervalMs: 60_000 })(ctx) as BlocklistComponent;
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const h = handlers.get(name);
    assert.ok(h, `command ${name} registered`);
    const p = h(args);
    p.catch(() => undefined);
    await sched.advance(150);
    return (await p) as Record<string, unknown>;
  };
  return { comp, nft, call, handlers, config, events, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

test('registers the three control commands; block/list/unblock round trip through them', async () => {
  const s = setup();
  try {
    assert.deepEqual([...s.handlers.keys()].sort(), ['blocklist.block', 'blocklist.list', 'blocklist.unblock']);
    await s.comp.start();
    const b = await s.call('blocklist.block', { address: '203.0.113.128/25', for: '2h', reason: 'net' });
    assert.equal(b.status, 'blocked');
    assert.equal((b.entry as { expiresInMs: number }).expiresInMs, 2 * 3600_000);
    const c = await s.call('blocklist.block', { address: '203.0.113.200' });
    assert.equal(c.status, 'covered');
    const l = await s.call('blocklist.list');
    assert.deepEqual((l.entries as { address: string; reason: string }[]).map((e) => [e.address, e.reason]), [['203.0.113.128/25', 'net']]);
    const u0 = await s.call('blocklist.unblock', { addresses: '203.0.113.200' });
    assert.deepEqual(u0, { removed: [], notBlocked: ['203.0.113.200'], coveredBy: { '203.0.113.200': '203.0.113.128/25' } });
    const u = await s.call('blocklist.unblock', { addresses: ['203.0.113.200', '203.0.113.128/25'] });
    assert.deepEqual(u.notBlocked, ['203.0.113.200']);
    assert.deepEqual(u.coveredBy, {}, 'the covering CIDR went in the same request');
    assert.deepEqual((u.removed as { address: string }[]).map((e) => e.address), ['203.0.113.128/25']);
    assert.equal(s.events.filter((e) => (e.bulwark as { event: string }).event === 'host unblocked').length, 1);
  } finally {
    await s.comp.stop();
    s.cleanup();
  }
});

test('never-block sources (interfaces, management, SSH clients, config) are refused and pushed to allow4', async () => {
  const s = setup({ neverBlock: ['2001:db8:5::/48'] });
  try {
    await s.comp.start();
    for (const a of ['198.51.100.11', '203.0.113.10', '203.0.113.77', '2001:db8:5::1', '127.0.0.1']) {
      const r = await s.call('blocklist.block', { address: a });
      assert.deepEqual(r, { status: 'refused', reason: 'never-block', address: a }, a);
    }
    const install = JSON.stringify(s.nft.batches[0]);
    for (const a of ['198.51.100.11', '203.0.113.10', '203.0.113.77', '2001:db8:5::']) assert.ok(install.includes(a), `${a} in the allow sets of the install`);
  } finally {
    await s.comp.stop();
    s.cleanup();
  }
});

test('bad arguments are INVALID_ARGUMENT; a bad neverBlock entry refuses start', async () => {
  const s = setup();
  try {
    await s.comp.start();
    await assert.rejects(s.call('blocklist.block', { address: 5 }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
    await assert.rejects(s.call('blocklist.block', { address: '198.51.100.7', for: 'soon' }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
    await assert.rejects(s.call('blocklist.unblock', {}), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  } finally {
    await s.comp.stop();
    s.cleanup();
  }
  const bad = setup({ neverBlock: ['198.51.100.7/24'] });
  try {
    await assert.rejects(bad.comp.start(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
  } finally {
    bad.cleanup();
  }
});

test('dry-run: nothing is applied (not even the install), block is refused dry-run; reload to block applies', async () => {
  const s = setup({ action: 'dry-run' });
  try {
    await s.comp.start();
    assert.equal(s.nft.batches.length, 0);
    const r = await s.call('blocklist.block', { address: '198.51.100.7' });
    assert.equal(r.status, 'refused');
    assert.equal(r.reason, 'dry-run');
    await s.comp.reload!({ ...s.config, action: 'block' });
    const r2 = await s.call('blocklist.block', { address: '198.51.100.7' });
    assert.equal(r2.status, 'blocked');
    assert.equal(s.nft.added('blocked4').length, 1);
  } finally {
    await s.comp.stop();
    s.cleanup();
  }
});
