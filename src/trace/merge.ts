import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  CALL_RECORD_SIZE,
  CAPTURE_FILES,
  CAPTURE_VERSION,
  CaptureError,
  CaptureReader,
  CaptureWriter,
  type CaptureMeta,
  type Endpoint,
  EVENT_RECORD_SIZE,
  EVENT_TYPES,
  type Side,
  decodeCall,
  encodeCall,
  readMeta,
  writeCaptureMeta,
} from '../capture/index.js';
import { outcomeOf } from '../protocol/index.js';

// Compared a block at a time: 4 MiB of each stream in memory.
const BLOCK = 1 << 22;

/**
 * The outcome a traced capture settles on once recorded: `aborted` by its first socket error,
 * `interrupted` when wirestep stopped the program with the connection open, else what its
 * stream came to (`complete`, `truncated`, `malformed`). Rewrites `capture.json`; returns it.
 */
export async function settleOutcome(dir: string, interrupted: boolean): Promise<CaptureMeta> {
  const r = await CaptureReader.open(dir);
  try {
    const first = [...r.meta.errors].sort((a, b) => a.timeUs - b.timeUs)[0];
    const outcome = first ? { status: 'aborted' as const, reason: first.reason } : interrupted ? { status: 'interrupted' as const } : { status: outcomeOf((await r.dissection()).problems) };
    // The stream's length from the file itself: a joined capture's stream.bin was moved in whole.
    const meta = { ...r.meta, outcome, streamBytes: r.streamLength };
    await writeCaptureMeta(dir, meta);
    return meta;
  } finally {
    await r.close();
  }
}

const sameEndpoint = (a: Endpoint | undefined, b: Endpoint | undefined): boolean => !!a && !!b && a.address === b.address && a.port === b.port;

/** Whether two finished one-sided traced captures can be the two ends of one connection (bytes not checked yet). */
function canPair(sender: CaptureMeta, receiver: CaptureMeta): boolean {
  if (sender.sides.join() !== 'sender' || receiver.sides.join() !== 'receiver') return false;
  if (sender.startNs === undefined || receiver.startNs === undefined) return false;
  if (sender.outcome.status === 'recording' || receiver.outcome.status === 'recording') return false;
  if (!sameEndpoint(sender.client, receiver.client) || !sameEndpoint(sender.server, receiver.server)) return false;
  // Both on one CLOCK_MONOTONIC. The accept may return after the sender has closed (the kernel
  // takes the bytes before the server asks), but not long before the connect, nor after its end.
  const s0 = BigInt(sender.startNs!);
  const r0 = BigInt(receiver.startNs!);
  const r1 = r0 + BigInt(receiver.durationUs) * 1000n;
  return r0 >= s0 - 1_000_000_000n && s0 <= r1;
}

/** Whether the receiver's stream is a prefix of the sender's, byte for byte. */
async function receivedWhatWasSent(sender: CaptureReader, receiver: CaptureReader): Promise<boolean> {
  if (receiver.streamLength > sender.streamLength) return false;
  // Two buffers for the whole stream: fresh ones for each block would fault in 512 MiB of pages.
  const mine = new Uint8Array(BLOCK);
  const theirs = new Uint8Array(BLOCK);
  for (let at = 0; at < receiver.streamLength; at += BLOCK) {
    const [a, b] = await Promise.all([sender.readInto(mine, at), receiver.readInto(theirs.subarray(0, Math.min(BLOCK, receiver.streamLength - at)), at)]);
    if (Buffer.compare(a.subarray(0, b.length), b) !== 0) return false;
  }
  return true;
}

/** Event records copied at a time: 6 MiB of events and 2 MiB of calls. */
const COPY_RECORDS = 1 << 18;
const EVENT_CODES = new Set<number>(Object.values(EVENT_TYPES));
const TWO_32 = 2 ** 32;

/**
 * Copies every event of `side` from `reader` into `writer` as stored, `shiftUs` microseconds
 * later, without decoding them one by one: 262,144 reads of a 256 MiB transfer are 8 MiB of
 * records. An error event is recorded again, so that its index points into the writer's list of
 * errors (one whose note is missing is left out). Throws {@link CaptureError} on a record of an
 * unknown type, as reading it would.
 */
