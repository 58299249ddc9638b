/**
 * Contract of the decode stage: a captured frame (link type, bytes, capture direction) in, one
 * `DecodedPacket` (IPv4/IPv6 + TCP, reused per packet: copy what must outlive it) or a
 * `DROP` reason out, plus the packet's decoder events (Suricata's `decode-event:` names,
 * `DECODE_EVENTS`) raised with Suricata's conditions whatever the outcome. IP fragments are held
 * by the `Defragmenter` (Suricata's defrag, BSD overlap policy) until whole; checksums are
 * validated per the capture's `ChecksumPolicy`. Every drop reason is a bounded metric label.
 */
export { DecodedPacket, DROP, DROP_REASONS, LINKTYPE, type DropReason } from './decode.js';
export type { ChecksumChecks } from './checksum.js';
export type { DefragLimits } from './defrag.js';
export { DECODE_EVENTS, decodeEventId, type DecodeEventName } from './events.js';
