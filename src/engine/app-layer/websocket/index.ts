/** WebSocket: contract in ./types.ts, rules and sources in ./README.md. */
export * from './types.js';
export { WebSocketParser, WebSocketTx } from './parser.js';
export { WEBSOCKET_PROTOCOL, WEBSOCKET_BUFFERS, WEBSOCKET_KEYWORDS, websocketProtocol, websocketEve, probeWebSocket } from './protocol.js';
