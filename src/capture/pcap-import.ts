import { createReadStream } from 'node:fs';
import { appendFile, lstat, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DissectEvent, Dissector, type Problem, type StreamOutcome, outcomeOf } from '../protocol/index.js';
import { type ConnectionEvent, type ConnectionProblem, ConnectionTracker } from '../wire/connections.js';
import type { WireSegment } from '../wire/reassembly.js';
import { decodeTcp, linkTypeName } from '../wire/frames.js';
import { CaptureFileParser } from '../wire/pcap.js';
import type { WireEndpoint } from '../wire/types.js';
import {
  CAPTURE_FILES,
  CAPTURE_VERSION,
  type CaptureMeta,
  EVENT_RECORD_SIZE,
  SEGMENT_FLAGS,
  WireIndex,
  type WireInfo,
  decodeEvent,
  encodeEvent,
  isCaptureId,
  type Side,
  streamLane,
  unmapped,
} from './format.js';
import { CaptureReader, isData } from './reader.js';
import { DETAIL_RECORD_SIZE, type SegmentDetail, WIRE_DETAIL_FILE, encodeDetail } from './wire-detail.js';
import { type CaptureInit, CaptureWriter, writeCaptureMeta, writeWhole } from './writer.js';

/** Options of {@link importPcap}. */
export interface ImportOptions {
  /** Folder the captures are written into. */
  readonly capturesDir: string;
  /** Only connections to this server port (the receiver's); default every TCP connection. */
  readonly port?: number;
  /** The id of the capture of connection `n` (from 1); default the file's name and `-n`. */
  readonly id?: (n: number) => string;
  /** Descriptions and sample information to store, for the bundled samples. */
  readonly extra?: Pick<CaptureInit, 'description' | 'sample'>;
}

/** One connection found in the packet capture, saved as a capture. */
export interface ImportedConnection {
  readonly id: string;
  readonly dir: string;
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly meta: CaptureMeta;
}

/** What an import read and wrote. */
export interface ImportResult {
  readonly format: 'pcap' | 'pcapng';
  readonly packets: number;
  /** Packets that were TCP over IPv4 or IPv6. */
  readonly tcp: number;
  /** Packets left out, counted by why ("not TCP", "IPv4 fragment"…). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Bytes of a last packet the file cut short (a capture killed mid-write). */
  readonly incompleteBytes: number;
  readonly connections: readonly ImportedConnection[];
}

const READ_CHUNK = 1 << 20;

/** `trace.pcapng` → `trace`, in the characters a capture id may hold. */
function stem(file: string): string {
  const base = path.basename(file).replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '');
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100);
  return safe || 'import';
}

/**
 * A problem as a capture stores it: stream offsets start at 0, so the part of a range that lies
 * before the first byte (a segment from before the SYN) is left out, and a range wholly before
 * it is no problem of the stream. Null when nothing is left.
 */
export function storableProblem(p: ConnectionProblem): ConnectionProblem | null {
  if (p.kind === 'cut' || p.kind === 'conflict') {
    if (p.offset + p.length <= 0) return null;
    return p.offset < 0 ? { ...p, offset: 0, length: p.length + p.offset } : p;
  }
  if ((p.kind === 'gap' || p.kind === 'held-limit') && p.offset < 0) return { ...p, offset: 0 };
  return p;
}

/**
 * A segment as the lane stores it: a segment from before byte 0 (a keep-alive probe at the SYN's
 * number, say) keeps what it carried from byte 0 on, often nothing.
 */
function storableSegment(s: WireSegment): WireSegment {
  return s.offset >= 0 ? s : { ...s, offset: 0, length: Math.max(0, s.length + s.offset) };
}

function collectProblems(events: Iterable<DissectEvent>, into: Problem[]): void {
  for (const d of events) {
    if (d.type === 'problem') into.push(d.problem);
    else if (d.type === 'field') into.push(...d.problems);
  }
}

/**
 * One connection not yet ended. Its segments and bytes wait in memory, up to a small buffer; past
 * it they are appended to spill files of its own in the staging folder, opened and closed each
 * time, so an open connection holds no file descriptor whatever their number.
 */
