import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNet, run } from './netns.js';

test('test hosts reach each other over v4 and v6, have no default route, and are deleted', async () => {
  const net = await createTestNet(['attacker', 'protected']);
  after(() => net.destroy());
  const a = net.host('attacker');
  const p = net.host('protected');
  const ping4 = await a.exec('ping', ['-c1', '-W2', p.ip4]);
  assert.equal(ping4.code, 0, ping4.stderr);
  const ping6 = await a.exec('ping', ['-6', '-c1', '-W2', p.ip6]);
  assert.equal(ping6.code, 0, ping6.stderr);
  const routes = await a.exec('ip', ['route', 'show', 'default']);
  assert.equal(routes.stdout.trim(), '');
  await net.destroy();
  const list = await run('ip', ['netns', 'list']);
  assert.ok(!list.stdout.includes(a.ns), 'namespace still present after destroy');
});
