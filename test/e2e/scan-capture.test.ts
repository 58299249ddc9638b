/**
 * Live capture: PcapLiveSource on a veth inside a test namespace receives real packets, and the
 * BPF filter keeps watched-port traffic, SYNs to any port and RSTs, and drops everything else.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestNet } from './netns.js';
import { DIR } from '../../src/engine/capture/types.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Pkt {
  lt?: number;
  dir?: number;
  src?: string;
  sport?: number;
  dport?: number;
  flags?: number;
  payload?: string;
  ready?: boolean;
  stats?: { received: number; dropped: number };
}

for (const iface of ['eth0', 'any']) {
test(`live capture on ${iface} with the generated BPF filter`, { timeout: 60_000 }, async () => {
  const net = await createTestNet(['attacker', 'protected']);
  after(() => net.destroy());
  const a = net.host('attacker');
  const p = net.host('protected');
  // Servers on the protected host: a watched port (80) and an unwatched one (7000).
  const server = p.spawn(process.execPath, [
    '-e',
    "const net=require('net');for(const port of [80,7000]){net.createServer(s=>{s.on('data',()=>{});s.on('error',()=>{})}).listen(port,'::')};setInterval(()=>{},1e6)",
  ]);
  const cap = p.spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/e2e/capture-child.ts'), iface, '80,443', `${a.ip6}/128`], { cwd: root, stdio: 'pipe' });
  let out = '';
  cap.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  cap.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const lines = (): Pkt[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Pkt);
  for (let i = 0; i < 100 && !lines().some((l) => l.ready); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(lines().some((l) => l.ready), `capture did not start: ${err}`);
  await new Promise((r) => setTimeout(r, 300));

  const client = `
    const net=require('net'), dgram=require('dgram');
    const send=(host,port,data)=>new Promise(res=>{const s=net.connect({host,port},()=>{s.end(data)});s.on('close',res);s.on('error',res)});
    (async()=>{
      await send('${p.ip4}',80,'hello-watched');
      await send('${p.ip4}',7000,'unwatched-data');
      await send('${p.ip4}',9999,'');
      await send('${p.ip6}',80,'excluded-v6');
      const u=dgram.createSocket('udp4'); u.send('udp-data',80,'${p.ip4}',()=>u.close());
    })();`;
  const r = await a.exec(process.execPath, ['-e', client], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  await new Promise((res) => setTimeout(res, 500));
  cap.stdin!.end();
  for (let i = 0; i < 100 && !lines().some((l) => l.stats); i++) await new Promise((res) => setTimeout(res, 50));
  cap.kill();
  server.kill();
  const pk = lines().filter((l) => l.sport !== undefined);
  const payloads = pk.map((l) => l.payload).join('|');
  assert.match(payloads, /hello-watched/, `watched-port data missing; got ${JSON.stringify(pk)}`);
  assert.doesNotMatch(payloads, /unwatched-data/);
  assert.doesNotMatch(payloads, /excluded-v6/);
  assert.doesNotMatch(payloads, /udp-data/);
  assert.ok(pk.some((l) => l.dport === 7000 && l.flags === 2), 'SYN to an unwatched port must be captured');
  assert.ok(!pk.some((l) => l.sport === 7000 && l.flags === 0x12), 'SYN/ACK on an unwatched port must not be captured');
  assert.ok(pk.some((l) => l.sport === 9999 && (l.flags! & 4) !== 0), 'the host RST reply must be captured');
  assert.ok(!pk.some((l) => l.src === a.ip6), 'excluded network captured');
  assert.ok(pk.some((l) => l.sport === 80 && l.src === p.ip4), 'server side of a watched port captured');
  // eth0: Ethernet; any: Linux cooked capture (SLL or SLL2).
  assert.ok(pk.every((l) => (iface === 'any' ? l.lt === 113 || l.lt === 276 : l.lt === 1)), `link types ${[...new Set(pk.map((l) => l.lt))].join(',')}`);
  // Direction (handshake evidence rests on it): the attacker's packets arrived, the server's left.
  const fromAttacker = pk.filter((l) => l.src === a.ip4);
  const fromServer = pk.filter((l) => l.src === p.ip4);
  assert.ok(fromAttacker.length > 0 && fromAttacker.every((l) => l.dir === DIR.INBOUND), `inbound: ${JSON.stringify(fromAttacker.map((l) => l.dir))}`);
  assert.ok(fromServer.length > 0 && fromServer.every((l) => l.dir === DIR.OUTBOUND), `outbound: ${JSON.stringify(fromServer.map((l) => l.dir))}`);
  const stats = lines().find((l) => l.stats)?.stats;
  assert.ok(stats && stats.received === pk.length, `stats ${JSON.stringify(stats)} vs ${pk.length}`);
  assert.equal(stats.dropped, 0);
});
}