interface Pending {
  readonly n: number;
  readonly init: Omit<CaptureInit, 'root' | 'id'>;
  readonly t0: number;
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly dissector: Dissector;
  /** The outcome of the problems found so far (the problems themselves are not kept). */
  outcome: StreamOutcome;
  readonly wireProblems: ConnectionProblem[];
  pieces: Uint8Array[];
  records: Uint8Array;
  used: number;
  /** Detail records ({@link DETAIL_RECORD_SIZE} bytes each) waiting, as `records` wait. */
  details: Uint8Array;
  detailUsed: number;
  /** Wire lane records made so far: the next one's index. */
  lanes: number;
  /** Bytes waiting in `pieces`, `records` and `details`. */
  buffered: number;
  spilled: boolean;
}

/** Bytes a connection keeps in memory before it spills to its staging files. */
const PENDING_BUFFER = 64 * 1024;
/** Bytes all connections keep in memory at most: past this, every buffer spills. */
const PENDING_TOTAL = 16 * 1024 * 1024;
/** Segment records a buffer holds at first, and at most. */
const FIRST_RECORDS = 8;
const PENDING_RECORDS = 512;
/** Captures written at once, when connections end close together. */
const FINISHING_AT_ONCE = 8;
/** Wire problems kept per connection: a pathological capture cannot grow one without bound. */
const WIRE_PROBLEMS_KEPT = 10_000;

const OUTCOME_RANK: Readonly<Record<StreamOutcome, number>> = { complete: 0, malformed: 1, truncated: 2 };

/** What reading a packet capture counted, filled in as {@link connectionEvents} goes. */
interface ReadStats {
  format: 'pcap' | 'pcapng' | null;
  packets: number;
  tcp: number;
  readonly skipped: Record<string, number>;
  incompleteBytes: number;
}

/**
 * The connection events of the TCP segments in `file`, in file order, each with the link type of
 * the packet it came with (a pcapng may hold several interfaces), then the tracker's events for
 * what was still open at the end. Streams the file.
 */
async function* connectionEvents(file: string, stats: ReadStats): AsyncGenerator<{ event: ConnectionEvent; linkType: string }> {
  const parser = new CaptureFileParser();
  const tracker = new ConnectionTracker();
  let linkType = 'unknown';
  const input = createReadStream(file, { highWaterMark: READ_CHUNK });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (const p of parser.push(chunk)) {
        stats.packets++;
        stats.format = parser.format;
        linkType = linkTypeName(p.linkType);
        const seg = decodeTcp(p);
        if ('skipped' in seg) {
          stats.skipped[seg.skipped] = (stats.skipped[seg.skipped] ?? 0) + 1;
          continue;
        }
        stats.tcp++;
        for (const event of tracker.push(seg)) yield { event, linkType };
      }
    }
  } finally {
    input.destroy();
  }
  const summary = parser.end();
  stats.format = summary.format;
  stats.incompleteBytes = summary.incompleteBytes;
  for (const event of tracker.end()) yield { event, linkType };
}

/**
 * Reads a pcap or pcapng file (Ethernet, Linux cooked SLL and SLL2, loopback and raw IP links)
 * and saves each TCP connection in it as a capture with a wire lane: the client-to-server
 * segments as captured, and the stream rebuilt from them (reordered, retransmissions and
 * overlaps resolved, a gap reported, never filled). Streams the file; memory does not grow with
 * its size. Throws CaptureFileError for a file that is not a packet capture, and on I/O errors.
 */
