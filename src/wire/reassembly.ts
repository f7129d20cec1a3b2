/**
 * One direction of one TCP connection, rebuilt from its segments in capture order: each segment
 * becomes a lane record (where it sat in the stream, how it relates to what came before) and the
 * bytes that became in-order are handed out at once. Nothing keeps the whole stream: only bytes
 * waiting behind a missing one (up to `maxHeld`) and a bounded window of recent bytes.
 */
import { SEGMENT_FLAGS, TCP_FLAGS } from './types.js';

/** One segment as the lane shows it: where it sat in the stream and how it relates to the bytes before it. */
export interface WireSegment {
  /** Frame number in the capture file (1 for the first frame). */
  readonly frame: number;
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  /**
   * Stream offset of the segment's first payload byte: byte 0 is the byte after the SYN (or the first
   * byte seen, with no SYN). Sequence numbers are unwrapped past 2^32, so offsets keep growing.
   * Negative for a segment lying before byte 0 (before the SYN, or before the first byte seen).
   */
  readonly offset: number;
  /** Payload bytes the segment carried on the wire, including bytes the capture cut. */
  readonly length: number;
  /** {@link SEGMENT_FLAGS} bits. */
  readonly flags: number;
}

/** What is wrong with a rebuilt stream, with numbers (offsets are stream offsets, lengths in bytes). */
export type StreamProblem =
  /** At the end, bytes from `offset` were never seen: `missing` up to the next byte seen; `held` bytes seen past it are dropped. */
  | { readonly kind: 'gap'; readonly offset: number; readonly missing: number; readonly held: number }
  /** No SYN was seen: offsets count from the first segment seen (`frame`), maybe not the start of the stream. */
  | { readonly kind: 'mid-stream'; readonly frame: number }
  /** A copy of bytes already seen differed from the first copy (kept): from the first to the last differing byte. */
  | { readonly kind: 'conflict'; readonly offset: number; readonly length: number; readonly frame: number }
  /** The capture lacks the last `length` payload bytes of the segment (snapshot length): they count as missing. */
  | { readonly kind: 'cut'; readonly offset: number; readonly length: number; readonly frame: number }
  /** More than `maxHeld` bytes were waiting behind a missing byte: out-of-order bytes from `offset` were not kept. */
  | { readonly kind: 'held-limit'; readonly offset: number; readonly frame: number };

/** One segment of this direction, as {@link StreamAssembler.push} takes it. */
export interface AssemblerInput {
  readonly frame: number;
  readonly timeUs: number;
  /** Sequence number, unsigned 32-bit. */
  readonly seq: number;
  /** TCP header flags ({@link TCP_FLAGS}). */
  readonly flags: number;
  /** The payload bytes the capture holds. */
  readonly payload: Uint8Array;
  /** Payload bytes the segment carried past `payload` that the capture cut off. */
  readonly cut: number;
}

/** What one {@link StreamAssembler.push} found. */
export interface AssemblerOutput {
  /** The lane record; null for a segment with no payload and no SYN, FIN or RST (a pure ACK). */
  readonly segment: WireSegment | null;
  /** Bytes that became in-order, to append to the stream in this order (may alias the input payload). */
  readonly data: Uint8Array[];
  readonly problems: StreamProblem[];
}

/** Options of a {@link StreamAssembler}. */
export interface AssemblerOptions {
  /** Most bytes kept waiting behind a missing byte (default 64 MiB). */
  readonly maxHeld?: number;
  /** How many of the last delivered bytes are kept to compare retransmissions against (default 256 KiB). */
  readonly compareWindow?: number;
}

const MOD = 2 ** 32;
const HALF = 2 ** 31;
const DEFAULT_MAX_HELD = 64 * 1024 * 1024;
const DEFAULT_WINDOW = 256 * 1024;

interface Piece {
  readonly start: number;
  readonly bytes: Uint8Array;
}

function mod32(n: number): number {
  return ((n % MOD) + MOD) % MOD;
}

/**
 * Rebuilds one direction of a TCP connection, incrementally.
 *
 * - Byte 0 is the byte after the SYN (a SYN consumes one sequence number, a FIN one after the
 *   payload). With no SYN first, byte 0 is the first segment's sequence number and a `mid-stream`
 *   problem is reported. Each sequence number is unwrapped to the position within ±2^31 of the
 *   previous segment's (RFC 1982), so offsets grow past 2^32 and a wild one never throws.
 * - Lane flags, for a segment with payload, from the bytes seen before it (delivered or held):
 *   `retransmission` when all of its bytes were seen (then no other of the three bits); otherwise
 *   `overlap` when some were, plus `outOfOrder` when it starts past the next expected byte. Bytes
 *   before byte 0 count as seen. Bytes the capture cut or `maxHeld` dropped were not seen.
 * - The first copy of a byte wins. Copies are compared, for `conflict`, against held bytes and
 *   against the last `compareWindow` delivered bytes; older delivered bytes are not compared.
 */
