/**
 * The wire lane's detail file, `wire-detail.bin`: one fixed-size record per TCP segment of the
 * connection, both directions, bare ACKs included, in capture order; what each said (relative
 * seq and ack, scaled window, flags, window marks). An addition to the wire lane that older
 * readers ignore: `capture.json` names it under `wire.detail`, and the format version is unchanged.
 * Documented in docs/capture-format.md.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { DetailSummary, SegmentDetail } from '../wire/detail.js';

export { DETAIL_MARKS } from '../wire/detail.js';
export type { DetailSummary, SegmentDetail } from '../wire/detail.js';

/** The detail file's name inside a capture folder. */
export const WIRE_DETAIL_FILE = 'wire-detail.bin';
/** Bytes per detail record. */
export const DETAIL_RECORD_SIZE = 40;
/** `lane` of a record that made no record of the wire lane (a bare ACK, or a server-to-client segment). */
export const NO_LANE = 0xffff_ffff;

/** What `capture.json` says of the detail file, under `wire.detail`: its record count and what was counted over it. */
export type WireDetailInfo = DetailSummary;

/** One stored detail record: a {@link SegmentDetail} on the capture's timeline, and its wire lane record. */
export interface DetailRecord extends Omit<SegmentDetail, 'timeUs'> {
  /** Microseconds on the capture's timeline (as the wire lane's records). */
  readonly timeUs: number;
  /** Index of the wire lane record this segment made, or null. */
  readonly lane: number | null;
  /** Index of this record in the file. */
  readonly index: number;
}

const TWO_32 = 2 ** 32;

/**
 * Writes record `d` at `at` of `out` (big-endian): 0 direction (0 client to server, 1 server to
 * client), 1 TCP flags, 2 marks, 3 zero, 4–7 frame, 8–11 relative seq, 12–15 relative ack,
 * 16–19 window (bytes, scaled), 20–23 payload length, 24–27 wire lane index or {@link NO_LANE},
 * 28–31 zero, 32–39 time (µs, u64).
 */
export function encodeDetail(out: DataView, at: number, d: Omit<SegmentDetail, 'timeUs'>, timeUs: number, lane: number | null): void {
  out.setUint8(at, d.fromClient ? 0 : 1);
  out.setUint8(at + 1, d.flags & 0xff);
  out.setUint8(at + 2, d.marks & 0xff);
  out.setUint8(at + 3, 0);
  out.setUint32(at + 4, d.frame >>> 0);
  out.setUint32(at + 8, d.seq >>> 0);
  out.setUint32(at + 12, d.ack >>> 0);
  out.setUint32(at + 16, Math.min(d.window, 0xffff_ffff) >>> 0);
  out.setUint32(at + 20, Math.min(d.length, 0xffff_ffff) >>> 0);
  out.setUint32(at + 24, lane === null ? NO_LANE : lane >>> 0);
  out.setUint32(at + 28, 0);
  const t = Math.max(0, Math.floor(timeUs));
  out.setUint32(at + 32, Math.floor(t / TWO_32));
  out.setUint32(at + 36, t >>> 0);
}

/** Decodes the record at `at` of `bytes`, the `index`th of its file. */
export function decodeDetail(bytes: Uint8Array, at: number, index: number): DetailRecord {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, DETAIL_RECORD_SIZE);
  const lane = v.getUint32(24);
  return {
    index,
    fromClient: v.getUint8(0) === 0,
    flags: v.getUint8(1),
    marks: v.getUint8(2),
    frame: v.getUint32(4),
    seq: v.getUint32(8),
    ack: v.getUint32(12),
    window: v.getUint32(16),
    length: v.getUint32(20),
    lane: lane === NO_LANE ? null : lane,
    timeUs: v.getUint32(32) * TWO_32 + v.getUint32(36),
  };
}

/**
 * Reads up to `count` records from record `from` of the detail file of capture folder `dir`.
 * A record cut by a kill at the end is ignored. Throws on I/O errors (ENOENT when there is no file).
 */
export async function readDetails(dir: string, from: number, count: number): Promise<DetailRecord[]> {
  const fh = await open(path.join(dir, WIRE_DETAIL_FILE), 'r');
  try {
    return await readWith(fh, from, count);
  } finally {
    await fh.close();
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

async function readWith(fh: Handle, from: number, count: number): Promise<DetailRecord[]> {
  if (from < 0 || count <= 0) return [];
  const buf = new Uint8Array(count * DETAIL_RECORD_SIZE);
  const { bytesRead } = await fh.read(buf, 0, buf.length, from * DETAIL_RECORD_SIZE);
  const out: DetailRecord[] = [];
  for (let i = 0; (i + 1) * DETAIL_RECORD_SIZE <= bytesRead; i++) out.push(decodeDetail(buf, i * DETAIL_RECORD_SIZE, from + i));
  return out;
}

/**
 * The detail record of wire lane record `lane`, found by binary search over the file (lane
 * indices grow with the records that have one), reading a few records; null when none has it.
 * `records` is the count in `capture.json`. Throws on I/O errors.
 */
export async function detailOfLane(dir: string, records: number, lane: number): Promise<DetailRecord | null> {
  const fh = await open(path.join(dir, WIRE_DETAIL_FILE), 'r');
  try {
    let lo = 0;
    let hi = records;
    // Records without a lane index sit between those with one: step past them to the next that has one.
    const laneAtOrAfter = async (i: number): Promise<DetailRecord | null> => {
      for (let at = i; at < records; at += 64) {
        for (const r of await readWith(fh, at, Math.min(64, records - at))) if (r.lane !== null) return r;
      }
      return null;
    };
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = await laneAtOrAfter(mid);
      if (r === null || r.lane! >= lane) hi = mid;
      else lo = r.index + 1;
    }
    const found = await laneAtOrAfter(lo);
    return found !== null && found.lane === lane ? found : null;
  } finally {
    await fh.close();
  }
}