export async function importPcap(file: string, options: ImportOptions): Promise<ImportResult> {
  const stats: ReadStats = { format: null, packets: 0, tcp: 0, skipped: {}, incompleteBytes: 0 };
  const prefix = stem(file);
  const idOf = options.id ?? ((n: number): string => `${prefix}-${n}`);
  const open = new Map<number, Pending>();
  const ignored = new Set<number>();
  const done: { n: number; connection: ImportedConnection }[] = [];
  // Captures being written: a few at once, so that one's file system calls overlap another's.
  const finishing = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  await mkdir(options.capturesDir, { recursive: true });
  // Captures are built here and renamed into place whole: a failed import leaves none half-written.
  const staging = await mkdtemp(path.join(options.capturesDir, '.wirestep-import-'));
  let buffered = 0;

  const spill = async (c: Pending): Promise<void> => {
    if (c.buffered === 0) return;
    const pieces = c.pieces;
    const records = c.records.subarray(0, c.used);
    const details = c.details.subarray(0, c.detailUsed);
    buffered -= c.buffered;
    c.pieces = [];
    c.records = new Uint8Array(FIRST_RECORDS * EVENT_RECORD_SIZE);
    c.used = 0;
    c.details = new Uint8Array(FIRST_RECORDS * DETAIL_RECORD_SIZE);
    c.detailUsed = 0;
    c.buffered = 0;
    c.spilled = true;
    if (pieces.length > 0) await appendFile(path.join(staging, `${c.n}.stream`), Buffer.concat(pieces));
    if (records.length > 0) await appendFile(path.join(staging, `${c.n}.wire`), records);
    if (details.length > 0) await appendFile(path.join(staging, `${c.n}.detail`), details);
  };
  const hold = async (c: Pending, bytes: number): Promise<void> => {
    c.buffered += bytes;
    buffered += bytes;
    if (c.used === c.records.length && c.records.length < PENDING_RECORDS * EVENT_RECORD_SIZE) {
      // Most connections carry a few segments: their buffer starts small and doubles.
      const grown = new Uint8Array(c.records.length * 2);
      grown.set(c.records);
      c.records = grown;
    }
    if (c.detailUsed === c.details.length && c.details.length < PENDING_RECORDS * DETAIL_RECORD_SIZE) {
      const grown = new Uint8Array(c.details.length * 2);
      grown.set(c.details);
      c.details = grown;
    }
    if (c.buffered >= PENDING_BUFFER || c.used === c.records.length || c.detailUsed === c.details.length) await spill(c);
    if (buffered > PENDING_TOTAL) for (const other of open.values()) await spill(other);
  };

  const start = (e: Extract<ConnectionEvent, { type: 'open' }>, linkType: string): void => {
    if (options.port !== undefined && e.server.port !== options.port) {
      ignored.add(e.id);
      return;
    }
    const init = {
      sides: [],
      client: e.client,
      server: e.server,
      createdAt: new Date(Math.floor(e.timeUs / 1000)).toISOString(),
      options: { command: 'import' },
      ...options.extra,
      wire: { source: { file: path.basename(file), format: stats.format ?? 'pcap', linkType }, handshake: e.handshake },
    } as const;
    open.set(e.id, {
      n: e.id, init, t0: e.timeUs, client: e.client, server: e.server, dissector: new Dissector(), outcome: 'complete', wireProblems: [],
      pieces: [], records: new Uint8Array(FIRST_RECORDS * EVENT_RECORD_SIZE), used: 0,
      details: new Uint8Array(FIRST_RECORDS * DETAIL_RECORD_SIZE), detailUsed: 0, lanes: 0, buffered: 0, spilled: false,
    });
  };

  const note = (c: Pending, events: Iterable<DissectEvent>): void => {
    const problems: Problem[] = [];
    collectProblems(events, problems);
    const o = outcomeOf(problems);
    if (OUTCOME_RANK[o] > OUTCOME_RANK[c.outcome]) c.outcome = o;
  };

  /** Writes connection `c` as a capture in the staging folder, then renames it into place. */
  const finish = async (c: Pending, how: WireInfo['close'], detail: NonNullable<WireInfo['detail']>): Promise<void> => {
    note(c, c.dissector.end());
    let id = idOf(c.n);
    if (!isCaptureId(id)) throw new Error(`not a valid capture id: ${JSON.stringify(id)}`);
    for (let k = 2; await exists(path.join(options.capturesDir, id)); k++) {
      if (k > 1000) throw new Error(`every capture id from ${idOf(c.n)} to ${id} is taken`);
      id = `${idOf(c.n)}-${k}`;
    }
    const writer = await CaptureWriter.create({ ...c.init, root: staging, id });
    try {
      const segment = (bytes: Uint8Array): void => {
        for (let at = 0; at + EVENT_RECORD_SIZE <= bytes.length; at += EVENT_RECORD_SIZE) {
          const e = decodeEvent(bytes.subarray(at, at + EVENT_RECORD_SIZE), 'wire', 0)!;
          writer.recordSegment(e.timeUs, e.offset, e.length, e.flags);
        }
      };
      // A spill file is there only if that lane's buffer ever filled.
      const spilled = path.join(staging, `${c.n}.stream`);
      if (c.spilled && (await exists(spilled))) {
        for await (const chunk of createReadStream(spilled) as AsyncIterable<Buffer>) if (!writer.appendStream(chunk)) await writer.drain();
      }
      const spilledWire = path.join(staging, `${c.n}.wire`);
      if (c.spilled && (await exists(spilledWire))) {
        for await (const chunk of createReadStream(spilledWire, { highWaterMark: EVENT_RECORD_SIZE * 4096 }) as AsyncIterable<Buffer>) segment(chunk);
      }
      for (const piece of c.pieces) if (!writer.appendStream(piece)) await writer.drain();
      segment(c.records.subarray(0, c.used));
      // The detail records go into the capture folder whole: the spill file, moved, then the rest.
      const spilledDetail = path.join(staging, `${c.n}.detail`);
      const detailFile = path.join(writer.dir, WIRE_DETAIL_FILE);
      if (c.spilled && (await exists(spilledDetail))) await rename(spilledDetail, detailFile);
      await writeFile(detailFile, c.details.subarray(0, c.detailUsed), { flag: 'a' });
      writer.setWire({ close: how, problems: c.wireProblems, detail });
    } catch (err) {
      await writer.finish('aborted').catch(() => {});
      throw err;
    }
    const meta = await writer.finish(c.outcome);
    buffered -= c.buffered;
    await rm(path.join(staging, `${c.n}.stream`), { force: true });
    await rm(path.join(staging, `${c.n}.wire`), { force: true });
    await rm(path.join(staging, `${c.n}.detail`), { force: true });
    await rename(writer.dir, path.join(options.capturesDir, id));
    done.push({ n: c.n, connection: { id: meta.id, dir: path.join(options.capturesDir, id), client: c.client, server: c.server, meta } });
  };

  const handle = async (e: ConnectionEvent, linkType: string): Promise<void> => {
    if (e.type === 'open') return start(e, linkType);
    if (ignored.has(e.id)) return;
    const c = open.get(e.id);
    if (!c) return;
    switch (e.type) {
      case 'segment': {
        const { offset, length, flags, timeUs } = storableSegment(e.segment);
        encodeEvent(new DataView(c.records.buffer), c.used, 'segment', offset, length, Math.max(0, timeUs - c.t0), flags);
        c.used += EVENT_RECORD_SIZE;
        c.lanes++;
        return hold(c, EVENT_RECORD_SIZE);
      }
      case 'detail':
        encodeDetail(new DataView(c.details.buffer), c.detailUsed, e.detail, Math.max(0, e.detail.timeUs - c.t0), e.lane ? c.lanes - 1 : null);
        c.detailUsed += DETAIL_RECORD_SIZE;
        return hold(c, DETAIL_RECORD_SIZE);
      case 'data':
        note(c, c.dissector.push(e.bytes));
        // A copy: the bytes may be a view into a whole read of the packet capture.
        c.pieces.push(Uint8Array.prototype.slice.call(e.bytes));
        return hold(c, e.bytes.length);
      case 'problem': {
        const p = storableProblem(e.problem);
        if (p && c.wireProblems.length < WIRE_PROBLEMS_KEPT) c.wireProblems.push(p);
        return;
      }
      case 'close': {
        open.delete(c.n);
        const p: Promise<void> = finish(c, e.how, e.detail)
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => finishing.delete(p));
        finishing.add(p);
        if (finishing.size >= FINISHING_AT_ONCE) await Promise.race(finishing);
        if (failure) throw failure.error;
      }
    }
  };

  try {
    for await (const { event, linkType } of connectionEvents(file, stats)) await handle(event, linkType);
    await Promise.all(finishing);
    if (failure) throw (failure as { error: unknown }).error;
    const { format, packets, tcp, skipped, incompleteBytes } = stats;
    const connections = done.sort((a, b) => a.n - b.n).map((d) => d.connection);
    return { format: format!, packets, tcp, skipped, incompleteBytes, connections };
  } finally {
    await Promise.all(finishing);
    // What was not finished goes with the staging folder; the captures renamed into place stay.
    await rm(staging, { recursive: true, force: true });
  }
}

