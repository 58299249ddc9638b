/**
 * Child of bench/fleet.ts: N simulated hosts, each its own NATS connection with an ordered
 * consumer on the fleet decisions scope (what a bulwark host follows). Records decision→received
 * latency (same machine clock) and reports it to the parent on request.
 * argv: URL COUNT [MODE]; MODE: ordered (pull, what bulwark hosts use; default), push (ordered
 * push consumer, ack none), core (plain subscription, no JetStream: the floor).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';

const [url = '', countText = '0', mode = 'ordered'] = process.argv.slice(2);
const count = Number(countText);
const conns: NatsConnection[] = [];
let latencies: number[] = [];
let received = 0;

async function host(i: number): Promise<void> {
  const nc = await connect({ servers: url, name: `sim-${process.pid}-${i}`, maxReconnectAttempts: -1 });
  conns.push(nc);
  const onData = (data: Uint8Array): void => {
    const now = Date.now();
    const d = JSON.parse(new TextDecoder().decode(data)) as { decidedAt: number };
    latencies.push(now - d.decidedAt);
    received++;
  };
  if (mode === 'core') {
    nc.subscribe('bulwark.decisions.fleet.>', { callback: (_e, m) => { onData(m.data); } });
    return;
  }
  const js = jetstream(nc);
  const it =
    mode === 'push'
      ? await (await js.consumers.getPushConsumer('BULWARK_DECISIONS', { filter_subjects: 'bulwark.decisions.fleet.>', deliver_policy: DeliverPolicy.New })).consume()
      : await (await js.consumers.get('BULWARK_DECISIONS', { filter_subjects: 'bulwark.decisions.fleet.>', deliver_policy: DeliverPolicy.New })).consume({ max_messages: 64 });
  void (async () => {
    for await (const m of it) onData(m.data);
  })();
}

for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_v, k) => host(i + k)));
}
process.send?.({ ready: count });
process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'report') {
    process.send?.({ latencies, received });
    latencies = [];
    received = 0;
  } else if (msg.cmd === 'exit') {
    void Promise.all(conns.map((c) => c.close())).then(() => process.exit(0));
  }
});
