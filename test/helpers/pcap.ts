import { encodeTransfer } from '../../src/protocol/index.js';
import { concatBytes } from './bytes.js';
import { encodeTcpFrame } from '../../src/wire/frames.js';
import { enhancedPacket, interfaceDescription, sectionHeader } from '../../src/wire/pcapng.js';
import { TCP_FLAGS } from '../../src/wire/types.js';

/** One file of 3000 bytes of text: a transfer to cut into segments. */
export const TEXT_TRANSFER = encodeTransfer([{ name: 'texto.txt', data: new TextEncoder().encode('abcdefghij'.repeat(300)) }]);

/**
 * A pcapng of one connection from 10.1.1.1:40000 to 10.1.1.2:8181: the handshake, then one
 * frame per segment of `stream`, in the order given.
 */
export function handMade(segments: readonly { offset: number; length: number; fin?: boolean }[], stream: Uint8Array): Uint8Array {
  const client = { address: '10.1.1.1', port: 40_000 };
  const server = { address: '10.1.1.2', port: 8181 };
  const isn = 4_294_967_000; // wraps past 2^32 within the first kilobyte
  const parts = [sectionHeader({}), interfaceDescription(1)];
  let t = 1_700_000_000_000_000;
  const frame = (fromClient: boolean, seq: number, ack: number, flags: number, payload = new Uint8Array(0)): void => {
    parts.push(enhancedPacket((t += 1000), encodeTcpFrame({ src: fromClient ? client : server, dst: fromClient ? server : client, seq: seq >>> 0, ack: ack >>> 0, flags, window: 65535, ipId: 0, payload })));
  };
  frame(true, isn, 0, TCP_FLAGS.syn);
  frame(false, 7, isn + 1, TCP_FLAGS.syn | TCP_FLAGS.ack);
  frame(true, isn + 1, 8, TCP_FLAGS.ack);
  for (const s of segments) {
    frame(true, isn + 1 + s.offset, 8, TCP_FLAGS.ack | (s.fin ? TCP_FLAGS.fin : 0), stream.subarray(s.offset, s.offset + s.length));
  }
  return concatBytes(...parts);
}

/**
 * A pcapng of `n` connections to 10.1.1.2:8181, each from its own port, all open at once: every
 * handshake first, then each connection's stream (`stream(i)`, from 0) in one segment, then,
 * with `fin`, a FIN both ways for each. Without it they are still open where the file ends.
 */
export function manyConnections(n: number, stream: (i: number) => Uint8Array, options: { fin?: boolean } = {}): Uint8Array {
  const server = { address: '10.1.1.2', port: 8181 };
  const client = (i: number) => ({ address: `10.1.${2 + Math.floor(i / 60_000)}.1`, port: 1024 + (i % 60_000) });
  const parts = [sectionHeader({}), interfaceDescription(1)];
  let t = 1_700_000_000_000_000;
  const frame = (i: number, fromClient: boolean, seq: number, ack: number, flags: number, payload = new Uint8Array(0)): void => {
    const c = client(i);
    parts.push(enhancedPacket((t += 10), encodeTcpFrame({ src: fromClient ? c : server, dst: fromClient ? server : c, seq, ack, flags, window: 65535, ipId: 0, payload })));
  };
  for (let i = 0; i < n; i++) {
    frame(i, true, 1000, 0, TCP_FLAGS.syn);
    frame(i, false, 5000, 1001, TCP_FLAGS.syn | TCP_FLAGS.ack);
    frame(i, true, 1001, 5001, TCP_FLAGS.ack);
  }
  const sent = Array.from({ length: n }, (_, i) => stream(i));
  for (let i = 0; i < n; i++) frame(i, true, 1001, 5001, TCP_FLAGS.ack | TCP_FLAGS.psh, sent[i]);
  if (options.fin) {
    for (let i = 0; i < n; i++) {
      frame(i, true, 1001 + sent[i]!.length, 5001, TCP_FLAGS.ack | TCP_FLAGS.fin);
      frame(i, false, 5001, 1002 + sent[i]!.length, TCP_FLAGS.ack | TCP_FLAGS.fin);
    }
  }
  return concatBytes(...parts);
}
