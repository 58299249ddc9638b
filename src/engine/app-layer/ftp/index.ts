/** FTP control connection and ftp-data: contract in ./types.ts, rules and sources in ./README.md. */
export * from './types.js';
export { FtpParser, FtpTx, parseHostPort, parseEprt, parseEpsvReply } from './parser.js';
export { FTP_PROTOCOL, FTP_BUFFERS, FTP_KEYWORDS, ftpEve } from './protocol.js';
export { FTP_DATA_PROTOCOL, FtpDataParser, FtpDataTx, createFtpDataParser, ftpDataEve, DEFAULT_FTP_DATA_LIMITS, type FtpDataLimits } from './data.js';