export class StreamAssembler {
  readonly #maxHeld: number;
  readonly #windowMax: number;
  /** Sequence number (mod 2^32) of byte 0; null before the first segment. */
  #origin: number | null = null;
  /** Unwrapped position, relative to byte 0, of the previous segment's sequence number. */
  #lastRel = 0;
  #next = 0;
  /** Out-of-order bytes: sorted, never overlapping, each starting past `#next`. */
  #held: Piece[] = [];
  #heldBytes = 0;
  /** End of the furthest byte seen on the wire (payload, cut bytes, or the FIN's position). */
  #highest = 0;
  #finSeen = false;
  #limitReported = false;
  /** Ring of the last delivered bytes: offset `o` sits at `o % length`. */
  #ring = new Uint8Array(0);

  constructor(options: AssemblerOptions = {}) {
    this.#maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD;
    this.#windowMax = options.compareWindow ?? DEFAULT_WINDOW;
  }

  /** Bytes appended to the stream so far: the offset of the next byte expected. */
  get delivered(): number {
    return this.#next;
  }

  /** Whether a FIN was seen in this direction. */
  get finSeen(): boolean {
    return this.#finSeen;
  }

  /** Takes the next segment of this direction in capture order. Never throws on wire values. */
  push(seg: AssemblerInput): AssemblerOutput {
    const problems: StreamProblem[] = [];
    const syn = (seg.flags & TCP_FLAGS.syn) !== 0;
    const fin = (seg.flags & TCP_FLAGS.fin) !== 0;
    const rst = (seg.flags & TCP_FLAGS.rst) !== 0;
    const seq = seg.seq >>> 0;
    if (this.#origin === null) {
      this.#origin = syn ? mod32(seq + 1) : seq;
      this.#lastRel = syn ? -1 : 0;
      if (!syn) problems.push({ kind: 'mid-stream', frame: seg.frame });
    }
    const start = this.#unwrap(seq) + (syn ? 1 : 0);
    const captured = seg.payload.length;
    const cut = Number.isFinite(seg.cut) && seg.cut > 0 ? Math.floor(seg.cut) : 0;
    const length = captured + cut;
    const end = start + length;

    let flags = (syn ? SEGMENT_FLAGS.syn : 0) | (fin ? SEGMENT_FLAGS.fin : 0) | (rst ? SEGMENT_FLAGS.rst : 0);
    if (length > 0) {
      const unseen = this.#unseen(start, end);
      if (unseen === 0) flags |= SEGMENT_FLAGS.retransmission;
      else {
        if (unseen < length) flags |= SEGMENT_FLAGS.overlap;
        if (start > this.#next) flags |= SEGMENT_FLAGS.outOfOrder;
      }
    }
    const segment = length > 0 || syn || fin || rst ? { frame: seg.frame, timeUs: seg.timeUs, offset: start, length, flags } : null;

    const data: Uint8Array[] = [];
    this.#place(start, seg.payload, seg.frame, data, problems);
    if (cut > 0) problems.push({ kind: 'cut', offset: start + captured, length: cut, frame: seg.frame });
    if (length > 0 || fin) this.#highest = Math.max(this.#highest, end);
    if (fin) this.#finSeen = true;
    return { segment, data, problems };
  }

  /**
   * Ends the direction: reports a `gap` if any byte was seen past the in-order end (the first hole
   * only; `held` counts every byte held past it), and drops the held bytes.
   */
  end(): { problems: StreamProblem[]; delivered: number } {
    const problems: StreamProblem[] = [];
    if (this.#highest > this.#next) {
      const nextSeen = Math.min(this.#held[0]?.start ?? this.#highest, this.#highest);
      problems.push({ kind: 'gap', offset: this.#next, missing: nextSeen - this.#next, held: this.#heldBytes });
    }
    this.#held = [];
    this.#heldBytes = 0;
    this.#highest = this.#next;
    return { problems, delivered: this.#next };
  }

  #unwrap(seq: number): number {
    const ref = mod32((this.#origin ?? 0) + this.#lastRel);
    let diff = mod32(seq - ref);
    if (diff >= HALF) diff -= MOD;
    this.#lastRel += diff;
    return this.#lastRel;
  }

  /** Index of the first held piece that ends past `offset`. */
  #firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.#held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.#held[mid]!;
      if (p.start + p.bytes.length <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Bytes of [start, end) neither delivered nor held. */
  #unseen(start: number, end: number): number {
    let from = Math.max(start, this.#next);
    let unseen = 0;
    for (let i = this.#firstEndingAfter(from); i < this.#held.length && from < end; i++) {
      const p = this.#held[i]!;
      if (p.start >= end) break;
      if (p.start > from) unseen += p.start - from;
      from = Math.max(from, p.start + p.bytes.length);
    }
    return from < end ? unseen + end - from : unseen;
  }

  /** Compares `payload` (at `start`) with the copies kept, then delivers or holds its new bytes. */
  #place(start: number, payload: Uint8Array, frame: number, data: Uint8Array[], problems: StreamProblem[]): void {
    const end = start + payload.length;
    let firstDiff = Infinity;
    let lastDiff = -Infinity;
    const compare = (from: number, to: number, kept: Uint8Array, keptAt: (offset: number) => number): void => {
      for (let o = from; o < to; o++) {
        if (payload[o - start] !== kept[keptAt(o)]) {
          firstDiff = Math.min(firstDiff, o);
          lastDiff = o;
        }
      }
    };

    const ring = this.#ring;
    const windowStart = Math.max(0, this.#next - ring.length);
    if (ring.length > 0) compare(Math.max(start, windowStart), Math.min(end, this.#next), ring, (o) => o % ring.length);

    const fresh: Piece[] = [];
    let from = Math.max(start, this.#next);
    for (let i = this.#firstEndingAfter(from); from < end; i++) {
      const p = this.#held[i];
      if (p === undefined || p.start >= end) {
        fresh.push({ start: from, bytes: payload.subarray(from - start) });
        break;
      }
      if (p.start > from) fresh.push({ start: from, bytes: payload.subarray(from - start, p.start - start) });
      const to = Math.min(end, p.start + p.bytes.length);
      compare(Math.max(from, p.start), to, p.bytes, (o) => o - p.start);
      from = to;
    }
    if (firstDiff <= lastDiff) problems.push({ kind: 'conflict', offset: firstDiff, length: lastDiff - firstDiff + 1, frame });

    // Pieces are in order and fill the holes between held ones, so each either starts at the
    // next expected byte (once the pieces before it were placed) or waits.
    for (const piece of fresh) {
      if (piece.start === this.#next) {
        this.#deliver(piece.bytes, data);
        this.#drain(data);
      } else this.#hold(piece, frame, problems);
    }
  }

  #hold(piece: Piece, frame: number, problems: StreamProblem[]): void {
    if (this.#heldBytes + piece.bytes.length > this.#maxHeld) {
      if (!this.#limitReported) problems.push({ kind: 'held-limit', offset: piece.start, frame });
      this.#limitReported = true;
      return;
    }
    // A copy: the caller may reuse the buffer behind the payload.
    this.#held.splice(this.#firstEndingAfter(piece.start), 0, { start: piece.start, bytes: piece.bytes.slice() });
    this.#heldBytes += piece.bytes.length;
  }

  #drain(data: Uint8Array[]): void {
    let n = 0;
    for (const p of this.#held) {
      if (p.start !== this.#next) break;
      this.#heldBytes -= p.bytes.length;
      this.#deliver(p.bytes, data);
      n++;
    }
    if (n === 0) return;
    this.#held.splice(0, n);
    if (this.#held.length === 0) this.#limitReported = false;
  }

  #deliver(bytes: Uint8Array, data: Uint8Array[]): void {
    if (bytes.length === 0) return;
    this.#remember(bytes);
    data.push(bytes);
    this.#next += bytes.length;
  }

  /** Keeps the last `compareWindow` delivered bytes; `bytes` start at `#next`. */
  #remember(bytes: Uint8Array): void {
    if (this.#windowMax <= 0) return;
    const total = this.#next + bytes.length;
    if (this.#ring.length < this.#windowMax && this.#ring.length < total) {
      this.#grow(Math.min(this.#windowMax, Math.max(4096, 2 * this.#ring.length, total)));
    }
    const ring = this.#ring;
    const keep = bytes.length > ring.length ? bytes.subarray(bytes.length - ring.length) : bytes;
    const at = (total - keep.length) % ring.length;
    const first = Math.min(keep.length, ring.length - at);
    ring.set(keep.subarray(0, first), at);
    ring.set(keep.subarray(first), 0);
  }

  #grow(size: number): void {
    const old = this.#ring;
    const ring = new Uint8Array(size);
    for (let o = Math.max(0, this.#next - old.length); o < this.#next; o++) ring[o % size] = old[o % old.length]!;
    this.#ring = ring;
  }
}
