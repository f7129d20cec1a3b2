/**
 * What each TCP segment of a connection said, in both directions, as Wireshark shows it:
 * relative sequence and acknowledgement numbers, the scaled receive window, the flags, and
 * Wireshark's window analysis marks (tcp.analysis.*). No I/O.
 */
import { TCP_FLAGS, type TcpSegment } from './types.js';

/** Window analysis marks of a segment, as bits of one number (the rules are Wireshark's tcp.analysis ones). */
export const DETAIL_MARKS = {
  /** `tcp.analysis.zero_window`: the window is 0 and none of SYN, FIN, RST is set. */
  zeroWindow: 0x01,
  /**
   * A probe of the peer's zero window: sent while the last window the peer advertised is 0, either
   * one byte at the next sequence number (`tcp.analysis.zero_window_probe`) or, as Linux probes, no
   * byte at the next sequence number minus one (which Wireshark marks `tcp.analysis.keep_alive`).
   */
  windowProbe: 0x02,
  /** `tcp.analysis.keep_alive`: 0 or 1 byte at the next sequence number minus one, no SYN, FIN, RST. */
  keepAlive: 0x04,
  /**
   * `tcp.analysis.window_update`: no payload, a window that is not 0 and differs from this side's
   * previous one, at the next sequence number, acknowledging what this side's previous segment
   * did, no SYN, FIN, RST.
   */
  windowUpdate: 0x08,
  /** `tcp.analysis.window_full`: payload that fills the peer's last advertised window to its end. */
  windowFull: 0x10,
  /** The handshake was not seen, so the window scale is unknown: `window` is the header's field, unscaled. */
  unscaled: 0x20,
} as const;

/** One segment of a connection, either direction. */
export interface SegmentDetail {
  readonly frame: number;
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  /** Sent by the client (else by the server). */
  readonly fromClient: boolean;
  /** TCP header flags ({@link TCP_FLAGS}). */
  readonly flags: number;
  /** Sequence number relative to this direction's ISN (the SYN is 0, the first data byte 1), mod 2^32. */
  readonly seq: number;
  /** Acknowledgement number relative to the other direction's ISN, mod 2^32; 0 without ACK. */
  readonly ack: number;
  /** Receive window in bytes: the header's field shifted by the scale the sender announced in its SYN (not in a SYN). */
  readonly window: number;
  /** Payload bytes the segment carried on the wire (including any the capture cut). */
  readonly length: number;
  /** {@link DETAIL_MARKS} bits. */
  readonly marks: number;
}

/** What {@link DetailTracker} counted over a connection. */
export interface DetailSummary {
  readonly records: number;
  /** The MSS option of each side's SYN, or null when it was not seen. */
  readonly mss: { readonly client: number | null; readonly server: number | null };
  /** The window scale shift each side announced and that applies (both SYNs carried one), else null. */
  readonly windowScale: { readonly client: number | null; readonly server: number | null };
  /** The largest payload one segment carried, per sender. */
  readonly largest: { readonly client: number; readonly server: number };
  /** The smallest window each side advertised outside its SYN, or null when it sent none. */
  readonly minWindow: { readonly client: number | null; readonly server: number | null };
  /** Bare acknowledgements (no payload, no SYN, FIN or RST) per sender. */
  readonly bareAcks: { readonly client: number; readonly server: number };
  /** How many segments carry each mark. */
  readonly marks: { readonly zeroWindow: number; readonly windowProbe: number; readonly keepAlive: number; readonly windowUpdate: number; readonly windowFull: number };
}

const MOD = 2 ** 32;
const rel = (n: number, base: number): number => (((n - base) % MOD) + MOD) % MOD;

interface Direction {
  /** Sequence number of relative 0 (the ISN), or null before this side's first segment. */
  base: number | null;
  synScale: number | null;
  synSeen: boolean;
  mss: number | null;
  /** Relative sequence number of the next byte expected from this side, once a segment came. */
  nextSeq: number | null;
  lastAck: number | null;
  /** Last scaled window this side advertised (outside a SYN), or null. */
  window: number | null;
  largest: number;
  minWindow: number | null;
  bareAcks: number;
}

const newDirection = (): Direction => ({ base: null, synScale: null, synSeen: false, mss: null, nextSeq: null, lastAck: null, window: null, largest: 0, minWindow: null, bareAcks: 0 });

/**
 * Follows one connection's segments, both directions, in capture order, and says what each one
 * said. Without a SYN, a direction's relative numbers count from its first segment's sequence
 * number minus one. Never throws on wire values.
 */
