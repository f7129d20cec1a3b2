/**
 * The capture format, version 3: a folder holding
 * - `capture.json`: metadata ({@link CaptureMeta}), rewritten whole (write then rename) when it changes;
 * - `stream.bin`: the client-to-server bytes, byte `i` of the stream at file offset `i`;
 * - `sender.events`, `receiver.events`: one file per side that recorded, of fixed-size
 *   {@link EVENT_RECORD_SIZE}-byte records in time order, so event `n` is at `n * 24`;
 * - `wire.events`, in captures imported from pcap or pcapng: the TCP segments the network
 *   carried from client to server, in the same records, in the order they were captured.
 *
 * Version 2 added the wire lane; a version 1 capture is a version 2 capture without one.
 * Version 3 stores outcomes, errors and file refusals as {@link Reason} kinds with their
 * numbers instead of English sentences.
 *
 * Everything is appended as bytes flow: a recording cut short leaves a readable capture of what
 * came. Documented for people in docs/capture-format.md.
 */

/** The format name stored in `capture.json`. */
export const CAPTURE_FORMAT = 'wirestep-capture';
/** The version this code writes; readers migrate older versions and refuse newer ones. */
export const CAPTURE_VERSION = 3;
/** Bytes per event record. */
export const EVENT_RECORD_SIZE = 24;
/** File names inside a capture folder. */
export const CAPTURE_FILES = {
  meta: 'capture.json',
  stream: 'stream.bin',
  events: { sender: 'sender.events', receiver: 'receiver.events', wire: 'wire.events' },
} as const;

/** Which end of the connection recorded: the sender (client) or the receiver (server). */
export type Side = 'sender' | 'receiver';
/** Both sides, sender first. */
export const SIDES: readonly Side[] = ['sender', 'receiver'];
/**
 * A lane of events: one side's socket operations, or the segments the network carried
 * between them (`wire`), which no side sees.
 */
export type Lane = Side | 'wire';
/** The lanes in the order the site draws them: writes, segments, reads. */
export const LANES: readonly Lane[] = ['sender', 'wire', 'receiver'];

/** Socket events, with the code each has in an event record. */
export const EVENT_TYPES = {
  connect: 1,
  accept: 2,
  write: 3,
  read: 4,
  end: 5,
  close: 6,
  error: 7,
  /** A TCP segment from client to server, on the wire lane. */
  segment: 8,
} as const;
/** The name of a socket event. */
export type EventType = keyof typeof EVENT_TYPES;
const TYPE_BY_CODE = new Map<number, EventType>(
  Object.entries(EVENT_TYPES).map(([name, code]) => [code, name as EventType]),
);

/** One event of one lane: a socket event of a side, or a segment on the wire. */
export interface CaptureEvent {
  readonly side: Lane;
  /** Index of the event within its side's file. */
  readonly index: number;
  readonly type: EventType;
  /** Stream offset: where a write or read starts; for other events, how far the stream had got. */
  readonly offset: number;
  /** Bytes moved by a write or read; for `error`, the index into `meta.errors`; else 0. */
  readonly length: number;
  /** Microseconds since the capture started, from a monotonic clock. */
  readonly timeUs: number;
  /** For a segment, what it was ({@link SEGMENT_FLAGS}); 0 for socket events. */
  readonly flags: number;
}

// A sender's write makes the bytes a read of the same microsecond takes; a segment counts as
// coming after the operations of its microsecond.
const TIE_ORDER: Readonly<Record<Lane, number>> = { sender: 0, receiver: 1, wire: 2 };

/**
 * Whether event `a` comes before event `b` of another lane in the operation steps: the earlier
 * time first, and on equal times the sender's, then the receiver's, then a segment.
 */
export function opBefore(a: Pick<CaptureEvent, 'side' | 'timeUs'>, b: Pick<CaptureEvent, 'side' | 'timeUs'>): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && TIE_ORDER[a.side] < TIE_ORDER[b.side]);
}

/**
 * The lane whose data events `stream.bin` holds, for a capture recorded by `sides`: the sender's
 * writes where it recorded (the receiver reads a prefix of them), else the receiver's reads, else
 * (an imported packet capture) the segments.
 */
export function streamLane(sides: readonly Side[]): Lane {
  return SIDES.find((s) => sides.includes(s)) ?? 'wire';
}

import type { ConnectionProblem } from '../wire/connections.js';
import type { Reason } from '../protocol/reasons.js';
import type { RecorderInfo } from './liveness.js';

export { SEGMENT_FLAGS } from '../wire/types.js';

/** Segment events per entry of {@link WireInfo.blocks}. */
export const WIRE_BLOCK = 4096;

/** Something wrong with the segments of an imported connection, in numbers (the site words it). */
export type WireProblem = ConnectionProblem;

/** Builds {@link WireInfo.blocks} and {@link WireInfo.carrying} as segments are added in lane order. */
export class WireIndex {
  readonly blocks: [number, number][] = [];
  carrying = 0;
  #count = 0;

