/**
 * The capture format, version 5: a folder holding
 * - `capture.json`: metadata ({@link CaptureMeta}), rewritten whole (write then rename) when it changes;
 * - `stream.bin`: the client-to-server bytes not held by a payload file, in stream order (without
 *   payload files, byte `i` of the stream at file offset `i`);
 * - `payload-N.bin`: file `N`'s payload, a hard link to the file the receiver saved, for each
 *   range in `payloads` ({@link PayloadRange});
 * - `sender.events`, `receiver.events`: one file per side that recorded, of fixed-size
 *   {@link EVENT_RECORD_SIZE}-byte records in time order, so event `n` is at `n * 24`;
 * - `sender.calls`, `receiver.calls`: for each side in `calls`, one {@link CALL_RECORD_SIZE}-byte
 *   record per event of that side, in the same order: the call that made the event, what it
 *   asked for and its flags, so event `n`'s call is at `n * 8`;
 * - `wire.events`, in captures imported from pcap or pcapng: the TCP segments the network
 *   carried from client to server, in the same records, in the order they were captured.
 *
 * Version 2 added the wire lane; a version 1 capture is a version 2 capture without one.
 * Version 3 stores outcomes, errors and file refusals as {@link Reason} kinds with their
 * numbers instead of English sentences. Version 4 adds the calls files and `programs`; an older
 * capture has neither. Version 5 adds `payloads`: stream ranges held by payload files instead of
 * `stream.bin`; an older capture has none (all its bytes are in `stream.bin`).
 *
 * Everything is appended as bytes flow: a recording cut short leaves a readable capture of what
 * came. Documented for people in docs/capture-format.md.
 */

/** The format name stored in `capture.json`. */
export const CAPTURE_FORMAT = 'wirestep-capture';
/** The version this code writes; readers migrate older versions and refuse newer ones. */
export const CAPTURE_VERSION = 5;
/** Bytes per event record. */
export const EVENT_RECORD_SIZE = 24;
/** File names inside a capture folder. */
export const CAPTURE_FILES = {
  meta: 'capture.json',
  stream: 'stream.bin',
  events: { sender: 'sender.events', receiver: 'receiver.events', wire: 'wire.events' },
  calls: { sender: 'sender.calls', receiver: 'receiver.calls' },
} as const;

/** The name of file `file`'s payload file inside a capture folder: `payload-3.bin`. */
export function payloadFileName(file: number): string {
  return `payload-${file}.bin`;
}

/** What a payload file may be called: anything else in `payloads` is damage. */
export const PAYLOAD_FILE = /^payload-[1-9]\d{0,9}\.bin$/;

/**
 * A stream range held by a payload file instead of `stream.bin` (version 5): bytes `offset` to
 * `offset + length - 1` of the stream are bytes 0 to `length - 1` of `file`. `size`, `mtimeNs`
 * and `ino` are the file's size in bytes, modification time (ns since the epoch, decimal
 * string) and inode number (decimal string) once the receiver was done with it; a range without
 * them was still being written when the capture was last saved (the recorder was killed).
 */
export interface PayloadRange {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  readonly size?: number;
  readonly mtimeNs?: string;
  readonly ino?: string;
  /** The sender's file changed while it was being sent: its bytes may not be the ones that went. */
  readonly changed?: true;
}

/**
 * A payload range the reader cannot vouch for, in numbers: `payload-changed`, its file is not
 * the one recorded (size, modification time or inode differ: edited in place, replaced);
 * `payload-missing`, its file is gone or holds fewer bytes than the range (a failed write).
 * The bytes `offset` to `offset + length - 1` are shown as damaged, never as recorded.
 */
export interface PayloadProblem {
  readonly kind: 'payload-changed' | 'payload-missing';
  readonly offset: number;
  readonly length: number;
}

/** Bytes per call record. */
export const CALL_RECORD_SIZE = 8;
/** `asked` of a call record when the call asks for no size (connect, close). */
export const ASKED_NONE = 0xffff_ffff;

