/** SMTP: contract in ./types.ts, rules and sources in ./README.md. */
export * from './types.js';
export { SmtpParser, SmtpTx } from './parser.js';
export { MimeDecoder, findHeaderToken } from './mime.js';
export { SMTP_PROTOCOL, SMTP_BUFFERS, smtpEve, emailEve, smtpFiles } from './protocol.js';
