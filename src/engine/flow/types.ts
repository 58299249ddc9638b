/**
 * Contract of the flow stage: decoded TCP packets in, the packet's `Flow` out (created on a SYN,
 * a SYN/ACK or mid-stream data; both directions of a 5-tuple share one flow), with the TCP
 * connection tracking (client side, handshake evidence, close) done on it. The flow carries the
 * per-direction `DirState` the stream, app-layer and detect stages keep their state in.
 * Bounded: `engine.maxFlows` (LRU eviction), per-state idle timeouts by packet time.
 */
export { Flow, ST_CLOSED, ST_EST, ST_NEW } from './flow.js';
export type { FlowTableOptions } from './table.js';
export type { TcpHooks } from './tcp.js';