  /** Counts the next segment of the lane. */
  add(offset: number, length: number): void {
    const range = this.blocks[Math.floor(this.#count++ / WIRE_BLOCK)];
    if (range) {
      range[0] = Math.min(range[0], offset);
      range[1] = Math.max(range[1], offset + length);
    } else {
      this.blocks.push([offset, offset + length]);
    }
    if (length > 0) this.carrying++;
  }
}

/** What a capture imported from a packet capture knows about the wire. */
export interface WireInfo {
  /** The file it was imported from: its name (no folder), format and link type. */
  readonly source: { readonly file: string; readonly format: 'pcap' | 'pcapng'; readonly linkType: string };
  /** Whether the capture held the client's SYN (else the stream may start mid-way). */
  readonly handshake: boolean;
  /** How the connection ended in the capture. */
  readonly close: 'fin' | 'rst' | 'end-of-capture';
  /**
   * For each {@link WIRE_BLOCK} segment events, the lowest offset and the highest end of the
   * bytes they carried: segments come in capture order, not stream order, and this finds the
   * ones carrying a byte range without reading the lane.
   */
  readonly blocks: readonly (readonly [number, number])[];
  /** Segments that carried stream bytes (the others are a bare SYN, FIN or RST). */
  readonly carrying: number;
  readonly problems: readonly WireProblem[];
}

/** A network endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** `address` with an IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1`) removed, as Node reports dual-stack peers. */
export function unmapped(address: string): string {
  return address.replace(/^::ffff:/i, '');
}

/** How a recorded transfer ended. */
export type OutcomeStatus =
  | 'recording' // not finished: still running, or the recording process was killed
  | 'complete' // every announced file arrived, nothing malformed
  | 'malformed' // the stream ended where it should, but with errors in it
  | 'truncated' // the stream ended before the bytes the format announced
  | 'aborted' // a socket error, a timeout or a limit cut the connection
  | 'interrupted'; // the recording process was shut down mid-transfer

/** What the receiver did with one announced file. */
export interface FileOutcome {
  readonly file: number;
  /** The name as text; U+FFFD where its bytes are not valid UTF-8 (then `nameHex` keeps them). */
  readonly name: string;
  /** The name's bytes as lowercase hex, present only when they are not valid UTF-8. */
  readonly nameHex?: string;
  /** Declared size, as a decimal string (sizes are 64-bit). */
  readonly size: string;
  readonly status: 'saved' | 'refused' | 'incomplete' | 'failed';
  /** Path relative to the receiver's folder, where saved. */
  readonly savedAs?: string;
  /** Why it was refused, failed or is incomplete. */
  readonly reason?: Reason;
}

/** How a recorded transfer ended, and why when something cut it. */
export interface Outcome {
  readonly status: OutcomeStatus;
  readonly reason?: Reason;
}

/** An `error` event's details, in `capture.json`'s `errors`. */
export interface CaptureErrorNote {
  readonly side: Lane;
  readonly timeUs: number;
  readonly reason: Reason;
}

/** The groups the sample library is shown in. */
export const SAMPLE_CATEGORIES = ['normal', 're-cut', 'malformed', 'hostile'] as const;
/** A group of samples. */
export type SampleCategory = (typeof SAMPLE_CATEGORIES)[number];

/** What a bundled sample is for. */
export interface SampleInfo {
  readonly category: SampleCategory;
  /** Slug of the lesson the sample serves. */
  readonly lesson: string;
  /** Problem kinds the dissector must report on it, in order. */
  readonly expect: readonly string[];
}

/** The contents of `capture.json`. */
export interface CaptureMeta {
  readonly format: typeof CAPTURE_FORMAT;
  readonly version: number;
  readonly id: string;
  /** Wall-clock time the capture started, ISO 8601. */
  readonly createdAt: string;
  readonly tool: { readonly name: string; readonly version: string };
  /** The sides whose socket operations were recorded; none for an imported packet capture. */
  readonly sides: readonly Side[];
  /** Which lane's bytes `stream.bin` holds (the sender's, when it recorded). */
  readonly streamSide: Lane;
  readonly client?: Endpoint;
  readonly server?: Endpoint;
  /** The options of the commands that recorded, faults included, as given. */
  readonly options: Readonly<Record<string, unknown>>;
  /** A short human description (samples have one per language). */
  readonly description?: Readonly<Record<string, string>>;
  /** Present on the bundled samples. */
  readonly sample?: SampleInfo;
  readonly outcome: Outcome;
  /** Bytes in `stream.bin` when the capture was finished. */
  readonly streamBytes: number;
  /** Microseconds from start to the last event. */
  readonly durationUs: number;
  readonly errors: readonly CaptureErrorNote[];
  readonly files: readonly FileOutcome[];
  /** Present on captures imported from pcap or pcapng: they have a wire lane. */
  readonly wire?: WireInfo;
  /** While `outcome.status` is `recording`: the process recording it (removed when it finishes). */
  readonly recorder?: RecorderInfo;
}

const TWO_32 = 2 ** 32;

/**
 * Encodes one event record (big-endian): type u8, flags u8, 2 reserved bytes, length u32,
 * offset u64, time u64. The u64s are written as two u32 halves: offsets and times stay below
 * 2^53, and a million records should not cost a million BigInts.
 */
export function encodeEvent(out: DataView, at: number, type: EventType, offset: number, length: number, timeUs: number, flags = 0): void {
  out.setUint32(at, ((EVENT_TYPES[type] << 24) | ((flags & 0xff) << 16)) >>> 0);
  out.setUint32(at + 4, length);
  out.setUint32(at + 8, Math.floor(offset / TWO_32));
  out.setUint32(at + 12, offset >>> 0);
  out.setUint32(at + 16, Math.floor(timeUs / TWO_32));
  out.setUint32(at + 20, timeUs >>> 0);
}

/** Decodes one event record; `null` if its type code is unknown (a damaged record). */
export function decodeEvent(bytes: Uint8Array, side: Lane, index: number): CaptureEvent | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, EVENT_RECORD_SIZE);
  const type = TYPE_BY_CODE.get(view.getUint8(0));
  if (!type) return null;
  return {
    side,
    index,
    type,
    length: view.getUint32(4),
    offset: Number(view.getBigUint64(8)),
    timeUs: Number(view.getBigUint64(16)),
    flags: view.getUint8(1),
  };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `id` can name a capture folder: letters, digits, `.`, `_`, `-`, not starting with a dot. */
export function isCaptureId(id: string): boolean {
  return ID.test(id) && !id.includes('..');
}
