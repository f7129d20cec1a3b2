import { randomBytes } from 'node:crypto';
import { type WriteStream, constants, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CALL_RECORD_SIZE,
  CAPTURE_FILES,
  CAPTURE_FORMAT,
  CAPTURE_VERSION,
  type CallName,
  type CaptureMeta,
  EVENT_RECORD_SIZE,
  type Endpoint,
  type EventType,
  type FileOutcome,
  type Lane,
  type OutcomeStatus,
  type PayloadRange,
  type ProgramInfo,
  type SampleInfo,
  type Side,
  WireIndex,
  type WireInfo,
  encodeCall,
  encodeEvent,
  isCaptureId,
  payloadFileName,
  streamLane,
} from './format.js';
import { currentRecorder } from './liveness.js';
import { TOOL } from './tool.js';
import type { Reason } from '../protocol/reasons.js';

/**
 * The lowest version that describes a capture, so that an older wirestep still opens what it
 * can: 1 without a wire lane or a reason, 2 with a wire lane, 3 once it stores a reason, 4 with
 * calls or programs, 5 with payload files.
 */
function lowestVersion(meta: CaptureMeta, files: readonly FileOutcome[]): number {
  if ((meta.payloads?.length ?? 0) > 0) return CAPTURE_VERSION;
  if ((meta.calls?.length ?? 0) > 0 || meta.programs) return 4;
  if (meta.outcome.reason || meta.errors.length > 0 || files.some((f) => f.reason || f.nameHex)) return 3;
  return meta.wire ? 2 : 1;
}

/**
 * Writes `data` to `file` whole or not at all: to `file.tmp`, then renamed over `file`, so a
 * reader or a kill never leaves half of it. Throws on I/O errors.
 */
