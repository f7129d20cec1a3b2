import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import {
  CALL_RECORD_SIZE,
  CAPTURE_FILES,
  CAPTURE_FORMAT,
  CAPTURE_VERSION,
  type CaptureEvent,
  type CaptureMeta,
  EVENT_RECORD_SIZE,
  type Lane,
  PAYLOAD_FILE,
  type PayloadProblem,
  type PayloadRange,
  SIDES,
  type Side,
  WIRE_BLOCK,
  decodeCall,
  decodeEvent,
  opBefore,
} from './format.js';
import { Dissection } from './field-index.js';
import { migrate } from './migrate.js';

export { type CheckpointLayout, Dissection, type FieldEntry, PROBLEMS_KEPT } from './field-index.js';

/** What went wrong opening or reading a capture. */
export type CaptureErrorCode = 'not-found' | 'not-a-capture' | 'unsupported-version' | 'damaged';

/** The one error type of capture reading; `cause` holds the underlying error, if any. */
export class CaptureError extends Error {
  readonly code: CaptureErrorCode;

  constructor(code: CaptureErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaptureError';
    this.code = code;
  }
}

/** Event records read at a time when walking a whole lane. */
const EVENTS_PER_READ = 4096;

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** What a file that is not a regular file is, in words. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Opens `file` of a capture for reading, refusing links and anything but a regular file with a
 * CaptureError 'damaged'. Never blocks: a FIFO is opened with O_NONBLOCK and refused by its type.
 */
