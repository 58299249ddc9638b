/** Metrics of the service foundation (daemon, control socket, config reload). docs/metrics.md "Foundation". */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface FoundationMetrics {
  configReloads: Counter<'result'>;
  controlRequests: Counter<'cmd' | 'result'>;
  controlConnections: Gauge;
  controlConnectionsRejected: Counter<'reason'>;
  componentUp: Gauge<'component'>;
  uncaughtErrors: Counter;
}

export function createFoundationMetrics(registry: Registry): FoundationMetrics {
  const registers = [registry];
  return {
    configReloads: new Counter({ name: 'bulwark_config_reloads_total', help: 'Configuration reloads (SIGHUP or `bulwark reload`) by result.', labelNames: ['result'], registers }),
    controlRequests: new Counter({
      name: 'bulwark_control_requests_total',
      help: 'Control-socket requests by command (unregistered names count as "unknown", unparsable requests as "invalid") and result.',
      labelNames: ['cmd', 'result'],
      registers,
    }),
    controlConnections: new Gauge({ name: 'bulwark_control_connections', help: 'Open control-socket connections.', registers }),
    controlConnectionsRejected: new Counter({
      name: 'bulwark_control_connections_rejected_total',
      help: 'Control-socket connections refused or closed by a bound (too_many, oversized, idle, request_timeout, evicted).',
      labelNames: ['reason'],
      registers,
    }),
    componentUp: new Gauge({ name: 'bulwark_component_up', help: '1 when the component started and runs, 0 otherwise.', labelNames: ['component'], registers }),
    uncaughtErrors: new Counter({ name: 'bulwark_uncaught_errors_total', help: 'Uncaught exceptions and unhandled rejections logged and survived by the daemon.', registers }),
  };
}