export class DetailTracker {
  readonly #client = newDirection();
  readonly #server = newDirection();
  readonly #marks = { zeroWindow: 0, windowProbe: 0, keepAlive: 0, windowUpdate: 0, windowFull: 0 };
  #records = 0;

  /** Takes the connection's next segment; `fromClient` says who sent it. */
  push(seg: TcpSegment, fromClient: boolean): SegmentDetail {
    const fwd = fromClient ? this.#client : this.#server;
    const rev = fromClient ? this.#server : this.#client;
    const syn = (seg.flags & TCP_FLAGS.syn) !== 0;
    const fin = (seg.flags & TCP_FLAGS.fin) !== 0;
    const rst = (seg.flags & TCP_FLAGS.rst) !== 0;
    const hasAck = (seg.flags & TCP_FLAGS.ack) !== 0;
    const length = seg.payload.length + Math.max(0, Math.floor(seg.cut) || 0);
    if (syn) {
      fwd.synSeen = true;
      fwd.base = seg.seq >>> 0;
      fwd.synScale = seg.windowScale ?? null;
      if (seg.mss !== undefined) fwd.mss = seg.mss;
    }
    fwd.base ??= rel(seg.seq, 1);
    if (hasAck) rev.base ??= rel(seg.ack, 1);
    const seq = rel(seg.seq, fwd.base);
    const ack = hasAck ? rel(seg.ack, rev.base!) : 0;
    // RFC 7323 §2.2: the window of a SYN is never scaled; scaling holds once both SYNs offered it.
    const scaled = fwd.synScale !== null && rev.synScale !== null;
    const known = fwd.synSeen && rev.synSeen;
    const window = syn || !scaled ? seg.window : seg.window * 2 ** fwd.synScale!;

    let marks = known || syn ? 0 : DETAIL_MARKS.unscaled;
    const plain = !syn && !fin && !rst;
    if (window === 0 && plain) marks |= DETAIL_MARKS.zeroWindow;
    const peerClosed = rev.window === 0;
    if (plain && length <= 1 && fwd.nextSeq !== null && seq === rel(fwd.nextSeq, 1)) marks |= DETAIL_MARKS.keepAlive;
    if (plain && peerClosed && fwd.nextSeq !== null && ((length === 1 && seq === fwd.nextSeq) || (length === 0 && seq === rel(fwd.nextSeq, 1)))) {
      marks |= DETAIL_MARKS.windowProbe;
    }
    if (plain && length === 0 && window !== 0 && fwd.window !== null && window !== fwd.window && seq === fwd.nextSeq && hasAck && ack === fwd.lastAck) {
      marks |= DETAIL_MARKS.windowUpdate;
    }
    if (length > 0 && !syn && rev.window !== null && rev.lastAck !== null && rel(seq + length, 0) === rel(rev.lastAck + rev.window, 0)) {
      marks |= DETAIL_MARKS.windowFull;
    }

    // What this side will send next: a SYN and a FIN take one sequence number each; a probe before nextSeq moves nothing.
    const end = rel(seq + length + (syn ? 1 : 0) + (fin ? 1 : 0), 0);
    if (fwd.nextSeq === null || rel(end - fwd.nextSeq, 0) < MOD / 2) fwd.nextSeq = end;
    if (hasAck) fwd.lastAck = ack;
    if (!syn) {
      fwd.window = window;
      fwd.minWindow = fwd.minWindow === null ? window : Math.min(fwd.minWindow, window);
    }
    fwd.largest = Math.max(fwd.largest, length);
    if (length === 0 && !syn && !fin && !rst) fwd.bareAcks++;
    for (const [name, bit] of Object.entries(DETAIL_MARKS) as [keyof typeof DETAIL_MARKS, number][]) {
      if (name !== 'unscaled' && marks & bit) this.#marks[name]++;
    }
    this.#records++;
    return { frame: seg.frame, timeUs: seg.timeUs, fromClient, flags: seg.flags, seq, ack, window, length, marks };
  }

  /** What was counted so far. */
  summary(): DetailSummary {
    const c = this.#client;
    const s = this.#server;
    const scaled = c.synScale !== null && s.synScale !== null;
    return {
      records: this.#records,
      mss: { client: c.mss, server: s.mss },
      windowScale: { client: scaled ? c.synScale : null, server: scaled ? s.synScale : null },
      largest: { client: c.largest, server: s.largest },
      minWindow: { client: c.minWindow, server: s.minWindow },
      bareAcks: { client: c.bareAcks, server: s.bareAcks },
      marks: { ...this.#marks },
    };
  }
}