export async function openRegular(file: string): Promise<FileHandle> {
  // O_NOFOLLOW: a capture is untrusted input; a link inside it must not lead elsewhere.
  // O_NONBLOCK: opening a FIFO would otherwise hold a thread-pool thread until a writer came.
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CaptureError('damaged', `${path.basename(file)} is ${kindOf(st)}, not a regular file`);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

const openNoFollow = openRegular;

/** Deepest nesting of arrays and objects a `capture.json` may have: what wirestep writes needs 5. */
export const MAX_JSON_DEPTH = 64;

/** How deep `text`'s arrays and objects nest (strings skipped), scanning no further than `limit` + 1. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return max;
}

/** Checks what `capture.json` holds, naming the first thing wrong. */
function validateMeta(raw: unknown, file: string): CaptureMeta {
  const bad = (what: string): never => {
    throw new CaptureError('damaged', `${file}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== CAPTURE_FORMAT) throw new CaptureError('not-a-capture', `${file}: "format" is not "${CAPTURE_FORMAT}"`);
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1) return bad('"version" is not a positive integer');
  if (m.version > CAPTURE_VERSION) {
    throw new CaptureError('unsupported-version', `${file}: capture format version ${m.version} is newer than this wirestep reads (${CAPTURE_VERSION})`);
  }
  const meta = migrate(m);
  if (typeof meta.id !== 'string') return bad('"id" is not a string');
  if (typeof meta.createdAt !== 'string') return bad('"createdAt" is not a string');
  if (!Array.isArray(meta.sides) || !meta.sides.every((s) => SIDES.includes(s as Side))) {
    return bad('"sides" is not a list of "sender" and "receiver"');
  }
  if (meta.wire !== undefined) validateWire(meta.wire as unknown, bad);
  if (meta.sides.length === 0 && !meta.wire) return bad('"sides" is empty and there is no "wire" lane');
  if (!(meta.sides as readonly Lane[]).includes(meta.streamSide) && !(meta.streamSide === 'wire' && meta.wire)) {
    return bad('"streamSide" is not one of "sides"');
  }
  if (typeof meta.outcome !== 'object' || meta.outcome === null || typeof meta.outcome.status !== 'string') return bad('"outcome" has no "status"');
  if (!Array.isArray(meta.errors)) return bad('"errors" is not a list');
  if (!Array.isArray(meta.files)) return bad('"files" is not a list');
  if (!isObject(meta.options)) return bad('"options" is not an object');
  if (!isObject(meta.tool) || typeof meta.tool.name !== 'string' || typeof meta.tool.version !== 'string') return bad('"tool" is not { name, version }');
  if (!isCount(meta.streamBytes)) return bad('"streamBytes" is not a whole number');
  if (!isCount(meta.durationUs)) return bad('"durationUs" is not a whole number');
  for (const key of ['client', 'server'] as const) {
    const e = meta[key] as unknown;
    if (e !== undefined && !(isObject(e) && typeof e.address === 'string' && isCount(e.port))) return bad(`"${key}" is not { address, port }`);
  }
  meta.errors.forEach((e: unknown, i) => {
    if (!isObject(e) || !isReason(e.reason) || typeof e.side !== 'string' || !isCount(e.timeUs)) bad(`"errors"[${i}] is not { side, timeUs, reason }`);
  });
  meta.files.forEach((f: unknown, i) => {
    if (!isObject(f) || !isCount(f.file) || typeof f.name !== 'string' || typeof f.size !== 'string' || typeof f.status !== 'string') {
      bad(`"files"[${i}] is not { file, name, size, status }`);
    }
    if (isObject(f) && ((f.savedAs !== undefined && typeof f.savedAs !== 'string') || (f.nameHex !== undefined && typeof f.nameHex !== 'string'))) {
      bad(`"files"[${i}] has a "savedAs" or "nameHex" that is not text`);
    }
    if (isObject(f) && f.reason !== undefined && !isReason(f.reason)) bad(`"files"[${i}] has a "reason" that is not { kind, … }`);
  });
  if (meta.description !== undefined && !(isObject(meta.description) && Object.values(meta.description).every((v) => typeof v === 'string'))) {
    return bad('"description" is not text by language');
  }
  if (meta.outcome.reason !== undefined && !isReason(meta.outcome.reason)) return bad('"outcome.reason" is not { kind, … }');
  if (meta.recorder !== undefined) {
    const r = meta.recorder as unknown;
    if (!isObject(r) || typeof r.host !== 'string' || !isCount(r.pid)) return bad('"recorder" is not { host, pid }');
  }
  if (meta.calls !== undefined && !(Array.isArray(meta.calls) && meta.calls.every((s) => meta.sides.includes(s)))) return bad('"calls" is not a list of recorded sides');
  if (meta.programs !== undefined) {
    const p = meta.programs as unknown;
    if (!isObject(p) || !Object.entries(p).every(([k, v]) => SIDES.includes(k as Side) && isObject(v) && typeof v.name === 'string' && typeof v.via === 'string')) {
      return bad('"programs" is not { sender?, receiver? } of { name, via }');
    }
  }
  if (meta.startNs !== undefined && !(typeof meta.startNs === 'string' && /^\d+$/.test(meta.startNs))) return bad('"startNs" is not a decimal string');
  if (meta.payloads !== undefined) validatePayloads(meta.payloads as unknown, bad);
  if (meta.sample !== undefined) {
    const s = meta.sample as unknown;
    if (!isObject(s) || typeof s.category !== 'string' || typeof s.lesson !== 'string' || !Array.isArray(s.expect)) return bad('"sample" is not { category, lesson, expect }');
  }
  return meta;
}

function validateWire(w: unknown, bad: (what: string) => never): void {
  if (!isObject(w)) return bad('"wire" is not an object');
  const src = w.source;
  if (!isObject(src) || typeof src.file !== 'string' || (src.format !== 'pcap' && src.format !== 'pcapng') || typeof src.linkType !== 'string') {
    return bad('"wire.source" is not { file, format, linkType }');
  }
  if (typeof w.handshake !== 'boolean') return bad('"wire.handshake" is not true or false');
  if (w.close !== 'fin' && w.close !== 'rst' && w.close !== 'end-of-capture') return bad('"wire.close" is not "fin", "rst" or "end-of-capture"');
  if (!Array.isArray(w.blocks) || !w.blocks.every((b: unknown) => Array.isArray(b) && b.length === 2 && isCount(b[0]) && isCount(b[1]))) {
    return bad('"wire.blocks" is not a list of [offset, end]');
  }
  if (!isCount(w.carrying)) return bad('"wire.carrying" is not a whole number');
  if (!Array.isArray(w.problems) || !w.problems.every((p: unknown) => isObject(p) && typeof p.kind === 'string' && Object.entries(p).every(([k, v]) => k === 'kind' || isCount(v)))) {
    return bad('"wire.problems" is not a list of { kind, numbers }');
  }
}

/** Payload ranges: known file names, whole numbers, in stream order without overlap. */
function validatePayloads(list: unknown, bad: (what: string) => never): void {
  if (!Array.isArray(list)) return bad('"payloads" is not a list');
  let end = 0;
  const names = new Set<string>();
  list.forEach((r: unknown, i) => {
    if (!isObject(r) || typeof r.file !== 'string' || !PAYLOAD_FILE.test(r.file) || !isCount(r.offset) || !isCount(r.length)) {
      bad(`"payloads"[${i}] is not { file: "payload-N.bin", offset, length }`);
    }
    const p = r as unknown as PayloadRange;
    const sealed = [p.size, p.mtimeNs, p.ino].filter((v) => v !== undefined).length;
    if (sealed !== 0 && !(sealed === 3 && isCount(p.size) && /^\d+$/.test(String(p.mtimeNs)) && /^\d+$/.test(String(p.ino)))) {
      bad(`"payloads"[${i}] has not all of size, mtimeNs and ino as numbers`);
    }
    if (p.changed !== undefined && p.changed !== true) bad(`"payloads"[${i}] has a "changed" that is not true`);
    if (p.offset < end || names.has(p.file)) bad(`"payloads"[${i}] overlaps an earlier range or repeats its file`);
    if (!Number.isSafeInteger(p.offset + p.length)) bad(`"payloads"[${i}] ends past 2^53`);
    end = p.offset + p.length;
    names.add(p.file);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A stored reason: an object with a text `kind` (its numbers are checked by whoever words it). */
function isReason(v: unknown): boolean {
  return isObject(v) && typeof v.kind === 'string';
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Reads and checks `capture.json` of the capture in `dir`, refusing a link. */
async function loadMeta(dir: string): Promise<CaptureMeta> {
  const metaFile = path.join(dir, CAPTURE_FILES.meta);
  let text: string;
  try {
    const fh = await openNoFollow(metaFile);
    try {
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CaptureError('not-found', `no capture here (${CAPTURE_FILES.meta} is missing)`, { cause: err });
    if (code === 'ELOOP') throw new CaptureError('damaged', `${CAPTURE_FILES.meta} is a link, which wirestep does not follow`, { cause: err });
    throw new CaptureError('damaged', `${CAPTURE_FILES.meta} cannot be read (${code ?? 'error'})`, { cause: err });
  }
  // Checks and pages walk the parsed value recursively: a deeper one is damage, not a crash.
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new CaptureError('damaged', `${CAPTURE_FILES.meta} nests deeper than ${MAX_JSON_DEPTH} levels`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the file: name only where it broke.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new CaptureError('damaged', `${CAPTURE_FILES.meta} is not valid JSON${at ? ` (at character ${at})` : ''}`, { cause: err });
  }
  return validateMeta(raw, CAPTURE_FILES.meta);
}

/**
 * One piece of the stream as the reader maps it: bytes `start` to `start + length - 1` are in
 * `stream.bin` from `binAt`, or in payload file `range.file`; `damaged` when that file is not
 * the one recorded (its bytes are never shown).
 */
interface StreamPiece {
  readonly start: number;
  readonly length: number;
  readonly binAt: number;
  readonly range?: PayloadRange;
  readonly damaged?: boolean;
}

/** What a payload file is now, as stat says: the numbers a {@link PayloadRange} records. */
function payloadStamp(st: { size: bigint; mtimeNs: bigint; ino: bigint }): { size: number; mtimeNs: string; ino: string } {
  return { size: Number(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino) };
}

/**
 * Checks each payload file against its range and lays the stream out: `stream.bin`'s bytes with
 * the payload ranges between them. A file that changed, went missing or is short makes a
 * {@link PayloadProblem} on its range. A range past what `stream.bin` reaches (a recording killed
 * before its bytes were written) ends the stream there.
 */
async function mapStream(dir: string, payloads: readonly PayloadRange[], binLength: number): Promise<{ pieces: StreamPiece[]; length: number; problems: PayloadProblem[] }> {
  const pieces: StreamPiece[] = [];
  const problems: PayloadProblem[] = [];
  let pos = 0;
  let binAt = 0;
  for (const range of payloads) {
    const before = range.offset - pos;
    if (binAt + before > binLength) break;
    if (before > 0) pieces.push({ start: pos, length: before, binAt });
    binAt += before;
    pos = range.offset;
    if (range.length === 0) continue;
    const { problem, size } = await checkPayload(path.join(dir, range.file), range);
    // A recorder killed mid-file: the file may hold less than listed, and nothing comes after it.
    const length = range.ino === undefined && binAt === binLength && problem === 'payload-missing' ? size : range.length;
    const damaged = problem !== null && length === range.length;
    if (damaged) problems.push({ kind: problem, offset: range.offset, length });
    if (length > 0) pieces.push({ start: pos, length, binAt, range, ...(damaged ? { damaged: true } : {}) });
    pos += length;
  }
  if (binAt < binLength) pieces.push({ start: pos, length: binLength - binAt, binAt });
  return { pieces, length: pos + Math.max(0, binLength - binAt), problems };
}

/**
 * Whether a payload file is no longer what range `r` recorded. The same inode with another size or
 * modification time was edited in place. Another inode is a copy of the capture folder (`cp`, git,
 * a zip: none keeps inodes, and `cp` without `-p` not the time either), trusted as far as its size:
 * an edit made before the copy cannot be told apart from the copy.
 */
function changedSince(now: { size: number; mtimeNs: string; ino: string }, r: PayloadRange): boolean {
  if (r.ino === undefined) return false;
  return now.ino === r.ino ? now.size !== r.size || now.mtimeNs !== r.mtimeNs : now.size !== r.size;
}

/** Whether payload file `file` still holds range `r` as recorded (the problem when it does not), and its size now. */
async function checkPayload(file: string, r: PayloadRange): Promise<{ problem: PayloadProblem['kind'] | null; size: number }> {
  let st;
  try {
    const fh = await openNoFollow(file);
    try {
      st = payloadStamp(await fh.stat({ bigint: true }));
    } finally {
      await fh.close();
    }
  } catch {
    return { problem: 'payload-missing', size: 0 };
  }
  const short = st.size < r.length ? 'payload-missing' : null;
  if (r.changed) return { problem: 'payload-changed', size: st.size };
  if (changedSince(st, r)) return { problem: 'payload-changed', size: st.size };
  return { problem: short, size: st.size };
}

/**
 * Reads a capture folder with random access: metadata at open, then only the events and stream
 * bytes asked for. Throws {@link CaptureError} for a missing, foreign, newer or damaged capture.
 */
export class CaptureReader {
  readonly dir: string;
  readonly meta: CaptureMeta;
  /**
   * Bytes in the stream: `stream.bin`'s and the payload ranges' (the truth, even when a recording
   * was cut before its metadata was final).
   */
  readonly streamLength: number;
  /** Payload ranges whose files are not as recorded: their bytes read as zeros and are not to be shown. */
  readonly payloadProblems: readonly PayloadProblem[];
  readonly #pieces: readonly StreamPiece[];
  readonly #stream: FileHandle;
  readonly #events: ReadonlyMap<Lane, { handle: FileHandle; count: number; calls?: { handle: FileHandle; count: number } }>;
  /**
   * The lanes whose events are the operation steps: the sides' socket operations, or for an
   * imported packet capture, which has none, its segments, ordered by {@link opBefore}.
   */
  readonly #opLanes: readonly Lane[];
  #dissection: Promise<Dissection> | null = null;

  private constructor(dir: string, meta: CaptureMeta, stream: FileHandle, map: { pieces: StreamPiece[]; length: number; problems: PayloadProblem[] }, events: Map<Lane, { handle: FileHandle; count: number; calls?: { handle: FileHandle; count: number } }>) {
    this.dir = dir;
    this.meta = meta;
    this.#stream = stream;
    this.streamLength = map.length;
    this.#pieces = map.pieces;
    this.payloadProblems = map.problems;
    this.#events = events;
    this.#opLanes = meta.sides.length > 0 ? SIDES : ['wire'];
  }

  /** Opens the capture in folder `dir`. */
  static async open(dir: string): Promise<CaptureReader> {
    const meta = await loadMeta(dir);
    const handles: FileHandle[] = [];
    try {
      const stream = await openNoFollow(path.join(dir, CAPTURE_FILES.stream));
      handles.push(stream);
      const map = await mapStream(dir, meta.payloads ?? [], (await stream.stat()).size);
      const events = new Map<Lane, { handle: FileHandle; count: number; calls?: { handle: FileHandle; count: number } }>();
      for (const side of [...meta.sides, ...(meta.wire ? (['wire'] as const) : [])]) {
        const handle = await openNoFollow(path.join(dir, CAPTURE_FILES.events[side]));
        handles.push(handle);
        // A recording cut mid-write may leave a partial last record: it is ignored.
        const count = Math.floor((await handle.stat()).size / EVENT_RECORD_SIZE);
        let calls;
        if (side !== 'wire' && meta.calls?.includes(side)) {
          const callsHandle = await openNoFollow(path.join(dir, CAPTURE_FILES.calls[side]));
          handles.push(callsHandle);
          calls = { handle: callsHandle, count: Math.floor((await callsHandle.stat()).size / CALL_RECORD_SIZE) };
        }
        events.set(side, { handle, count, ...(calls ? { calls } : {}) });
      }
      return new CaptureReader(dir, meta, stream, map, events);
    } catch (err) {
      await Promise.all(handles.map((h) => h.close()));
      if (err instanceof CaptureError) throw err;
      const e = err as NodeJS.ErrnoException;
      const what = isNotFound(err) ? 'is missing' : e.code === 'ELOOP' ? 'is a link, which wirestep does not follow' : `cannot be read (${e.code ?? 'error'})`;
      throw new CaptureError('damaged', `${path.basename(e.path ?? '?')} ${what}`, { cause: err });
    }
  }

  /** Closes the files. */
  async close(): Promise<void> {
    await Promise.all([this.#stream.close(), ...[...this.#events.values()].flatMap((e) => [e.handle.close(), ...(e.calls ? [e.calls.handle.close()] : [])])]);
  }

  /** Events recorded on `side` (0 if that lane was not recorded). */
  eventCount(side: Lane): number {
    return this.#events.get(side)?.count ?? 0;
  }

  /** Whether the capture has a wire lane (it was imported from a packet capture). */
  get hasWire(): boolean {
    return this.#events.has('wire');
  }

  /** Operation steps: events of both sides, or the segments of an imported packet capture. */
  get opCount(): number {
    return this.#opLanes.reduce((n, lane) => n + this.eventCount(lane), 0);
  }

  /** Events `start` to `start + count - 1` of `side`, clamped to what exists. */
  async events(side: Lane, start: number, count: number): Promise<CaptureEvent[]> {
    const { events: buf, calls, count: n, withCalls } = await this.eventRecords(side, start, count);
    const first = Math.max(0, start);
    const out: CaptureEvent[] = [];
    for (let i = 0; i < n; i++) {
      const e = decodeEvent(buf.subarray(i * EVENT_RECORD_SIZE, (i + 1) * EVENT_RECORD_SIZE), side, first + i);
      if (!e) throw new CaptureError('damaged', `${CAPTURE_FILES.events[side]}: record ${first + i} has an unknown event type ${buf[i * EVENT_RECORD_SIZE]}`);
      const call = i < withCalls ? decodeCall(calls, i * CALL_RECORD_SIZE) : undefined;
      out.push(call ? { ...e, call } : e);
    }
    return out;
  }

  /**
   * Events `start` to `start + count - 1` of `side` as stored, clamped to what exists: `count`
   * {@link EVENT_RECORD_SIZE}-byte records in `events`, and in `calls` the
   * {@link CALL_RECORD_SIZE}-byte call records of the first `withCalls` of them (a kill can leave
   * fewer call records than events; a side that records no calls has none). Throws
   * {@link CaptureError} when a file ends early.
   */
  async eventRecords(side: Lane, start: number, count: number): Promise<{ events: Uint8Array; calls: Uint8Array; count: number; withCalls: number }> {
    const log = this.#events.get(side);
    const first = Math.max(0, start);
    const n = log ? Math.max(0, Math.min(count, log.count - first)) : 0;
    const events = new Uint8Array(n * EVENT_RECORD_SIZE);
    if (n > 0) await this.#readFully(log!.handle, events, first * EVENT_RECORD_SIZE);
    const withCalls = log?.calls ? Math.max(0, Math.min(n, log.calls.count - first)) : 0;
    const calls = new Uint8Array(withCalls * CALL_RECORD_SIZE);
    if (withCalls > 0) await this.#readFully(log!.calls!.handle, calls, first * CALL_RECORD_SIZE);
    return { events, calls, count: n, withCalls };
  }

  /** Every event of `side`, in its file's order, read 4096 records at a time. */
  async *eachEvent(side: Lane): AsyncGenerator<CaptureEvent> {
    for (let start = 0; start < this.eventCount(side); start += EVENTS_PER_READ) yield* await this.events(side, start, EVENTS_PER_READ);
  }

  /** Event `index` of `side`. Throws RangeError when out of range. */
  async event(side: Lane, index: number): Promise<CaptureEvent> {
    const [e] = await this.events(side, index, 1);
    if (!e) throw new RangeError(`no event ${index} on the ${side} side`);
    return e;
  }

  /**
   * The `n`th operation step (0-based): the events of both sides in the order of
   * {@link opBefore}, found by a binary search over the two sorted files, reading a few
   * records only. In an imported packet capture, the `n`th segment.
   */
  async op(n: number): Promise<CaptureEvent> {
    const [first, second] = this.#opLanes as [Lane, Lane | undefined];
    const s = this.eventCount(first);
    const r = second ? this.eventCount(second) : 0;
    if (!Number.isInteger(n) || n < 0 || n >= s + r) throw new RangeError(`no operation ${n}`);
    if (s === 0) return this.event(second!, n);
    if (r === 0) return this.event(first, n);
    // Find i = how many of the first n+1 operations are the first lane's.
    let lo = Math.max(0, n + 1 - r);
    let hi = Math.min(n + 1, s);
    while (lo < hi) {
      const i = (lo + hi) >> 1;
      // Too few first-lane events if first[i] comes before second[n - i].
      const a = await this.event(first, i);
      const b = await this.event(second!, n - i);
      if (opBefore(a, b)) lo = i + 1;
      else hi = i;
    }
    const i = lo;
    const fromFirst = i > 0 ? await this.event(first, i - 1) : null;
    const fromSecond = n + 1 - i > 0 ? await this.event(second!, n - i) : null;
    if (!fromSecond) return fromFirst!;
    if (!fromFirst) return fromSecond;
    return opBefore(fromFirst, fromSecond) ? fromSecond : fromFirst;
  }

  /**
   * The position of an operation among the operation steps: the inverse of {@link op}. (For a
   * segment of a capture whose steps are the sides' operations, the number of operations
   * before it.)
   */
  async opIndex(event: CaptureEvent): Promise<number> {
    const own = this.#opLanes.includes(event.side);
    let at = own ? event.index : 0;
    for (const other of this.#opLanes) {
      if (other === event.side) continue;
      // Events of another lane before it.
      let lo = 0;
      let hi = this.eventCount(other);
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (opBefore(await this.event(other, mid), event)) lo = mid + 1;
        else hi = mid;
      }
      at += lo;
    }
    return at;
  }

  /**
   * The data events (writes or reads) of `side` that carried any of the bytes `offset` to
   * `offset + length - 1`: the first `limit` of them and how many there are in all, found by
   * binary search on the sorted offsets (a 1 GiB payload has a million writes; few are read).
   */
  async eventsCovering(side: Lane, offset: number, length: number, limit = 64): Promise<{ events: CaptureEvent[]; total: number }> {
    const end = offset + Math.max(length, 1);
    if (side === 'wire') return this.#segmentsCovering(offset, end, limit);
    const first = await this.#lowerBound(side, (e) => e.offset + (isData(e) ? e.length : 0) <= offset);
    const last = await this.#lowerBound(side, (e) => e.offset < end);
    const events: CaptureEvent[] = [];
    let total = 0;
    const scan = Math.min(last - first, 4096);
    for (let i = first; i < first + scan; i += 256) {
      for (const e of await this.events(side, i, Math.min(256, first + scan - i))) {
        if (!isData(e) || e.length === 0) continue;
        total++;
        if (events.length < limit) events.push(e);
      }
    }
    // Past the scanned records all are writes or reads: connect, accept, end, close and error
    // sit where the stream starts or stopped, outside any byte range that has bytes after it.
    total += Math.max(0, last - first - scan);
    return { events, total };
  }

  /**
   * Segments are in capture order, not stream order (a retransmission comes late, an
   * out-of-order segment early): the blocks index of `capture.json` names the few blocks of
   * segments that can carry bytes in the range, and only those are read.
   */
  async #segmentsCovering(offset: number, end: number, limit: number): Promise<{ events: CaptureEvent[]; total: number }> {
    const events: CaptureEvent[] = [];
    let total = 0;
    for (const [b, [low, high]] of (this.meta.wire?.blocks ?? []).entries()) {
      if (high <= offset || low >= end) continue;
      for (const e of await this.events('wire', b * WIRE_BLOCK, WIRE_BLOCK)) {
        if (e.length === 0 || e.offset >= end || e.offset + e.length <= offset) continue;
        total++;
        if (events.length < limit) events.push(e);
      }
    }
    return { events, total };
  }

  /** First index of `side` whose event does not satisfy `before` (events sorted so it is monotone). */
  async #lowerBound(side: Lane, before: (e: CaptureEvent) => boolean): Promise<number> {
    let lo = 0;
    let hi = this.eventCount(side);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(await this.event(side, mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Microseconds from the start to the last event of either side, read from the events
   * themselves: right even for a capture whose recorder was killed before it could say.
   */
  async durationUs(): Promise<number> {
    let last = 0;
    for (const side of this.#events.keys()) {
      const n = this.eventCount(side);
      if (n > 0) last = Math.max(last, (await this.event(side, n - 1)).timeUs);
    }
    return last;
  }

  /** Up to `length` stream bytes from `offset`; fewer at the end of the stream. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.streamLength));
    const n = Math.max(0, Math.min(length, this.streamLength - start));
    return this.readInto(new Uint8Array(n), start);
  }

  /**
   * Fills `into` with stream bytes from `offset`, or as much of it as the stream holds; returns
   * the part filled. For a caller that reads the whole stream through one buffer.
   */
  async readInto(into: Uint8Array, offset: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.streamLength));
    const buf = into.subarray(0, Math.max(0, Math.min(into.length, this.streamLength - start)));
    if (this.#pieces.length <= 1 && !this.#pieces[0]?.range) {
      await this.#readFully(this.#stream, buf, start);
      return buf;
    }
    // The piece holding `start`, then on through the pieces until `buf` is full.
    let lo = 0;
    let hi = this.#pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#pieces[mid]!.start <= start) lo = mid;
      else hi = mid - 1;
    }
    let done = 0;
    for (let i = lo; done < buf.length && i < this.#pieces.length; i++) {
      const p = this.#pieces[i]!;
      const from = start + done - p.start;
      const part = buf.subarray(done, done + Math.min(buf.length - done, p.length - from));
      if (!p.range) await this.#readFully(this.#stream, part, p.binAt + from);
      else if (p.damaged) part.fill(0);
      else await this.#readPayload(p.range, part, from);
      done += part.length;
    }
    return buf;
  }

  /** Whether any of stream bytes `offset` to `offset + length - 1` is in a damaged payload range. */
  isDamaged(offset: number, length: number): boolean {
    return this.payloadProblems.some((p) => p.offset < offset + length && offset < p.offset + p.length);
  }

  /**
   * Reads payload bytes from their file, checking it is still the one recorded: a file changed
   * since the capture was opened is a CaptureError 'damaged', never wrong bytes.
   */
  async #readPayload(r: PayloadRange, into: Uint8Array, at: number): Promise<void> {
    const fh = await openNoFollow(path.join(this.dir, r.file)).catch((err: unknown) => {
      throw new CaptureError('damaged', `${r.file} of capture ${this.meta.id} cannot be read`, { cause: err });
    });
    try {
      const now = payloadStamp(await fh.stat({ bigint: true }));
      if (changedSince(now, r)) {
        throw new CaptureError('damaged', `${r.file} of capture ${this.meta.id} changed after it was recorded`);
      }
      await this.#readFully(fh, into, at);
    } finally {
      await fh.close();
    }
  }

  /**
   * Dissects the stream by random access in memory bounded by a constant: one scan reads the
   * count, names and sizes (payloads are skipped) and keeps counts and checkpoints, from which
   * any field is dissected again on demand ({@link Dissection}). Cached per reader.
   */
  dissection(): Promise<Dissection> {
    this.#dissection ??= this.#dissect();
    return this.#dissection;
  }

  #dissect(): Promise<Dissection> {
    const limit = this.meta.options.maxFileSize;
    const maxFileSize = typeof limit === 'string' && /^\d+$/.test(limit) ? BigInt(limit) : undefined;
    const maxFiles = this.meta.options.maxFiles;
    return Dissection.scan((offset, length) => this.read(offset, length), this.streamLength, {
      ...(maxFileSize === undefined ? {} : { maxFileSize }),
      ...(typeof maxFiles === 'number' && Number.isSafeInteger(maxFiles) ? { maxFiles } : {}),
    });
  }

  async #readFully(handle: FileHandle, buf: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
      if (bytesRead === 0) throw new CaptureError('damaged', `a file of capture ${this.meta.id} ended early`);
      done += bytesRead;
    }
  }
}

/** Whether an event moved or carried stream bytes: a write, a read or a segment. */
export function isData(e: CaptureEvent): boolean {
  return e.type === 'write' || e.type === 'read' || e.type === 'segment';
}

/** Reads only `capture.json` of a capture (for listings), with the same checks as opening it. */
export async function readMeta(dir: string): Promise<CaptureMeta> {
  return loadMeta(dir);
}
