/**
 * TCP connection tracking on a flow: which side is the client, the handshake and whether it is
 * evidence about the client (docs/engine.md "Handshake evidence"), RST/FIN closing. Pure state
 * updates on the Flow; what follows (detectors, stream) is the caller's through `TcpHooks`.
 */
import { DIR, type PacketDirection } from '../capture/types.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcpHasSignatureOption, type DecodedPacket } from '../decode/decode.js';
import { seqDiff, startStream } from '../stream/reassembly.js';
import type { DirState } from '../stream/dir-state.js';
import { Flow, ST_CLOSED, ST_EST, ST_NEW } from './flow.js';

export interface TcpHooks {
  /** The client's first SYN of the flow. */
  onSyn(p: DecodedPacket, tsMs: number): void;
  /** The handshake completed (the client's ACK of the SYN/ACK). */
  onHandshake(p: DecodedPacket, flow: Flow, tsMs: number): void;
  /** The flow closed (RST, or FIN in both directions): free its stream memory. */
  onClose(flow: Flow): void;
  /**
   * The sender of a RST with an MD5/AO option sent a regular packet after it (Suricata's
   * stream.suspected_rst_inject): the flow reopened; the packet is tracked as usual.
   */
  onSuspectedRstInject?(flow: Flow, dir: DirState, p: DecodedPacket): void;
}

/** `track` verdicts besides a sequence number (which is ≥ 0). */
export const TRACK_STOP = -1;
/** A handshake step in the wrong direction (live): not inspected, counted as wrong_direction. */
export const TRACK_WRONG_DIRECTION = -2;

/**
 * A new flow for a packet that has none. The sender is the client for a SYN, the server for a
 * SYN/ACK; picked up mid-stream, the side on a watched port is the server, else the lower port,
 * or with `midstreamSenderIsClient` (engine.midstream, Suricata's stream.midstream) the sender
 * is the client, as Suricata sets up a mid-stream session.
 */
export function newFlow(p: DecodedPacket, isSyn: boolean, isSynAck: boolean, tsMs: number, watched: (port: number) => boolean, midstreamSenderIsClient = false): Flow {
  const f = new Flow();
  f.createdMs = tsMs;
  f.lastMs = tsMs;
  let senderIsClient: boolean;
  if (isSyn) senderIsClient = true;
  else if (isSynAck) senderIsClient = false;
  else {
    const wd = watched(p.dstPort);
    const ws = watched(p.srcPort);
    senderIsClient = wd !== ws ? wd : midstreamSenderIsClient || p.dstPort <= p.srcPort;
    f.midstream = true;
  }
  if (isSynAck) f.midstream = true;
  if (p.ipVersion === 4) {
    f.cli4 = senderIsClient ? p.src4 : p.dst4;
    f.srv4 = senderIsClient ? p.dst4 : p.src4;
  } else {
    f.v6 = true;
    const a = new Uint8Array(32);
    const b = p.buf;
    a.set(b.subarray(senderIsClient ? p.src6Offset : p.dst6Offset, (senderIsClient ? p.src6Offset : p.dst6Offset) + 16), 0);
    a.set(b.subarray(senderIsClient ? p.dst6Offset : p.src6Offset, (senderIsClient ? p.dst6Offset : p.src6Offset) + 16), 16);
    f.addr6 = a;
  }
  f.cliPort = senderIsClient ? p.srcPort : p.dstPort;
  f.srvPort = senderIsClient ? p.dstPort : p.srcPort;
  return f;
}

