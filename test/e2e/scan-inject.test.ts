/** Injector: a RST built by rstFrame and sent with `cap` resets a real connection in a test namespace. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestNet } from './netns.js';

const root = path.resolve(import.meta.dirname, '../..');

test('an injected RST resets the peer', { timeout: 60_000 }, async () => {
  const net = await createTestNet(['attacker', 'protected']);
  after(() => net.destroy());
  const a = net.host('attacker');
  const p = net.host('protected');
  const server = p.spawn(process.execPath, ['-e', "require('net').createServer(s=>{s.on('error',()=>{})}).listen(80);setInterval(()=>{},1e6)"]);
  const inj = p.spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/e2e/inject-child.ts')], { cwd: root, stdio: 'pipe' });
  let out = '';
  inj.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  inj.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes('ready'), `injector did not start: ${err}`);
  await new Promise((r) => setTimeout(r, 300));
  const client = `
    const s=require('net').connect({host:'${p.ip4}',port:80},()=>s.write('ping'));
    const t=setTimeout(()=>{console.log('no-reset');process.exit(0)},8000);
    s.on('error',e=>{console.log('error '+e.code);clearTimeout(t)});
    s.on('close',()=>{console.log('closed');clearTimeout(t)});`;
  const r = await a.exec(process.execPath, ['-e', client], { timeoutMs: 20_000 });
  server.kill();
  assert.match(r.stdout, /error ECONNRESET/, `client saw: ${r.stdout} ${r.stderr}; injector: ${out} ${err}`);
  assert.match(out, /"sent":1/);
});
