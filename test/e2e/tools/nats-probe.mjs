// A NATS client for the fleet e2e test, run inside a test namespace: connects with an nkey seed
// and tries publishes (or reads the last message of a subject: op "last" with "stream"),
// printing one JSON line of outcomes. Usage: node nats-probe.mjs '{"servers":[...],
// "ca":FILE,"seed":"SU...","inbox":"_INBOX.x","steps":[{"op":"jspub"|"pub","subject":S,"data":STRING}]}'
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { checkServerIdentity } from 'node:tls';

const o = JSON.parse(process.argv[2]);
const nc = await connect({ servers: o.servers, tls: { caFile: o.ca, checkServerIdentity: (_h, cert) => (o.servers.some((u) => checkServerIdentity(u.replace(/^tls:\/\//, '').replace(/:\d+$/, ''), cert) === undefined) ? undefined : new Error('certificate matches no server')) }, authenticator: nkeyAuthenticator(new TextEncoder().encode(o.seed)), inboxPrefix: o.inbox, timeout: 5000 });
const errors = [];
(async () => {
  for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error?.message ?? s.error));
})();
const js = jetstream(nc);
const results = [];
for (const step of o.steps) {
  try {
    if (step.op === 'last') {
      const jsm = await jetstreamManager(nc);
      const m = await jsm.streams.getMessage(step.stream, { last_by_subj: step.subject });
      results.push({ subject: step.subject, ok: m !== null, data: m ? new TextDecoder().decode(m.data) : null, time: m ? m.timestamp : null });
    } else if (step.op === 'jspub') {
      const ack = await js.publish(step.subject, step.data, { timeout: 3000 });
      results.push({ subject: step.subject, ok: true, seq: ack.seq });
    } else {
      const before = errors.length;
      nc.publish(step.subject, step.data);
      await nc.flush();
      await new Promise((r) => setTimeout(r, 300));
      const err = errors.slice(before).find((e) => /permission/i.test(e));
      results.push({ subject: step.subject, ok: err === undefined, ...(err ? { error: err } : {}) });
    }
  } catch (e) {
    results.push({ subject: step.subject, ok: false, error: String(e?.message ?? e) });
  }
}
console.log(JSON.stringify({ results, errors }));
await nc.close();