/** Whether `file` exists (a link counts, followed or not). */
async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** What {@link addWireLane} added. */
export interface WireLaneResult {
  /** Segments in the lane, and those that carried bytes. */
  readonly segments: number;
  readonly carrying: number;
  /**
   * Microseconds added to the packet capture's clock to put its segments on the capture's
   * timeline: the smallest shift after which no segment leaves before the write that made its
   * first byte (or, with no sender recorded, ends after the read that took its last byte).
   */
  readonly shiftUs: number;
}

/** Error from {@link addWireLane}: the packet capture does not hold this capture's transfer. */
export class WireLaneError extends Error {
  override readonly name = 'WireLaneError';
}

const same = (a: string, b: string): boolean => unmapped(a) === unmapped(b);

/**
 * Adds a wire lane to a capture that wirestep recorded, from a packet capture of the same
 * transfer taken at the same time (dumpcap or tcpdump on the loopback or network interface):
 * its connection is the one between the capture's endpoints, and its rebuilt stream must be the
 * capture's own, byte for byte. Writes, segments and reads then show side by side: three views
 * of the same bytes. Throws WireLaneError when the packet capture does not match, and
 * CaptureFileError when it cannot be read.
 */
export async function addWireLane(file: string, captureDir: string): Promise<WireLaneResult> {
  const reader = await CaptureReader.open(captureDir);
  try {
    const meta = reader.meta;
    if (meta.wire) throw new WireLaneError(`capture ${meta.id} already has a wire lane`);
    const { client, server } = meta;
    if (!client || !server) throw new WireLaneError(`capture ${meta.id} does not say which endpoints it connected`);
    const stats: ReadStats = { format: null, packets: 0, tcp: 0, skipped: {}, incompleteBytes: 0 };
    let id: number | null = null;
    let handshake = false;
    let close: WireInfo['close'] = 'end-of-capture';
    let linkType = 'unknown';
    const segments: { timeUs: number; offset: number; length: number; flags: number }[] = [];
    // Like the lane's records, the details wait for the clock shift, which needs every segment.
    const details: { detail: SegmentDetail; lane: number | null }[] = [];
    let summary: WireInfo['detail'];
    const problems: ConnectionProblem[] = [];
    let at = 0;
    const check = async (bytes: Uint8Array): Promise<void> => {
      const mine = await reader.read(at, bytes.length);
      if (mine.length < bytes.length || !Buffer.from(mine).equals(bytes)) {
        throw new WireLaneError(`the packet capture's stream differs from capture ${meta.id}'s at byte ${at}: it is not the same transfer`);
      }
      at += bytes.length;
    };
    for await (const { event: e, linkType: packetLink } of connectionEvents(file, stats)) {
      if (e.type === 'open') {
        if (id === null && e.client.port === client.port && e.server.port === server.port && same(e.client.address, client.address) && same(e.server.address, server.address)) {
          id = e.id;
          handshake = e.handshake;
          linkType = packetLink;
        }
      } else if (e.id !== id) {
        continue;
      } else if (e.type === 'segment') {
        segments.push(storableSegment(e.segment));
      } else if (e.type === 'detail') {
        details.push({ detail: e.detail, lane: e.lane ? segments.length - 1 : null });
      } else if (e.type === 'data') {
        await check(e.bytes);
      } else if (e.type === 'problem') {
        const stored = storableProblem(e.problem);
        if (stored) problems.push(stored);
      } else {
        close = e.how;
        summary = e.detail;
      }
    }
    if (id === null) throw new WireLaneError(`no connection from ${client.address}:${client.port} to ${server.address}:${server.port} in ${path.basename(file)}`);
    if (at < reader.streamLength && !problems.some((p) => p.kind === 'gap' || p.kind === 'cut')) {
      throw new WireLaneError(`the packet capture holds ${at} of the ${reader.streamLength} bytes of capture ${meta.id}`);
    }
    const shiftUs = await alignment(reader, segments);
    const index = new WireIndex();
    const records = new Uint8Array(segments.length * EVENT_RECORD_SIZE);
    const view = new DataView(records.buffer);
    segments.forEach((s, i) => {
      encodeEvent(view, i * EVENT_RECORD_SIZE, 'segment', s.offset, s.length, Math.max(0, s.timeUs + shiftUs), s.flags);
      index.add(s.offset, s.length);
    });
    const { blocks, carrying } = index;
    const detailRecords = new Uint8Array(details.length * DETAIL_RECORD_SIZE);
    const detailView = new DataView(detailRecords.buffer);
    details.forEach(({ detail, lane }, i) => encodeDetail(detailView, i * DETAIL_RECORD_SIZE, detail, Math.max(0, detail.timeUs + shiftUs), lane));
    const wire: WireInfo = { source: { file: path.basename(file), format: stats.format ?? 'pcap', linkType }, handshake, close, blocks, carrying, problems, ...(summary ? { detail: summary } : {}) };
    await writeWhole(path.join(captureDir, CAPTURE_FILES.events.wire), records);
    await writeWhole(path.join(captureDir, WIRE_DETAIL_FILE), detailRecords);
    // Version 4 describes everything but payload files, which need 5.
    await writeCaptureMeta(captureDir, { ...meta, version: (meta.payloads?.length ?? 0) > 0 ? CAPTURE_VERSION : 4, wire });
    return { segments: segments.length, carrying, shiftUs };
  } finally {
    await reader.close();
  }
}

