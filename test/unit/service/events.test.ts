// The events component: events.file takes effect on reload (it used to need a restart, undocumented).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { systemClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { createBus } from '../../../src/service/bus.js';
import { eventsComponent } from '../../../src/service/events.js';
import type { DaemonContext } from '../../../src/service/types.js';

test('events.file changes on reload: the old file is finished, later events go to the new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-events-comp-'));
  try {
    const a = join(dir, 'a.json');
    const b = join(dir, 'sub', 'b.json');
    const config: Config = { ...defaultConfig(), events: { ...defaultConfig().events, file: a } };
    const bus = createBus(silentLogger());
    const ctx = { config, configPath: undefined, log: silentLogger(), registry: new Registry(), clock: systemClock, commands: { register: () => undefined }, bus, get: () => undefined } as unknown as DaemonContext;
    const c = eventsComponent(ctx);
    await c.start();
    bus.emitEvent({ event_type: 'test', n: 1 });
    await c.reload!({ ...config, events: { ...config.events, file: b } });
    bus.emitEvent({ event_type: 'test', n: 2 });
    await c.reload!({ ...config, events: { ...config.events, file: '' } });
    bus.emitEvent({ event_type: 'test', n: 3 });
    await c.stop();
    const lines = (f: string): unknown[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n);
    assert.deepEqual(lines(a), [1]);
    assert.deepEqual(lines(b), [2]);
    assert.equal(c.status?.().file, '');
    assert.ok(existsSync(b));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