/**
 * The calls a program makes, with the code each has in a call record: the Python socket methods
 * a traced program calls, and wirestep's own `socket.write()` and the reads Node makes for its
 * receiver. `none` marks an event no call made (wirestep's connect, end, close).
 */
export const CALL_CODES = {
  none: 0,
  connect: 1,
  connect_ex: 2,
  accept: 3,
  send: 4,
  sendall: 5,
  sendto: 6,
  sendfile: 7,
  recv: 8,
  recv_into: 9,
  recvfrom: 10,
  shutdown: 11,
  close: 12,
  'socket.write': 13,
  'socket.read': 14,
} as const;
/** The name of a call. */
export type CallName = keyof typeof CALL_CODES;
const CALL_BY_CODE = new Map<number, CallName>(Object.entries(CALL_CODES).map(([name, code]) => [code, name as CallName]));

/** Bits of a call record's flags. */
export const CALL_FLAGS = {
  /** A send moved fewer bytes than it was given (the rest is the program's to send again). */
  partial: 1,
  /** A read returned fewer bytes than it asked for. */
  short: 2,
  /** The call raised an exception (or connect_ex returned an error). */
  exception: 4,
} as const;

/** The call that made an event, as its call record says. */
export interface EventCall {
  readonly name: CallName;
  /** Bytes the program asked to move; `null` when the call asks for no size. */
  readonly asked: number | null;
  /** {@link CALL_FLAGS} bits. */
  readonly flags: number;
}

/** Reads from wirestep's receiver: libuv offers Node 64 KiB per read (measured: no read of a 64 MiB stream was larger). */
export const NODE_READ_SIZE = 65_536;

/** Encodes one call record (big-endian): asked u32, call code u8, flags u8, 2 reserved bytes. */
export function encodeCall(out: DataView, at: number, name: CallName, asked: number | null, flags: number): void {
  out.setUint32(at, asked === null ? ASKED_NONE : Math.min(asked, ASKED_NONE - 1));
  out.setUint32(at + 4, ((CALL_CODES[name] << 24) | ((flags & 0xff) << 16)) >>> 0);
}

/** Decodes one call record; `undefined` for `none` or a code this version does not know. */
export function decodeCall(bytes: Uint8Array, at: number): EventCall | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, CALL_RECORD_SIZE);
  const name = CALL_BY_CODE.get(view.getUint8(4));
  if (name === undefined || name === 'none') return undefined;
  const asked = view.getUint32(0);
  return { name, asked: asked === ASKED_NONE ? null : asked, flags: view.getUint8(5) };
}

/** Which program made a side's calls. */
export interface ProgramInfo {
  /** `client.py`, `wirestep send`, `wirestep receive`. */
  readonly name: string;
  /** `trace`: a program wirestep traced; `wirestep`: wirestep's own sender or receiver. */
  readonly via: 'trace' | 'wirestep';
  /** The traced command line, as the interpreter saw it. */
  readonly argv?: readonly string[];
  readonly pid?: number;
  readonly cwd?: string;
  /** `CPython 3.11.7`. */
  readonly runtime?: string;
}

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
  /** The call that made it, where the side recorded calls (version 4 on). */
  readonly call?: EventCall;
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
import type { DetailSummary } from '../wire/detail.js';
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
  /**
   * Present when the capture folder holds `wire-detail.bin` (src/capture/wire-detail.ts): every
   * segment of both directions, bare ACKs included, and what was counted over them. Optional and
   * additive: readers that do not know it ignore it.
   */
  readonly detail?: DetailSummary;
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
  /** The sides that have a calls file (version 4 on). */
  readonly calls?: readonly Side[];
  /** Which program made each side's calls (version 4 on). */
  readonly programs?: Readonly<Partial<Record<Side, ProgramInfo>>>;
  /**
   * On traced captures: CLOCK_MONOTONIC in nanoseconds (a decimal string) at time 0, which
   * puts two captures of one connection, traced by two processes of this host, on one clock.
   */
  readonly startNs?: string;
  /** Stream ranges held by payload files, in stream order, not overlapping (version 5 on). */
  readonly payloads?: readonly PayloadRange[];
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
