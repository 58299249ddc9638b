/**
 * Suricata's handling of a RST with a TCP MD5 (kind 19) or TCP-AO (kind 29) option
 * (StreamTcpValidateRst, security ticket 4710): such a RST cannot be validated, so it closes the
 * session but its sender's next regular packet reopens it, raising stream.suspected_rst_inject.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket, tcpHasSignatureOption } from '../../../../src/engine/decode/decode.js';
import { ACK, Conv, RST, feed, makeEngine, rules } from '../helpers.js';

const RULES = rules(
  [
    'alert tcp any any -> any 80 (msg:"evil"; content:"EVIL"; sid:1;)',
    'alert tcp any any -> any any (msg:"SURICATA STREAM suspected RST injection"; stream-event:suspected_rst_inject; sid:2210058;)',
  ].join('\n'),
);

const MD5 = Uint8Array.from([19, 18, ...new Array<number>(16).fill(0xab), 0]);
const AO = Uint8Array.from([29, 6, 1, 2, 0xaa, 0xbb]);

/** A client (or server) RST on the conversation at its current sequence numbers. */
function rst(c: Conv, fromClient: boolean, options?: Uint8Array): void {
  c.tsUs += 1000;
  c.frames.push({
    tsUs: c.tsUs,
    data: tcpFrame({
      srcIp: fromClient ? c.cli : c.srv,
      dstIp: fromClient ? c.srv : c.cli,
      srcPort: fromClient ? c.cport : c.sport,
      dstPort: fromClient ? c.sport : c.cport,
      seq: fromClient ? c.cseq : c.sseq,
      ack: fromClient ? c.sseq : c.cseq,
      flags: RST | ACK,
      ...(options !== undefined ? { tcpOptions: options } : {}),
    }),
  });
}

function sids(c: Conv): number[] {
  const { engine, detections } = makeEngine(RULES);
  feed(engine, c.frames);
  return detections.map((d) => d.signatureId).sort((a, b) => a - b);
}

test('tcpHasSignatureOption: MD5 and AO options, not others', () => {
  const p = new DecodedPacket();
  const f = (o?: Uint8Array): Uint8Array => tcpFrame({ srcIp: '198.51.100.1', dstIp: '198.51.100.2', srcPort: 1, dstPort: 2, seq: 1, flags: RST, ...(o ? { tcpOptions: o } : {}) });
  for (const [o, want] of [[MD5, true], [AO, true], [Uint8Array.from([1, 1, 2, 4, 5, 0xb4]), false], [undefined, false]] as const) {
    const fr = f(o);
    assert.equal(decodePacket(fr, 0, fr.length, 1, p), 0);
    assert.equal(tcpHasSignatureOption(p), want);
  }
});

test('the sender of an MD5 or AO signed RST keeps talking: the flow reopens, the event alerts once, its data is inspected', () => {
  for (const opt of [MD5, AO]) {
    const c = new Conv('198.51.100.10', '198.51.100.11', 40000, 80).handshake();
    rst(c, true, opt);
    c.c('GET /EVIL HTTP/1.0\r\n\r\n').s('HTTP/1.0 200 OK\r\n\r\n').c('more');
    assert.deepEqual(sids(c), [1, 2210058]);
  }
});

test('a RST without a signature option closes the flow for good; the receiver of a signed one does not reopen it', () => {
  const plain = new Conv('198.51.100.10', '198.51.100.11', 40001, 80).handshake();
  rst(plain, true);
  plain.c('GET /EVIL HTTP/1.0\r\n\r\n');
  assert.deepEqual(sids(plain), []);
  // signed RST from the client, then only the server speaks: still closed, no event
  const recv = new Conv('198.51.100.10', '198.51.100.11', 40002, 80).handshake();
  rst(recv, true, MD5);
  recv.s('EVIL from the server');
  assert.deepEqual(sids(recv), []);
  // a second RST from the same sender is not a regular packet: no event
  const twice = new Conv('198.51.100.10', '198.51.100.11', 40003, 80).handshake();
  rst(twice, true, MD5);
  rst(twice, true, MD5);
  assert.deepEqual(sids(twice), []);
});