async function copyEvents(reader: CaptureReader, side: Side, shiftUs: number, writer: CaptureWriter): Promise<void> {
  const total = reader.eventCount(side);
  for (let first = 0; first < total; first += COPY_RECORDS) {
    const { events, calls: stored, count, withCalls } = await reader.eventRecords(side, first, COPY_RECORDS);
    let calls = stored;
    if (withCalls < count) {
      // Events a kill left without a call record get the record of no call, as when decoded.
      calls = new Uint8Array(count * CALL_RECORD_SIZE);
      calls.set(stored);
      const view = new DataView(calls.buffer);
      for (let i = withCalls; i < count; i++) encodeCall(view, i * CALL_RECORD_SIZE, 'none', null, 0);
    }
    const view = new DataView(events.buffer, events.byteOffset, events.length);
    let from = 0;
    let lastUs = 0;
    for (let i = 0; i < count; i++) {
      const at = i * EVENT_RECORD_SIZE;
      const code = view.getUint8(at);
      if (!EVENT_CODES.has(code)) throw new CaptureError('damaged', `${CAPTURE_FILES.events[side]}: record ${first + i} has an unknown event type ${code}`);
      const timeUs = view.getUint32(at + 16) * TWO_32 + view.getUint32(at + 20) + shiftUs;
      if (code === EVENT_TYPES.error) {
        writer.appendRecords(side, events.subarray(from * EVENT_RECORD_SIZE, at), calls.subarray(from * CALL_RECORD_SIZE, i * CALL_RECORD_SIZE), lastUs);
        from = i + 1;
        const note = reader.meta.errors[view.getUint32(at + 4)];
        const call = decodeCall(calls, i * CALL_RECORD_SIZE);
        const offset = view.getUint32(at + 8) * TWO_32 + view.getUint32(at + 12);
        if (note) writer.recordError(side, offset, note.reason, { timeUs, ...(call ? { call } : {}) });
        continue;
      }
      view.setUint32(at + 16, Math.floor(timeUs / TWO_32));
      view.setUint32(at + 20, timeUs >>> 0);
      lastUs = timeUs;
    }
    writer.appendRecords(side, events.subarray(from * EVENT_RECORD_SIZE), calls.subarray(from * CALL_RECORD_SIZE), lastUs);
  }
}

/** `2026-12-01T21:28:31.552Z` as `20261201-212831`. */
const stampOf = (iso: string): string => iso.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/**
 * Joins a traced sender's capture and a traced receiver's capture of the same connection into
 * one capture with both sides on one clock, then removes the two. Only when they are: finished,
 * the same endpoints, overlapping in time, and the receiver's bytes a prefix of the sender's;
 * else nothing changes and it returns null. The joined capture's id is made from the connection,
 * so two processes finishing at once cannot both make it. Returns the new capture's folder.
 */
export async function mergeTraced(root: string, senderDir: string, receiverDir: string): Promise<string | null> {
  let s: CaptureReader;
  let r: CaptureReader;
  try {
    s = await CaptureReader.open(senderDir);
  } catch {
    return null;
  }
  try {
    r = await CaptureReader.open(receiverDir);
  } catch {
    await s.close();
    return null;
  }
  let dir: string;
  try {
    if (!canPair(s.meta, r.meta) || !(await receivedWhatWasSent(s, r))) return null;
    const startS = BigInt(s.meta.startNs!);
    const startR = BigInt(r.meta.startNs!);
    const start = startS < startR ? startS : startR;
    const id = `${stampOf(startS < startR ? s.meta.createdAt : r.meta.createdAt)}-trace-${s.meta.client!.port}-${s.meta.server!.port}`;
    let writer: CaptureWriter;
    try {
      writer = await CaptureWriter.create({
        root,
        id,
        sides: ['sender', 'receiver'],
        createdAt: startS < startR ? s.meta.createdAt : r.meta.createdAt,
        client: s.meta.client!,
        server: s.meta.server!,
        options: { ...r.meta.options, ...s.meta.options },
        programs: { ...s.meta.programs, ...r.meta.programs },
        startNs: start,
      });
    } catch {
      // Taken: another process joined these two first.
      return null;
    }
    // No bytes: the sender's stream.bin becomes this capture's whole, below.
    await copyEvents(s, 'sender', Number((startS - start) / 1000n), writer);
    await copyEvents(r, 'receiver', Number((startR - start) / 1000n), writer);
    await writer.finish('complete');
    dir = writer.dir;
  } finally {
    await Promise.all([s.close(), r.close()]);
  }
  await rename(path.join(senderDir, CAPTURE_FILES.stream), path.join(dir, CAPTURE_FILES.stream));
  // wirestep's sender keeps large payloads as payload files: they move with stream.bin.
  const payloads = s.meta.payloads ?? [];
  for (const p of payloads) await rename(path.join(senderDir, p.file), path.join(dir, p.file));
  if (payloads.length > 0) await writeCaptureMeta(dir, { ...(await readMeta(dir)), version: CAPTURE_VERSION, payloads });
  await settleOutcome(dir, s.meta.outcome.status === 'interrupted' || r.meta.outcome.status === 'interrupted');
  await Promise.all([rm(senderDir, { recursive: true, force: true }), rm(receiverDir, { recursive: true, force: true })]);
  return dir;
}

/**
 * The folder in `root` of a finished one-sided traced capture that may be the other end of the
 * connection `meta` recorded (same endpoints, the other side), or null.
 */
export async function findOtherEnd(root: string, meta: CaptureMeta): Promise<string | null> {
  if (meta.sides.length !== 1 || meta.startNs === undefined) return null;
  const other: Side = meta.sides[0] === 'sender' ? 'receiver' : 'sender';
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return null;
  }
  for (const name of names) {
    if (name === meta.id) continue;
    const dir = path.join(root, name);
    const m = await readMeta(dir).catch(() => null);
    if (!m || m.sides.join() !== other) continue;
    if (other === 'receiver' ? canPair(meta, m) : canPair(m, meta)) return dir;
  }
  return null;
}
