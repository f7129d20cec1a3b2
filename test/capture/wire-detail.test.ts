import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMeta } from '../../src/capture/index.js';
import { importPcap } from '../../src/capture/pcap-import.js';
import { DETAIL_MARKS as M, DETAIL_RECORD_SIZE, detailOfLane, readDetails } from '../../src/capture/wire-detail.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { encodeTcpFrame } from '../../src/wire/frames.js';
import { enhancedPacket, interfaceDescription, sectionHeader } from '../../src/wire/pcapng.js';
import { TCP_FLAGS as T } from '../../src/wire/types.js';
import { concatBytes } from '../helpers/bytes.js';
import { withTempDir } from '../helpers/net.js';

const CLIENT = { address: '10.1.1.1', port: 40_000 };
const SERVER = { address: '10.1.1.2', port: 8181 };
/** 7,000 bytes of payload: 700 segments of 10, more than an import keeps in memory per connection. */
const STREAM = encodeTransfer([{ name: 'dados.bin', data: new Uint8Array(7000 - 140).fill(0x61) }]);
const ISN_C = 5_000;
const ISN_S = 90_000;

/**
 * A pcapng of one transfer, both directions: the handshake (MSS 1460 and 1000), the stream in
 * segments of 10 bytes, each acknowledged by the server with a window that shrinks by 10 from
 * 100; when it reaches 0, a Linux-style probe, a zero window again, and an update to 100; then
 * FIN both ways and the last ACK.
 */
function transfer(): Uint8Array {
  const parts = [sectionHeader({}), interfaceDescription(1)];
  let t = 1_700_000_000_000_000;
  const frame = (fromClient: boolean, seq: number, ack: number, flags: number, window: number, payload = new Uint8Array(0), mss?: number): void => {
    t += 1000;
    parts.push(enhancedPacket(t, encodeTcpFrame({ src: fromClient ? CLIENT : SERVER, dst: fromClient ? SERVER : CLIENT, seq, ack, flags, window, ipId: 0, payload, ...(mss ? { mss } : {}) })));
  };
  frame(true, ISN_C, 0, T.syn, 65535, undefined, 1460);
  frame(false, ISN_S, ISN_C + 1, T.syn | T.ack, 100, undefined, 1000);
  frame(true, ISN_C + 1, ISN_S + 1, T.ack, 65535);
  let window = 100;
  for (let at = 0; at < STREAM.length; at += 10) {
    frame(true, ISN_C + 1 + at, ISN_S + 1, T.ack | T.psh, 65535, STREAM.subarray(at, at + 10));
    window -= 10;
    const acked = ISN_C + 1 + at + 10;
    frame(false, ISN_S + 1, acked, T.ack, window);
    if (window === 0) {
      frame(true, acked - 1, ISN_S + 1, T.ack, 65535);
      frame(false, ISN_S + 1, acked, T.ack, 0);
      frame(false, ISN_S + 1, acked, T.ack, (window = 100));
    }
  }
  const end = ISN_C + 1 + STREAM.length;
  frame(true, end, ISN_S + 1, T.fin | T.ack, 65535);
  frame(false, ISN_S + 1, end + 1, T.fin | T.ack, 100);
  frame(true, end + 1, ISN_S + 2, T.ack, 65535);
  return concatBytes(...parts);
}

describe('an import keeps every segment of both directions in wire-detail.bin', () => {
  it('writes 40-byte records with relative numbers, windows and marks, joined to the lane, through its spill files', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'both.pcapng');
      await writeFile(file, transfer());
      const { connections } = await importPcap(file, { capturesDir: path.join(dir, 'captures') });
      expect(connections).toHaveLength(1);
      const c = connections[0]!;
      // 3 (handshake) + 700 × 2 + 70 closures × 3 + 2 FINs; the last ACK, after both FINs, is not kept.
      const records = 3 + 1400 + 210 + 2;
      expect((await stat(path.join(c.dir, 'wire-detail.bin'))).size).toBe(records * DETAIL_RECORD_SIZE);
      const meta = await readMeta(c.dir);
      // An import holds a wire lane and nothing newer (the detail file is optional): version 2 describes it.
      expect((JSON.parse(await readFile(path.join(c.dir, 'capture.json'), 'utf8')) as { version: number }).version).toBe(2);
      expect(meta.wire?.detail).toEqual({
        records,
        mss: { client: 1460, server: 1000 },
        windowScale: { client: null, server: null },
        largest: { client: 10, server: 0 },
        minWindow: { client: 65535, server: 0 },
        bareAcks: { client: 71, server: 840 },
        marks: { zeroWindow: 140, windowProbe: 70, keepAlive: 70, windowUpdate: 70, windowFull: 70 },
      });
      const first = await readDetails(c.dir, 0, 5);
      expect(first.map((r) => [r.fromClient, r.flags, r.seq, r.ack, r.window, r.length, r.marks, r.lane, r.frame, r.timeUs])).toEqual([
        [true, T.syn, 0, 0, 65535, 0, 0, 0, 1, 0],
        [false, T.syn | T.ack, 0, 1, 100, 0, 0, null, 2, 1000],
        [true, T.ack, 1, 1, 65535, 0, 0, null, 3, 2000],
        [true, T.ack | T.psh, 1, 1, 65535, 10, 0, 1, 4, 3000],
        [false, T.ack, 1, 11, 90, 0, 0, null, 5, 4000],
      ]);
      // The tenth data segment fills the window; then 0, the probe, 0 again, the update.
      const closing = await readDetails(c.dir, 3 + 18, 5);
      expect(closing.map((r) => [r.fromClient, r.seq, r.ack, r.window, r.length, r.marks])).toEqual([
        [true, 91, 1, 65535, 10, M.windowFull],
        [false, 1, 101, 0, 0, M.zeroWindow],
        [true, 100, 1, 65535, 0, M.windowProbe | M.keepAlive],
        [false, 1, 101, 0, 0, M.zeroWindow],
        [false, 1, 101, 100, 0, M.windowUpdate],
      ]);
      // The 600th data segment's detail, found from its lane record by binary search.
      const lane = await detailOfLane(c.dir, records, 600);
      expect([lane?.lane, lane?.seq, lane?.length, lane?.fromClient]).toEqual([600, 1 + 599 * 10, 10, true]);
      expect(await detailOfLane(c.dir, records, 10_000)).toBeNull();
      // The lane itself is as before: 1 SYN + 700 data + 1 FIN.
      expect((await readFile(path.join(c.dir, 'wire.events'))).length).toBe(702 * 24);
    });
  });
});
