import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  CAPTURE_FILES,
  CaptureReader,
  CaptureWriter,
  type CaptureMeta,
  type Endpoint,
  type Side,
  readMeta,
  writeCaptureMeta,
} from '../capture/index.js';
import { outcomeOf } from '../protocol/index.js';

const BLOCK = 1 << 20;

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
  for (let at = 0; at < receiver.streamLength; at += BLOCK) {
    const [a, b] = await Promise.all([sender.read(at, BLOCK), receiver.read(at, Math.min(BLOCK, receiver.streamLength - at))]);
    if (Buffer.compare(a.subarray(0, b.length), b) !== 0) return false;
  }
  return true;
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
    for (const [side, reader, shiftNs] of [['sender', s, startS - start], ['receiver', r, startR - start]] as [Side, CaptureReader, bigint][]) {
      const shift = Number(shiftNs / 1000n);
      for await (const e of reader.eachEvent(side)) {
        const call = e.call ? { name: e.call.name, asked: e.call.asked, flags: e.call.flags } : undefined;
        if (e.type === 'error') {
          const note = reader.meta.errors[e.length];
          if (note) writer.recordError(side, e.offset, note.reason, { timeUs: e.timeUs + shift, ...(call ? { call } : {}) });
          continue;
        }
        // No bytes: the sender's stream.bin becomes this capture's whole, below.
        writer.recordAt(e.timeUs + shift, side, e.type, e.offset, e.length, undefined, call);
      }
    }
    await writer.finish('complete');
    dir = writer.dir;
  } finally {
    await Promise.all([s.close(), r.close()]);
  }
  await rename(path.join(senderDir, CAPTURE_FILES.stream), path.join(dir, CAPTURE_FILES.stream));
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
