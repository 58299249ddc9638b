/** SSH app-layer protocol: contract in ./types.ts, semantics and sources in ./README.md. */
import type { AppProtocol } from '../types.js';
import { SSH_BUFFERS, SSH_KEYWORDS } from './buffers.js';
import { sshEve } from './eve.js';
import { SshParser } from './parser.js';
import { probeSsh } from './probe.js';
import type { SshLimits } from './types.js';

export * from './types.js';
export { SshParser, parseBanner, parseKexinit } from './parser.js';
export { SshTransaction, type SshSide } from './tx.js';
export { SSH_BUFFERS, SSH_KEYWORDS, sshBuffer } from './buffers.js';
export { sshEve } from './eve.js';
export { probeSsh } from './probe.js';

export function sshProtocol(limits: Partial<SshLimits> = {}): AppProtocol {
  return {
    name: 'ssh',
    ruleProtocols: ['ssh'],
    hintPorts: [22],
    probeDirections: ['to_server', 'to_client'],
    probe: probeSsh,
    create: (ctx) => new SshParser(limits, { frames: ctx.frames === true }),
    frameTypes: ['record.pdu', 'record.hdr', 'record.data'],
    buffers: SSH_BUFFERS,
    keywords: SSH_KEYWORDS,
    events: ['invalid_banner', 'long_banner', 'invalid_record', 'long_kex_record'],
    eve: sshEve,
  };
}

export const SSH_PROTOCOL: AppProtocol = sshProtocol();
