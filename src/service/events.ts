/**
 * The event sink: every "Network attack detected" alert and every other event (host unblocked,
 * isolation on/off/expired, ...) goes to the log and, when configured, to the EVE-JSON event file.
 * It is the first component so it is subscribed before anybody emits.
 */
import { EventWriter } from '../engine/events.js';
import type { Config } from '../config/types.js';
import type { Component, DaemonContext } from './types.js';

export function eventsComponent(ctx: DaemonContext): Component & { writer(): EventWriter | undefined } {
  const log = ctx.log.child({ component: 'events' });
  let writer: EventWriter | undefined;
  let cfg: Config['events'] = ctx.config.events;
  let alerts = 0;
  let others = 0;

  const open = (c: Config['events']): EventWriter | undefined =>
    c.file === '' ? undefined : new EventWriter({ file: c.file, maxBytes: c.maxBytes, keep: c.keep, queueSize: c.queueSize, log, registry: ctx.registry });

  ctx.bus.onAlert((e) => {
    alerts++;
    log.warn({ event: e }, `Network attack detected: ${e.alert.signature} from ${e.src_ip}`);
    writer?.write(e);
  });
  ctx.bus.onEvent((e) => {
    others++;
    log.info({ event: e }, typeof e.message === 'string' ? e.message : String(e.event_type));
    writer?.write(e);
  });

  return {
    name: 'events',
    writer: () => writer,
    start() {
      writer = open(cfg);
      return Promise.resolve();
    },
    async stop() {
      await writer?.close();
      writer = undefined;
    },
    async reload(next) {
      // A changed file (or its bounds) takes effect now: the old writer finishes what it queued
      // and closes; events from here on go to the new one (metrics are shared per registry).
      const n = next.events;
      const changed = n.file !== cfg.file || n.maxBytes !== cfg.maxBytes || n.keep !== cfg.keep || n.queueSize !== cfg.queueSize;
      const from = cfg.file;
      cfg = { ...n };
      if (!changed) return;
      const old = writer;
      writer = open(cfg);
      await old?.close();
      if (n.file !== from) log.info({ from, to: n.file }, n.file === '' ? 'event file closed: events go to the log only' : 'event file changed');
    },
    status() {
      return { file: cfg.file, alerts, events: others };
    },
  };
}
