/**
 * Suricata's `stream_size` keyword (detect-stream_size.c):
 *
 *   stream_size:<server|client|both|either>,<op>,<number>    op: < <= = != >= >
 *
 * The size of a side is what Suricata computes from its TCP sequence numbers,
 * `next_seq - isn`: the bytes that side has sent in order, plus one for its SYN. The engine
 * passes both sizes in VerifyContext.streamSize (client = sent by the client).
 */
import { OptionError } from '../options.js';

export interface StreamSizeSpec {
  side: 'server' | 'client' | 'both' | 'either';
  op: '<' | '<=' | '=' | '!=' | '>=' | '>';
  value: number;
}

export interface StreamSizes {
  /** next_seq - isn of the client's stream (bytes sent by the client + 1 for the SYN). */
  client: number;
  server: number;
}

export function parseStreamSize(v: string): StreamSizeSpec {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length !== 3) throw new OptionError('stream_size: expected side, operator, number');
  const side = parts[0]!;
  if (side !== 'server' && side !== 'client' && side !== 'both' && side !== 'either') throw new OptionError(`stream_size: bad side "${side}"`);
  const op = parts[1]!;
  if (!['<', '<=', '=', '!=', '>=', '>'].includes(op)) throw new OptionError(`stream_size: bad operator "${op}"`);
  if (!/^\d+$/.test(parts[2]!)) throw new OptionError(`stream_size: bad number "${parts[2]!}"`);
  const value = Number(parts[2]);
  if (value > 0xffffffff) throw new OptionError(`stream_size: ${value} is not a uint32`);
  return { side, op: op as StreamSizeSpec['op'], value };
}

function cmp(op: StreamSizeSpec['op'], a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>=':
      return a >= b;
    case '>':
      return a > b;
  }
}

/** Whether the test holds; no sizes (not a TCP session) never matches, like Suricata. */
export function streamSizeHolds(s: StreamSizeSpec, sizes: StreamSizes | undefined): boolean {
  if (sizes === undefined) return false;
  switch (s.side) {
    case 'client':
      return cmp(s.op, sizes.client, s.value);
    case 'server':
      return cmp(s.op, sizes.server, s.value);
    case 'both':
      return cmp(s.op, sizes.client, s.value) && cmp(s.op, sizes.server, s.value);
    case 'either':
      return cmp(s.op, sizes.client, s.value) || cmp(s.op, sizes.server, s.value);
  }
}