export async function writeWhole(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Writes `meta` as the `capture.json` of folder `dir`, whole ({@link writeWhole}). Throws on I/O errors. */
export function writeCaptureMeta(dir: string, meta: CaptureMeta): Promise<void> {
  return writeWhole(path.join(dir, CAPTURE_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
}

/** Nanoseconds from a monotonic clock; replaceable in tests. */
export type Clock = () => bigint;
const hrtime: Clock = () => process.hrtime.bigint();

/** What a new capture starts with. */
export interface CaptureInit {
  /** Folder that holds captures; created if missing. */
  readonly root: string;
  /** Folder name of the capture; default: time, sides and a random suffix. */
  readonly id?: string;
  /** The sides whose socket operations are recorded; none for an imported packet capture. */
  readonly sides: readonly Side[];
  /** For a capture imported from a packet capture: the wire lane's source (the rest is filled in as it goes). */
  readonly wire?: Pick<WireInfo, 'source' | 'handshake'>;
  /** Wall-clock start, ISO 8601; default now. */
  readonly createdAt?: string;
  readonly client?: Endpoint;
  readonly server?: Endpoint;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly description?: Readonly<Record<string, string>>;
  readonly sample?: SampleInfo;
  /** Which program makes each side's calls. */
  readonly programs?: Readonly<Partial<Record<Side, ProgramInfo>>>;
  /**
   * CLOCK_MONOTONIC ns at time 0, for captures whose events come with their own times
   * ({@link CaptureWriter.recordAt}): stored as `startNs`.
   */
  readonly startNs?: bigint;
  readonly clock?: Clock;
  /**
   * Whether a received file's payload may be stored as a hard link to it ({@link CaptureWriter.linkPayload})
   * instead of a copy in `stream.bin`; default true. `--capture-copy` sets false.
   */
  readonly linkPayloads?: boolean;
  /**
   * Makes the hard link (default `fs.promises.link`): a test passes one that fails with EXDEV to
   * take the path of a capture folder on another file system than the received files.
   */
  readonly link?: (existing: string, newPath: string) => Promise<void>;
}

/** Payloads smaller than this stay in `stream.bin`: a link would cost an inode and a disk block to save a few bytes. */
export const LINK_MIN_BYTES = 4096;

/** A payload range as the writer keeps it: its end is known once its bytes have passed. */
interface LinkedRange {
  readonly file: number;
  readonly offset: number;
  readonly declared: number;
  stat?: { size: number; mtimeNs: string; ino: string };
  changed?: true;
}

/** The call that made an event: its name, what it asked (`null`: no size) and {@link CALL_FLAGS}. */
export interface CallNote {
  readonly name: CallName;
  readonly asked: number | null;
  readonly flags?: number;
}

/** Records in a log's first batch; 48 KiB of events. */
const BATCH_RECORDS = 2048;
/** Most records in a batch, for a side that fills batches faster than the flush timer: 384 KiB of events. */
const BATCH_RECORDS_MAX = 16_384;
/** Written batches a record log keeps for reuse. */
const SPARE_BATCHES = 2;
const STREAM_BUFFER = 1 << 20;
const FLUSH_INTERVAL_MS = 200;
/** Most pieces gathered before a flush: writev takes at most 1024 buffers. */
const MAX_PIECES = 1024;

/** A fresh capture id: `20261123-234012-receiver-3fa9c1`. */
export function newCaptureId(label: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${label}-${randomBytes(3).toString('hex')}`;
}

/** Fixed-size records appended to one file, in batches. */
class RecordLog {
  readonly #out: WriteStream;
  readonly #size: number;
  /** Records per batch: {@link BATCH_RECORDS} at first, up to {@link BATCH_RECORDS_MAX}. */
  #batch = BATCH_RECORDS;
  #buf: Buffer;
  view: DataView;
  #used = 0;
  /**
   * Batches written out, ready to be filled again: a million events would otherwise ask the
   * system for 32 MiB of fresh memory, which on a VM that hands freed pages back to its host
   * costs a page fault per 4 KiB.
   */
  #spare: Buffer[] = [];
  count = 0;
  /** A write error (disk full): later records are dropped, the capture says so when finished. */
  error: Error | null = null;

  constructor(file: string, size: number) {
    this.#size = size;
    this.#buf = Buffer.allocUnsafeSlow(this.#batch * size);
    this.view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
    this.#out = createWriteStream(file, { flags: 'wx' });
    this.#out.on('error', (err) => {
      this.error ??= err;
    });
  }

  /** Where the next record goes in {@link view}; call {@link added} once it is written. */
  get at(): number {
    return this.#used;
  }

  added(): void {
    this.#used += this.#size;
    this.count++;
    if (this.#used !== this.#buf.length) return;
    // A batch filled before the flush timer came: a busy side (a sender's million 1 KiB
    // writes) gets bigger batches, so fewer writes to hand to the file system's threads.
    if (this.#batch < BATCH_RECORDS_MAX) {
      this.#batch *= 2;
      this.#spare = [];
    }
    this.flush();
  }

  flush(): void {
    if (this.#used === 0) return;
    const full = this.#buf;
    // Every byte of a batch is written by the record encoders before it goes out: no zeroing.
    if (!this.error) {
      this.#out.write(full.subarray(0, this.#used), () => {
        if (full.length === this.#batch * this.#size && this.#spare.length < SPARE_BATCHES) this.#spare.push(full);
      });
    }
    this.#buf = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#batch * this.#size);
    this.view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
    this.#used = 0;
  }

  /** Appends whole records as stored, after those added so far; `bytes` must not change after. */
  addRecords(bytes: Uint8Array): void {
    this.flush();
    if (bytes.length === 0) return;
    if (!this.error) this.#out.write(bytes);
    this.count += bytes.length / this.#size;
  }

  async close(): Promise<void> {
    this.flush();
    await closeStream(this.#out);
  }
}

class EventLog extends RecordLog {
  /** The side's calls, one record per event, where the side records them. */
  readonly calls: RecordLog | null;

  constructor(file: string, callsFile: string | null) {
    super(file, EVENT_RECORD_SIZE);
    this.calls = callsFile === null ? null : new RecordLog(callsFile, CALL_RECORD_SIZE);
  }

  add(type: EventType, offset: number, length: number, timeUs: number, flags = 0, call?: CallNote): void {
    encodeEvent(this.view, this.at, type, offset, length, timeUs, flags);
    this.added();
    if (this.calls) {
      encodeCall(this.calls.view, this.calls.at, call?.name ?? 'none', call ? call.asked : null, call?.flags ?? 0);
      this.calls.added();
    }
  }

  override flush(): void {
    super.flush();
    this.calls?.flush();
  }

  override async close(): Promise<void> {
    await super.close();
    await this.calls?.close();
  }
}

/** Ends a write stream and waits until it is closed, also when it already failed. */
async function closeStream(out: WriteStream): Promise<void> {
  if (out.closed) return;
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  if (out.destroyed) {
    await closed;
    return;
  }
  out.end();
  await closed;
}

/**
 * Writes one capture as the transfer happens: stream bytes and events are appended at once
 * (events in batches of at most 200 ms), so a process killed halfway leaves what came.
 * Throws on I/O errors (folder not writable, id already taken).
 */
export class CaptureWriter {
  readonly id: string;
  readonly dir: string;
  readonly #clock: Clock;
  readonly #t0: bigint;
  readonly #t0Ms: number;
  readonly #stream: WriteStream;
  // Stream bytes gathered before they go to stream.bin, without copying them: the pieces a
  // side moved are kept as views, and pieces that follow each other in one buffer (a sender's
  // 1 KiB writes cut from one 1 MiB block) are joined into one view. A million 1 KiB writes
  // become a thousand 1 MiB ones. Flushed when 1 MiB is waiting and with the events (every
  // 200 ms), so a kill loses no more than it did.
  #pieces: Uint8Array[] = [];
  #pendingBytes = 0;
  // The last piece, kept as numbers until a piece from elsewhere comes: no object per record.
  #tail: ArrayBufferLike | null = null;
  #tailStart = 0;
  #tailEnd = 0;
  readonly #events = new Map<Lane, EventLog>();
  /** The wire lane's block index, as it grows. */
  readonly #wireIndex = new WireIndex();
  readonly #timer: NodeJS.Timeout;
  #meta: CaptureMeta;
  readonly #files = new Map<number, FileOutcome>();
  #metaDirty = false;
  #metaWriting: Promise<void> = Promise.resolve();
  #streamBytes = 0;
  #lastUs = 0;
  #finished = false;
  #streamError: Error | null = null;
  readonly #linkPayloads: boolean;
  readonly #link: (existing: string, newPath: string) => Promise<void>;
  /** Stream ranges held by payload files, in stream order. */
  readonly #payloads: LinkedRange[] = [];
  /** The first range whose bytes have not all passed. */
  #rangeAt = 0;
  /** A range ended and no capture.json giving its whole length is on disk yet. */
  #rangeUnlisted = false;
  /** The next flush of stream.bin must wait for capture.json to list the ranges before its bytes. */
  #barrier = false;
  /** stream.bin writes waiting behind a capture.json write, in order; null when none waits. */
  #held: Promise<void> | null = null;

  private constructor(dir: string, meta: CaptureMeta, clock: Clock, init: Pick<CaptureInit, 'linkPayloads' | 'link'>) {
    this.#linkPayloads = init.linkPayloads ?? true;
    this.#link = init.link ?? link;
    this.id = meta.id;
    this.dir = dir;
    this.#meta = meta;
    this.#clock = clock;
    this.#t0 = meta.startNs === undefined ? clock() : BigInt(meta.startNs);
    this.#t0Ms = performance.now();
    this.#stream = createWriteStream(path.join(dir, CAPTURE_FILES.stream), { flags: 'wx', highWaterMark: 1 << 20 });
    this.#stream.on('error', (err) => {
      this.#streamError = err;
    });
    for (const side of meta.sides) {
      const calls = meta.calls?.includes(side) ? path.join(dir, CAPTURE_FILES.calls[side]) : null;
      this.#events.set(side, new EventLog(path.join(dir, CAPTURE_FILES.events[side]), calls));
    }
    if (meta.wire) this.#events.set('wire', new EventLog(path.join(dir, CAPTURE_FILES.events.wire), null));
    this.#timer = setInterval(() => {
      this.flush();
      // What the receiver did with each file survives a kill too, a flush interval late at most.
      if (this.#metaDirty) void this.#writeMeta().catch(() => {});
    }, FLUSH_INTERVAL_MS).unref();
  }

  /** Creates the capture folder `root/id` and its files. Throws if it exists or cannot be written. */
  static async create(init: CaptureInit): Promise<CaptureWriter> {
    const id = init.id ?? newCaptureId(init.sides.length === 2 ? 'both' : init.sides[0] ?? 'wire');
    if (!isCaptureId(id)) throw new Error(`not a valid capture id: ${JSON.stringify(id)}`);
    if (init.sides.length === 0 && !init.wire) throw new Error('a capture needs a side or a wire lane');
    await mkdir(init.root, { recursive: true });
    const dir = path.join(init.root, id);
    await mkdir(dir);
    const meta: CaptureMeta = {
      format: CAPTURE_FORMAT,
      version: 1,
      id,
      createdAt: init.createdAt ?? new Date().toISOString(),
      tool: TOOL,
      sides: [...init.sides],
      streamSide: streamLane(init.sides),
      ...(init.client ? { client: init.client } : {}),
      ...(init.server ? { server: init.server } : {}),
      options: init.options ?? {},
      ...(init.description ? { description: init.description } : {}),
      ...(init.sample ? { sample: init.sample } : {}),
      // Every side a socket recorded says which call made each of its events.
      ...(init.sides.length > 0 ? { calls: [...init.sides] } : {}),
      ...(init.programs ? { programs: init.programs } : {}),
      ...(init.startNs === undefined ? {} : { startNs: String(init.startNs) }),
      ...(init.wire ? { wire: { ...init.wire, close: 'end-of-capture', blocks: [], carrying: 0, problems: [] } } : {}),
      outcome: { status: 'recording' },
      recorder: currentRecorder(),
      streamBytes: 0,
      durationUs: 0,
      errors: [],
      files: [],
    };
    const writer = new CaptureWriter(dir, meta, init.clock ?? hrtime, init);
    try {
      await writer.#writeMeta();
    } catch (err) {
      // No half-made capture left behind: its files are closed and its folder removed.
      await writer.finish('aborted').catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return writer;
  }

  /** Microseconds since the capture started. */
  nowUs(): number {
    // The real clock without BigInts: a million events, a million allocations saved.
    if (this.#clock === hrtime && this.#meta.startNs === undefined) return Math.floor((performance.now() - this.#t0Ms) * 1000);
    return Number((this.#clock() - this.#t0) / 1000n);
  }

  /** Bytes appended to `stream.bin` so far. */
  get streamBytes(): number {
    return this.#streamBytes;
  }

  /** Which lane's data events carry the stream bytes. */
  get streamSide(): Lane {
    return this.#meta.streamSide;
  }

  /**
   * Records one event of `side` now. For a write or read of the stream side, pass its bytes:
   * they are appended to the stream. The bytes are kept, not copied, until they are written:
   * they must not change after this call. `call` is the call that made the event, for the
   * side's calls file, encoded at once and not kept. Returns false when the caller should await {@link drain}.
   */
  record(side: Side, type: EventType, offset: number, length: number, bytes?: Uint8Array, call?: CallNote): boolean {
    return this.recordAt(this.nowUs(), side, type, offset, length, bytes, call);
  }

  /**
   * {@link record} at a time the caller knows (microseconds since the capture's start): a traced
   * program's calls come with their own times. Times of one side must not go back.
   */
  recordAt(timeUs: number, side: Side, type: EventType, offset: number, length: number, bytes?: Uint8Array, call?: CallNote): boolean {
    const log = this.#events.get(side);
    if (!log || this.#finished) return true;
    this.#lastUs = Math.max(this.#lastUs, timeUs);
    log.add(type, offset, length, timeUs, 0, call);
    return bytes && side === this.#meta.streamSide ? this.appendStream(bytes) : true;
  }

  /**
   * Records a segment on the wire lane, at the time it was captured (microseconds since the
   * capture's start). Segments come in capture order; their bytes go in with {@link appendStream}.
   */
  recordSegment(timeUs: number, offset: number, length: number, flags: number): void {
    const log = this.#events.get('wire');
    if (!log || this.#finished) return;
    this.#wireIndex.add(offset, length);
    this.#lastUs = Math.max(this.#lastUs, timeUs);
    log.add('segment', offset, length, timeUs, flags);
  }

  /**
   * Appends events of `side` as another capture stored them: `events` holds whole
   * {@link EVENT_RECORD_SIZE}-byte records, `calls` one {@link CALL_RECORD_SIZE}-byte call record
   * for each (ignored when the side records no calls), `lastUs` the latest of their times
   * (microseconds since this capture's start). They go after the events recorded so far; the
   * bytes are kept, not copied, until written: they must not change after this call. Throws
   * RangeError when the two do not hold the same number of whole records.
   */
  appendRecords(side: Side, events: Uint8Array, calls: Uint8Array, lastUs: number): void {
    const log = this.#events.get(side);
    if (!log || this.#finished) return;
    const n = events.length / EVENT_RECORD_SIZE;
    if (!Number.isInteger(n) || calls.length !== n * CALL_RECORD_SIZE) throw new RangeError(`${events.length} bytes of events do not go with ${calls.length} bytes of calls`);
    if (n === 0) return;
    this.#lastUs = Math.max(this.#lastUs, lastUs);
    log.addRecords(events);
    log.calls?.addRecords(calls);
  }

  /** Sets what the import learnt about the wire: how the connection ended, its problems. */
  setWire(update: Partial<Pick<WireInfo, 'close' | 'problems' | 'detail'>>): void {
    const wire = this.#meta.wire;
    if (wire) this.#meta = { ...this.#meta, wire: { ...wire, ...update } };
  }

  /**
   * Appends bytes to the stream (what {@link record} does with a stream side's data). The bytes
   * are kept, not copied, until they are written: they must not change after this call.
   * Returns false when the caller should await {@link drain}.
   */
  appendStream(bytes: Uint8Array): boolean {
    if (this.#finished || bytes.length === 0) return true;
    const from = this.#streamBytes;
    this.#streamBytes += bytes.length;
    if (this.#rangeAt === this.#payloads.length) return this.#toStreamFile(bytes);
    // Bytes inside a linked range are in its payload file already: only the rest goes to stream.bin.
    let room = true;
    let at = 0;
    while (at < bytes.length) {
      const r = this.#payloads[this.#rangeAt];
      const pos = from + at;
      if (!r || pos < r.offset) {
        const k = r ? Math.min(bytes.length - at, r.offset - pos) : bytes.length - at;
        room = this.#toStreamFile(bytes.subarray(at, at + k)) && room;
        at += k;
        continue;
      }
      at += Math.min(bytes.length - at, r.offset + r.declared - pos);
      if (from + at >= r.offset + r.declared) {
        this.#rangeAt++;
        this.#rangeUnlisted = true;
      }
    }
    return room;
  }

  /** Queues bytes for stream.bin. */
  #toStreamFile(bytes: Uint8Array): boolean {
    if (bytes.length === 0 || this.#streamError || this.#stream.destroyed) return true;
    // Bytes after a range go to disk only once capture.json says how long the range is.
    if (this.#rangeUnlisted) {
      this.#rangeUnlisted = false;
      this.#barrier = true;
    }
    if (this.#tail === bytes.buffer && this.#tailEnd === bytes.byteOffset) {
      this.#tailEnd += bytes.length;
    } else {
      this.#closeTail();
      this.#tail = bytes.buffer;
      this.#tailStart = bytes.byteOffset;
      this.#tailEnd = bytes.byteOffset + bytes.length;
    }
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= STREAM_BUFFER || this.#pieces.length >= MAX_PIECES) return this.#flushStream();
    return true;
  }

  /**
   * Stores file `file`'s payload, stream bytes `offset` to `offset + size - 1`, as a hard link
   * (`payload-N.bin`) to `source` instead of copying them into `stream.bin`: for the receiver, the
   * file it is writing them to; for the sender, the file it sends (with `clone`, a copy-on-write
   * clone where the file system makes one, else a link). Only for the side whose bytes the
   * stream holds, before those bytes are recorded, and for payloads of at least
   * {@link LINK_MIN_BYTES}. Returns false, and the bytes are copied as usual, where it cannot:
   * linking is off, or the link failed (another file system: EXDEV; links not allowed). Call
   * {@link sealPayload} once the file is done with. Does not throw.
   */
  async linkPayload(side: Side, file: number, source: string, offset: number, size: number, opts: { clone?: boolean } = {}): Promise<boolean> {
    const last = this.#payloads[this.#payloads.length - 1];
    if (!this.#linkPayloads || this.#finished || this.#meta.streamSide !== side || size < LINK_MIN_BYTES) return false;
    if (offset < this.#streamBytes || (last && offset < last.offset + last.declared)) return false;
    const target = path.join(this.dir, payloadFileName(file));
    try {
      if (opts.clone) await copyFile(source, target, constants.COPYFILE_FICLONE_FORCE);
      else await this.#link(source, target);
    } catch {
      try {
        // No clone here (ext4, tmpfs): a link, which the sender checks before and after sending.
        if (!opts.clone) return false;
        await rm(target, { force: true });
        await this.#link(source, target);
      } catch {
        return false;
      }
    }
    // Nothing was recorded meanwhile: the receiver records a chunk only after handling it.
    if (offset < this.#streamBytes) return false;
    this.#payloads.push({ file, offset, declared: size });
    this.#metaDirty = true;
    return true;
  }

  /**
   * Notes what file `file`'s payload file holds now that its side is done with it (saved, sent,
   * cut or failed): its size, modification time and inode, which a reader checks. `changed`: the
   * file changed while it was being sent, so its bytes may not be the ones that went; the range
   * is then shown as damaged. Throws on I/O errors.
   */
  async sealPayload(file: number, opts: { changed?: boolean } = {}): Promise<void> {
    const r = this.#payloads.find((p) => p.file === file);
    if (!r) return;
    if (opts.changed) r.changed = true;
    const st = await stat(path.join(this.dir, payloadFileName(file)), { bigint: true });
    r.stat = { size: Number(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino) };
    this.#metaDirty = true;
  }

  /** Records an error of `side` with its reason, now or at `at.timeUs`, made by `at.call`. */
  recordError(side: Side, offset: number, reason: Reason, at: { timeUs?: number; call?: CallNote } = {}): void {
    if (this.#finished) return;
    const index = this.#meta.errors.length;
    const timeUs = at.timeUs ?? this.nowUs();
    this.#meta = { ...this.#meta, errors: [...this.#meta.errors, { side, timeUs, reason }] };
    this.recordAt(timeUs, side, 'error', offset, index, undefined, at.call);
  }

  /** Sets which program made a side's calls (learnt after creation). */
  setProgram(side: Side, program: ProgramInfo): void {
    this.#meta = { ...this.#meta, programs: { ...this.#meta.programs, [side]: program } };
    this.#metaDirty = true;
  }

  /** Sets endpoints learnt after creation (the port a sender connected from). */
  setEndpoints(client: Endpoint | undefined, server: Endpoint | undefined): void {
    this.#meta = { ...this.#meta, ...(client ? { client } : {}), ...(server ? { server } : {}) };
  }

  /** Records what happened to an announced file (replacing an earlier note of the same file). */
  setFile(outcome: FileOutcome): void {
    this.#files.set(outcome.file, outcome);
    this.#metaDirty = true;
  }

  /**
   * Resolves once the stream file has taken what was given to it, or at once when it failed:
   * a capture that cannot be written does not stall the transfer it records.
   */
  async drain(): Promise<void> {
    while (this.#held) await this.#held;
    const out = this.#stream;
    if (!out.writableNeedDrain || out.destroyed || this.#streamError) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      out.on('drain', done).on('error', done).on('close', done);
    });
  }

  /** Writes buffered events to disk. */
  flush(): void {
    this.#flushStream();
    for (const log of this.#events.values()) log.flush();
  }

  /** Adds the last piece to the pieces waiting for stream.bin. */
  #closeTail(): void {
    if (this.#tail === null) return;
    this.#pieces.push(new Uint8Array(this.#tail, this.#tailStart, this.#tailEnd - this.#tailStart));
    this.#tail = null;
  }

  /** Hands the gathered stream bytes to stream.bin, in one writev; false when it asks the caller to wait. */
  #flushStream(): boolean {
    this.#closeTail();
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#pendingBytes = 0;
    if (pieces.length === 0 || this.#streamError || this.#stream.destroyed) return true;
    if (!this.#barrier && !this.#held) return this.#writePieces(pieces);
    const listed = this.#barrier ? this.#writeMeta().catch(() => {}) : Promise.resolve();
    this.#barrier = false;
    const held: Promise<void> = (this.#held ?? Promise.resolve()).then(() => listed).then(() => {
      this.#writePieces(pieces);
      if (this.#held === held) this.#held = null;
    });
    this.#held = held;
    return false;
  }

  /** Writes pieces to stream.bin in one writev; false when it asks the caller to wait. */
  #writePieces(pieces: readonly Uint8Array[]): boolean {
    if (this.#streamError || this.#stream.destroyed) return true;
    this.#stream.cork();
    let room = true;
    for (const p of pieces) room = this.#stream.write(p);
    this.#stream.uncork();
    return room;
  }

  /** Flushes everything, closes the files and writes the final metadata. Idempotent. */
  async finish(status: OutcomeStatus, reason?: Reason): Promise<CaptureMeta> {
    if (this.#finished) return this.meta;
    this.#finished = true;
    clearInterval(this.#timer);
    this.#flushStream();
    while (this.#held) await this.#held;
    for (const log of this.#events.values()) await log.close();
    await closeStream(this.#stream);
    const failure = this.#streamError ?? [...this.#events.values()].map((l) => l.error ?? l.calls?.error).find((e) => e);
    this.#meta = {
      ...this.#meta,
      outcome: reason === undefined ? { status } : { status, reason },
      // Finished: nobody records it any more.
      recorder: undefined,
      streamBytes: this.#streamBytes,
      durationUs: this.#lastUs,
    };
    await this.#writeMeta();
    if (failure) throw new Error(`the capture ${this.id} could not be written whole: ${failure.message}`, { cause: failure });
    return this.meta;
  }

  /** The metadata as it stands. */
  get meta(): CaptureMeta {
    const wire = this.#meta.wire;
    const files = [...this.#files.values()].sort((a, b) => a.file - b.file);
    const payloads: PayloadRange[] = this.#payloads.map((r) => ({
      file: payloadFileName(r.file),
      offset: r.offset,
      // What has passed of it: a range cut short ends where the stream did.
      length: Math.min(r.declared, Math.max(0, this.#streamBytes - r.offset)),
      ...r.stat,
      ...(r.changed ? { changed: true as const } : {}),
    }));
    const meta = payloads.length > 0 ? { ...this.#meta, payloads } : this.#meta;
    return {
      ...meta,
      version: lowestVersion(meta, files),
      files,
      ...(wire ? { wire: { ...wire, blocks: this.#wireIndex.blocks.map(([a, b]) => [a, b] as const), carrying: this.#wireIndex.carrying } } : {}),
    };
  }

  /** Writes capture.json whole (tmp, then rename); one write at a time, in order. */
  #writeMeta(): Promise<void> {
    this.#metaDirty = false;
    // The metadata as it stands now: a later change is the next write's.
    const meta = this.meta;
    this.#metaWriting = this.#metaWriting.catch(() => {}).then(() => writeCaptureMeta(this.dir, meta));
    return this.#metaWriting;
  }
}