/**
 * The shift from the packet capture's clock (µs since the epoch) to the capture's timeline that
 * puts each segment at or after the write of its first byte, the least such; with no sender
 * recorded, the greatest that puts each segment at or before the read of its last byte. The two
 * clocks are the same machine's, so one shift fits the whole transfer.
 */
async function alignment(reader: CaptureReader, segments: readonly { timeUs: number; offset: number; length: number; flags: number }[]): Promise<number> {
  const fresh = segments.filter((s) => s.length > 0 && !(s.flags & SEGMENT_FLAGS.retransmission)).sort((a, b) => a.offset - b.offset);
  // A capture wirestep recorded has a side, so the lane holding its stream is one.
  const side = streamLane(reader.meta.sides) as Side;
  let bound = side === 'sender' ? -Infinity : Infinity;
  let i = 0;
  for await (const e of reader.eachEvent(side)) {
    if (i >= fresh.length) break;
    if (!isData(e) || e.length === 0) continue;
    const end = e.offset + e.length;
    if (side === 'sender') {
      // Segments whose first byte this write made.
      for (; i < fresh.length && fresh[i]!.offset < end; i++) if (fresh[i]!.offset >= e.offset) bound = Math.max(bound, e.timeUs - fresh[i]!.timeUs);
    } else {
      // Segments whose last byte this read took.
      for (; i < fresh.length && fresh[i]!.offset + fresh[i]!.length <= end; i++) {
        if (fresh[i]!.offset + fresh[i]!.length > e.offset) bound = Math.min(bound, e.timeUs - fresh[i]!.timeUs);
      }
    }
  }
  if (Number.isFinite(bound)) return bound;
  return Math.round(Date.parse(reader.meta.createdAt) * -1000);
}
