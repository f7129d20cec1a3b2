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
