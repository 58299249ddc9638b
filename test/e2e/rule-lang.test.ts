/**
 * Rule language end to end (issue 11 item 2): a real ET Open `flowbits` pair, read by sid from
 * ../shared/corpus/et-open at test time (never copied into the repository), loaded from the
 * configuration (`databases.rules`) by the real daemon in a protected test host. The setter
 * (ET EXPLOIT F5 BIG-IP rsync "cmi authorized_keys access attempt", `flowbits:set,ET.F5.key`)
 * and the checker ("successful upload", `content:"ssh-rsa"; flowbits:isset,ET.F5.key`) both watch
 * port 873. The checker fires only on a flow where the setter matched first; flowbits are per flow.
 * Assertions on the EVE file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { alertsOf, waitFor } from './observe.js';

const CORPUS = resolve(ROOT, '../shared/corpus/et-open');
const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
/** flowbits:set,ET.F5.key on "cmi/var/ssh/root/authorized_keys". */
const SETTER = 2019088;
/** flowbits:isset,ET.F5.key on "ssh-rsa". */
const CHECKER = 2019090;
const PORT = 873;
const CMI = 'cmi/var/ssh/root/authorized_keys\n';
const KEY = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC lab@bulwark\n';

function corpusRules(sids: number[]): string {
  const want = new Set(sids);
  const out: string[] = [];
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.rules'))) {
    for (const line of readFileSync(join(CORPUS, f), 'utf8').split('\n')) {
      const m = /^(?:alert|drop|reject)\s.*[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(line);
      if (m && want.has(Number(m[1]))) out.push(line);
    }
  }
  assert.equal(out.length, sids.length, `sids ${sids.join(', ')} in ${CORPUS}`);
  return out.join('\n') + '\n';
}

interface Alert {
  timestamp: string;
  src_ip: string;
  src_port: number;
  flow_id: number;
  alert: { signature_id: number };
}

let net: TestNet;
let attacker: Host;
let prot: Host;
let daemon: DaemonHandle;
let dir: string;

/** One connection to port 873 that sends `parts` as separate segments; returns its source port. */
async function session(parts: string[]): Promise<void> {
  const payload = parts.join('');
  // Equal-sized segments would cut the patterns; each part is padded to the longest so that
  // `segments` splits exactly at the part boundaries.
  const width = Math.max(...parts.map((p) => p.length));
  const padded = parts.map((p) => p.padEnd(width, ' ')).join('');
  assert.ok(padded.length >= payload.length);
  const r = await attacker.exec(process.execPath, [CLIENT, JSON.stringify({ host: prot.ip4, port: PORT, payload: padded, segments: parts.length, delayMs: 150, hold: 400 })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { connected: boolean };
  assert.equal(res.connected, true, `attacker reached port ${PORT}`);
}

const alerts = (): Alert[] => alertsOf<Alert>(daemon).filter((a) => a.src_ip === attacker.ip4);
const sids = (xs: Alert[]): number[] => xs.map((a) => a.alert.signature_id);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-rule-lang-e2e-'));
  const rulesFile = join(dir, 'et-flowbits.rules');
  writeFileSync(rulesFile, corpusRules([SETTER, CHECKER]));
  net = await createTestNet(['attacker', 'protected']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  daemon = await startDaemon(prot, {
    config: {
      protection: { enabled: true },
      interfaces: ['eth0'],
      databases: { rules: [rulesFile] },
      // Alert only: the attacker must stay able to open the next flows.
      action: 'alert',
      events: { foldWindow: 0 },
    },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('the checker alone does not fire: its flowbit was never set on the flow', async () => {
  await session([KEY]);
  // A later flow's setter alert proves the first flow was inspected before we look.
  await session([CMI]);
  const ev = await waitFor('the setter alert', () => alerts().find((a) => a.alert.signature_id === SETTER));
  assert.ok(ev);
  assert.deepEqual(sids(alerts()), [SETTER], 'no checker alert, one setter alert');
});

test('setter then checker on one flow: both fire, the setter first', async () => {
  const before = alerts().length;
  await session([CMI, KEY]);
  const got = await waitFor('both alerts', () => {
    const xs = alerts().slice(before);
    return xs.length >= 2 ? xs : undefined;
  });
  assert.deepEqual(sids(got), [SETTER, CHECKER]);
  assert.equal(got[0]!.flow_id, got[1]!.flow_id, 'one flow');
  assert.ok(Date.parse(got[0]!.timestamp) <= Date.parse(got[1]!.timestamp));
});

test('the bit is per flow: a new flow with only the checker content stays silent', async () => {
  const before = alerts().length;
  await session([KEY]);
  await session([CMI]);
  const got = await waitFor('the setter alert of the last flow', () => {
    const xs = alerts().slice(before);
    return xs.some((a) => a.alert.signature_id === SETTER) ? xs : undefined;
  });
  assert.deepEqual(sids(got), [SETTER]);
});
