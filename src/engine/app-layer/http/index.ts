/** HTTP/1.x app-layer parser: contract in ./types.ts, rules and sources in ./README.md. */
export * from './types.js';
export { HttpParser, type HttpParserOptions } from './parser.js';
export { HTTP_BUFFERS, httpBuffer, httpBufferSpec, httpMultiBuffer } from './buffers.js';
export { httpEve } from './eve.js';
export { probeHttp } from './probe.js';
