import { describe, expect, it } from 'vitest';
import { DETAIL_MARKS as M, DetailTracker } from '../../src/wire/detail.js';
import { TCP_FLAGS as T, type TcpSegment } from '../../src/wire/types.js';

const C = { address: '10.0.0.1', port: 50000 };
const S = { address: '10.0.0.2', port: 8181 };
const ISN_C = 4_294_967_000; // wraps past 2^32 within the transfer
const ISN_S = 1_000;

let frame = 0;
function seg(fromClient: boolean, flags: number, seq: number, ack: number, window: number, length = 0, extra: Partial<TcpSegment> = {}): TcpSegment {
  frame++;
  return { frame, timeUs: frame * 1000, src: fromClient ? C : S, dst: fromClient ? S : C, seq: seq >>> 0, ack: ack >>> 0, flags, window, payload: new Uint8Array(length), cut: 0, ...extra };
}

describe('DetailTracker', () => {
  it('numbers seq and ack from each side’s ISN, scales windows once both SYNs offered it, and marks a zero window, a Linux probe and the update', () => {
    frame = 0;
    const d = new DetailTracker();
    const c = (flags: number, seq: number, ack: number, window: number, length = 0) => d.push(seg(true, flags, ISN_C + seq, ISN_S + ack, window, length), true);
    const s = (flags: number, seq: number, ack: number, window: number, length = 0) => d.push(seg(false, flags, ISN_S + seq, ISN_C + ack, window, length), false);
    const syn = d.push(seg(true, T.syn, ISN_C, 0, 65535, 0, { mss: 65495, windowScale: 7 }), true);
    const synAck = d.push(seg(false, T.syn | T.ack, ISN_S, ISN_C + 1, 8192, 0, { mss: 1460, windowScale: 0 }), false);
    expect([syn.seq, syn.ack, syn.window, syn.marks]).toEqual([0, 0, 65535, 0]);
    expect([synAck.seq, synAck.ack, synAck.window]).toEqual([0, 1, 8192]);
    // Client scale 7: its 512 means 65,536 bytes. Server scale 0: its windows are as written.
    expect(c(T.ack, 1, 1, 512).window).toBe(65_536);
    const data = c(T.ack | T.psh, 1, 1, 512, 4096);
    expect([data.seq, data.ack, data.length, data.marks]).toEqual([1, 1, 4096, 0]);
    const ack1 = s(T.ack, 1, 4097, 4096);
    expect([ack1.seq, ack1.ack, ack1.window, ack1.marks]).toEqual([1, 4097, 4096, 0]);
    // 4,096 bytes fill the window the server just advertised to its end.
    expect(c(T.ack | T.psh, 4097, 1, 512, 4096).marks).toBe(M.windowFull);
    const zero = s(T.ack, 1, 8193, 0);
    expect([zero.ack, zero.window, zero.marks]).toEqual([8193, 0, M.zeroWindow]);
    // Linux's zero-window probe: no byte, at the next sequence number minus one.
    const probe = c(T.ack, 8192, 1, 512);
    expect([probe.seq, probe.length, probe.marks]).toEqual([8192, 0, M.windowProbe | M.keepAlive]);
    expect(s(T.ack, 1, 8193, 0).marks).toBe(M.zeroWindow);
    const update = s(T.ack, 1, 8193, 8192);
    expect([update.window, update.marks]).toEqual([8192, M.windowUpdate]);
    // Past 2^32 the relative numbers keep counting from the ISN, mod 2^32.
    expect(c(T.ack | T.psh, 8193, 1, 512, 100).seq).toBe(8193);
    expect(s(T.fin | T.ack, 1, 8293, 8192).marks).toBe(0);
    expect(d.summary()).toEqual({
      records: 12,
      mss: { client: 65495, server: 1460 },
      windowScale: { client: 7, server: 0 },
      largest: { client: 4096, server: 0 },
      minWindow: { client: 65_536, server: 0 },
      bareAcks: { client: 2, server: 4 },
      marks: { zeroWindow: 2, windowProbe: 1, keepAlive: 1, windowUpdate: 1, windowFull: 1 },
    });
  });

  it('marks a one-byte probe at the next sequence number as Wireshark’s zero-window probe', () => {
    frame = 0;
    const d = new DetailTracker();
    d.push(seg(true, T.syn, 100, 0, 1000), true);
    d.push(seg(false, T.syn | T.ack, 500, 101, 1000), false);
    d.push(seg(true, T.ack, 101, 501, 1000, 1000), true);
    d.push(seg(false, T.ack, 501, 1101, 0), false);
    const probe = d.push(seg(true, T.ack, 1101, 501, 1000, 1), true);
    expect([probe.seq, probe.marks]).toEqual([1001, M.windowProbe]);
    // Without window scale options on both SYNs, no window is scaled.
    expect(d.summary().windowScale).toEqual({ client: null, server: null });
  });

  it('leaves windows unscaled, and says so, when the handshake was not captured', () => {
    frame = 0;
    const d = new DetailTracker();
    const first = d.push(seg(true, T.ack | T.psh, 7000, 9000, 512, 10), true);
    expect([first.seq, first.ack, first.window, first.marks]).toEqual([1, 1, 512, M.unscaled]);
    const back = d.push(seg(false, T.ack, 9000, 7010, 300), false);
    expect([back.seq, back.ack, back.marks]).toEqual([1, 11, M.unscaled]);
  });
});