/** A SYN from the client that starts a new connection on the flow's 4-tuple (reuse). */
export function isReuse(flow: Flow, p: DecodedPacket, fromClient: boolean): boolean {
  const isSyn = (p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
  return isSyn && fromClient && (flow.state === ST_CLOSED || (flow.c2s.started && ((p.seq + 1) >>> 0) !== flow.c2s.base));
}

/**
 * Updates the flow for one packet of direction `dir` (sent by the client when `fromClient`).
 * Returns the sequence number of the packet's first payload byte, or TRACK_STOP (RST, closed
 * flow: nothing more to do) or TRACK_WRONG_DIRECTION.
 */
export function trackTcp(flow: Flow, dir: DirState, p: DecodedPacket, fromClient: boolean, pdir: PacketDirection, live: boolean, tsMs: number, hooks: TcpHooks): number {
  const flags = p.flags;
  if ((flags & TCP_RST) !== 0) {
    if (flow.state !== ST_CLOSED && (!dir.started || Math.abs(seqDiff(p.seq, dir.nextSeq)) < 1 << 20)) {
      // Suricata (StreamTcpValidateRst): an MD5/AO signed RST cannot be checked without the key,
      // so it is accepted while watching whether its sender ignores it; the flow is not freed yet.
      if (tcpHasSignatureOption(p)) {
        flow.rstSender = fromClient ? 1 : 2;
        flow.preRstState = flow.state;
        flow.state = ST_CLOSED;
        return TRACK_STOP;
      }
      flow.state = ST_CLOSED;
      hooks.onClose(flow);
    }
    return TRACK_STOP;
  }
  if (flow.state === ST_CLOSED) {
    // Closed by a signed RST: a packet of its sender is processed in the state before it
    // (StreamTcpPacketStateClosed) and flags the RST as injected (StreamTcpPacketCheckPostRst);
    // the receiver's packets are not.
    if (flow.rstSender === 0 || flow.rstSender !== (fromClient ? 1 : 2)) return TRACK_STOP;
    flow.state = flow.preRstState;
    flow.rstSender = 0;
    hooks.onSuspectedRstInject?.(flow, dir, p);
  }

  const isSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
  const isSynAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
  let seq = p.seq;
  if ((flags & TCP_SYN) !== 0) {
    seq = (seq + 1) >>> 0;
    if (isSyn && fromClient) {
      if (!dir.started) startStream(dir, seq);
      if (!flow.synSeen) {
        flow.synSeen = true;
        flow.synTsMs = tsMs;
        flow.cliDir = pdir;
        hooks.onSyn(p, tsMs);
      }
    } else if (isSynAck && !fromClient) {
      if (live && flow.synSeen && pdir !== DIR.UNKNOWN && pdir === flow.cliDir) {
        // The server's answer travels against the client's SYN: a SYN/ACK in the SYN's own
        // direction is not what this host's side sent or received (a forgery, or the second
        // copy of a forwarded one). Ignored, so it cannot set the server's sequence base either.
        return TRACK_WRONG_DIRECTION;
      }
      if (!dir.started) startStream(dir, seq);
      if (!flow.synAckSeen) flow.synAckDir = pdir;
      flow.synAckSeen = true;
    }
  } else if (!flow.handshakeDone && fromClient && (flags & TCP_ACK) !== 0 && flow.synSeen && flow.synAckSeen && p.ack === flow.s2c.base) {
    if (live && pdir !== DIR.UNKNOWN && flow.cliDir !== DIR.UNKNOWN && pdir !== flow.cliDir) return TRACK_WRONG_DIRECTION;
    flow.handshakeDone = true;
    flow.state = ST_EST;
    // Live, every step must have a known direction: with the SYN/ACK checked above, the client's
    // SYN and ACK went one way and the server's SYN/ACK the other, so one side is this host's
    // kernel (or a host it forwards for) and only the other side can have been forged.
    flow.handshakeVerified = !live || (flow.cliDir !== DIR.UNKNOWN && pdir !== DIR.UNKNOWN && flow.synAckDir !== DIR.UNKNOWN);
    hooks.onHandshake(p, flow, tsMs);
  }
  if (p.payloadLength > 0 && flow.state === ST_NEW && !flow.synSeen && dir.group !== null) flow.state = ST_EST; // mid-stream pickup
  return seq;
}

/** After the packet's payload went to the stream: a FIN ends the direction; both ended close the flow. */
export function trackFin(flow: Flow, dir: DirState, p: DecodedPacket, hooks: TcpHooks): void {
  if ((p.flags & TCP_FIN) !== 0) {
    dir.finSeen = true;
    if (flow.c2s.finSeen && flow.s2c.finSeen) {
      flow.state = ST_CLOSED;
      hooks.onClose(flow);
    }
  }
}
