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
      // The writer registers its metrics once; a changed file path is taken at the next restart.
      if (next.events.file !== cfg.file) log.warn({ from: cfg.file, to: next.events.file }, 'events.file changes take effect at restart');
      cfg = { ...next.events, file: cfg.file };
      await Promise.resolve();
    },
    status() {
      return { file: cfg.file, alerts, events: others };
    },
  };
}
