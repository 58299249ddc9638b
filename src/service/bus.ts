/** In-process bus: a throwing listener is logged and does not stop delivery to the others. */
import type { Logger } from 'pino';
import type { AlertEvent, Detection } from '../engine/types.js';
import type { Ruleset } from '../signatures/types.js';
import type { DaemonBus } from './types.js';

type Listener<T> = (v: T) => void;

class Topic<T> {
  private readonly listeners: Listener<T>[] = [];
  constructor(
    private readonly name: string,
    private readonly log: Logger,
  ) {}
  on(fn: Listener<T>): void {
    this.listeners.push(fn);
  }
  emit(v: T): void {
    for (const fn of this.listeners) {
      try {
        fn(v);
      } catch (e) {
        this.log.error({ err: e, topic: this.name }, 'bus listener failed');
      }
    }
  }
}

export function createBus(log: Logger): DaemonBus {
  const detection = new Topic<Detection>('detection', log);
  const alert = new Topic<AlertEvent>('alert', log);
  const event = new Topic<Record<string, unknown>>('event', log);
  const ruleset = new Topic<Ruleset>('ruleset', log);
  return {
    onDetection: (fn) => {
      detection.on(fn);
    },
    emitDetection: (d) => {
      detection.emit(d);
    },
    onAlert: (fn) => {
      alert.on(fn);
    },
    emitAlert: (e) => {
      alert.emit(e);
    },
    onEvent: (fn) => {
      event.on(fn);
    },
    emitEvent: (e) => {
      event.emit(e);
    },
    onRuleset: (fn) => {
      ruleset.on(fn);
    },
    emitRuleset: (r) => {
      ruleset.emit(r);
    },
  };
}
