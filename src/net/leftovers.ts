import { randomBytes } from 'node:crypto';
import { readFile, readdir, readlink, realpath, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  CAPTURE_FILES,
  CaptureReader,
  EVENT_RECORD_SIZE,
  type RecorderInfo,
  currentRecorder,
  SIDES,
  decodeEvent,
  isCaptureId,
  readMeta,
  recorderGone,
  writeCaptureMeta,
} from '../capture/index.js';

/**
 * The receiver's hidden temporary files: `.wirestep-<owner>-<16 random bytes, 32 hex>.part`, the
 * owner being the recording process as {@link RecorderInfo} names it (host hash, pid, start or 0),
 * so a later receiver removes a file only when its owner has certainly ended; and those of
 * older versions, `.wirestep-<connection tag, 8 hex>-<file number>.part`, which name no owner.
 */
export const PART_FILE = /^\.wirestep-(?:([0-9a-f]{16})-(\d+)-(\d+)-[0-9a-f]{32}|[0-9a-f]{8}-\d+)\.part$/;

/** A fresh, unguessable name for a temporary file of this process (see {@link PART_FILE}). */
export function temporaryName(): string {
  const me = currentRecorder();
  return `.wirestep-${me.host}-${me.pid}-${me.start ?? 0}-${randomBytes(16).toString('hex')}.part`;
}

/** The process a temporary file's name says owns it; null for an older name, which says none. */
function ownerOf(name: string): RecorderInfo | null {
  const m = PART_FILE.exec(name);
  if (!m?.[1]) return null;
  return { host: m[1], pid: Number(m[2]), ...(m[3] === '0' ? {} : { start: m[3]! }) };
}

/** What {@link clearLeftovers} found and did. */
export interface Leftovers {
  /** Temporary files removed, by name. */
  readonly removed: readonly string[];
  /** Temporary files kept: a live process holds them open, or that cannot be told here. */
  readonly kept: readonly string[];
  /** Ids of captures marked interrupted. */
  readonly interrupted: readonly string[];
}

/**
 * The files of `wanted` (absolute real paths) some process has open, from /proc/<pid>/fd;
 * null where there is no /proc to ask (not Linux).
 */
async function openAnywhere(wanted: ReadonlySet<string>): Promise<Set<string> | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const found = new Set<string>();
  await Promise.all(pids.map(async (pid) => {
    // Processes of other users, and ones that end meanwhile, cannot be read: they are skipped.
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (wanted.has(target)) found.add(target);
    }
  }));
  return found;
}

/**
 * Removes the temporary files a killed receiver left in `outDir`: a file naming its owner only
 * when that owner has certainly ended (`recorderGone`), whatever state the file is in (a live
 * receiver closes a file before it links it to its final name); an older one only when no
 * process on this machine has it open, the best that can be told without an owner.
 */
async function clearPartFiles(outDir: string): Promise<{ removed: string[]; kept: string[] }> {
  const names = (await readdir(outDir).catch(() => [] as string[])).filter((n) => PART_FILE.test(n)).sort();
  if (names.length === 0) return { removed: [], kept: [] };
  const real = await realpath(outDir);
  const unowned = names.filter((n) => ownerOf(n) === null);
  const inUse = unowned.length === 0 ? new Set<string>() : await openAnywhere(new Set(unowned.map((n) => path.join(real, n))));
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of names) {
    const owner = ownerOf(name);
    const abandoned = owner ? await recorderGone(owner) : inUse !== null && !inUse.has(path.join(real, name));
    if (!abandoned) {
      kept.push(name);
      continue;
    }
    await unlink(path.join(outDir, name)).then(() => removed.push(name), () => kept.push(name));
  }
  return { removed, kept };
}

/** Microseconds of the last whole event record in the capture's event files, 0 when none. */
async function lastEventUs(dir: string): Promise<number> {
  let last = 0;
  for (const side of SIDES) {
    const bytes = await readFile(path.join(dir, CAPTURE_FILES.events[side])).catch(() => null);
    if (!bytes || bytes.length < EVENT_RECORD_SIZE) continue;
    // A kill may cut the last record: the last whole one counts.
    const at = Math.floor(bytes.length / EVENT_RECORD_SIZE) * EVENT_RECORD_SIZE - EVENT_RECORD_SIZE;
    last = Math.max(last, decodeEvent(bytes.subarray(at, at + EVENT_RECORD_SIZE), side, 0)?.timeUs ?? 0);
  }
  return last;
}

/** Marks the captures in `capturesDir` still `recording` whose recorder has ended as `interrupted`. */
async function interruptOrphans(capturesDir: string): Promise<string[]> {
  const ids = (await readdir(capturesDir).catch(() => [] as string[])).filter(isCaptureId).sort();
  const marked: string[] = [];
  for (const id of ids) {
    const dir = path.join(capturesDir, id);
    const meta = await readMeta(dir).catch(() => null);
    if (meta?.outcome.status !== 'recording' || !meta.recorder || !(await recorderGone(meta.recorder))) continue;
    // The stream as a reader lays it out: stream.bin's bytes and what the payload files hold (version 5).
    const streamBytes = await CaptureReader.open(dir).then(
      async (r) => {
        await r.close();
        return r.streamLength;
      },
      () => stat(path.join(dir, CAPTURE_FILES.stream)).then((s) => s.size, () => 0),
    );
    await writeCaptureMeta(dir, {
      ...meta,
      outcome: { status: 'interrupted', reason: { kind: 'recorder-gone', pid: meta.recorder.pid } },
      recorder: undefined,
      streamBytes,
      durationUs: await lastEventUs(dir),
    });
    marked.push(id);
  }
  return marked;
}

/**
 * What a receiver killed with SIGKILL (or a machine that lost power) leaves behind, cleared
 * when a receiver starts: its hidden temporary files in `outDir` (only names matching
 * {@link PART_FILE}, and only those whose owner has ended: another receiver may share the folder),
 * and captures in `capturesDir` still `recording` whose recorder has certainly ended (see
 * `recorderGone`), marked `interrupted`. Logs one line for each. Does not throw for files it
 * cannot read or remove: they are kept and said so.
 */
export async function clearLeftovers(outDir: string, capturesDir: string | null, log: (line: string) => void): Promise<Leftovers> {
  const { removed, kept } = await clearPartFiles(outDir);
  const interrupted = capturesDir === null ? [] : await interruptOrphans(capturesDir);
  for (const name of removed) log(`removed ${name} from ${outDir}: the unfinished file of a receiver that was killed`);
  for (const name of kept) log(`kept ${name} in ${outDir}: the receiver writing it may still run`);
  for (const id of interrupted) log(`capture ${id} was still "recording" but its recorder is gone: marked interrupted`);
  return { removed, kept, interrupted };
}
