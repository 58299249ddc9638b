/**
 * The `flow` keyword (Suricata detect-flow.c): direction, connection state and stream/packet
 * selection, comma-separated; a later setting of the same kind replaces an earlier one.
 */
import { Unsupported } from '../options.js';

export interface FlowKeyword {
  dir?: 'to_server' | 'to_client';
  established?: boolean;
  stream?: 'only' | 'no';
}

export function parseFlowKeyword(value: string | undefined): FlowKeyword {
  const out: FlowKeyword = {};
  for (const f of (value ?? '').split(',').map((x) => x.trim())) {
    switch (f) {
      case 'to_server':
      case 'from_client':
        out.dir = 'to_server';
        break;
      case 'to_client':
      case 'from_server':
        out.dir = 'to_client';
        break;
      case 'established':
        out.established = true;
        break;
      case 'not_established':
        out.established = false;
        break;
      case 'stateless':
        break;
      case 'only_stream':
        out.stream = 'only';
        break;
      case 'no_stream':
        out.stream = 'no';
        break;
      default:
        throw new Unsupported(`flow ${f}`);
    }
  }
  return out;
}
