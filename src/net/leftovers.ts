import { readFile, readdir, readlink, realpath, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  CAPTURE_FILES,
  EVENT_RECORD_SIZE,
  SIDES,
  decodeEvent,
  isCaptureId,
  readMeta,
  recorderGone,
  writeCaptureMeta,
} from '../capture/index.js';

/**
 * The receiver's hidden temporary files: `.wirestep-<16 random bytes, 32 hex>.part`, and those of
 * older versions, `.wirestep-<connection tag, 8 hex>-<file number>.part`.
 */
export const PART_FILE = /^\.wirestep-(?:[0-9a-f]{32}|[0-9a-f]{8}-\d+)\.part$/;

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

/** Removes the temporary files a killed receiver left in `outDir`, unless a live process is writing them. */
async function clearPartFiles(outDir: string): Promise<{ removed: string[]; kept: string[] }> {
  const names = (await readdir(outDir).catch(() => [] as string[])).filter((n) => PART_FILE.test(n)).sort();
  if (names.length === 0) return { removed: [], kept: [] };
  const real = await realpath(outDir);
  const inUse = await openAnywhere(new Set(names.map((n) => path.join(real, n))));
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of names) {
    if (inUse === null || inUse.has(path.join(real, name))) {
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
    const streamBytes = await stat(path.join(dir, CAPTURE_FILES.stream)).then((s) => s.size, () => 0);
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
 * {@link PART_FILE}, and none a live process has open: another receiver may share the folder),
 * and captures in `capturesDir` still `recording` whose recorder has certainly ended (see
 * `recorderGone`), marked `interrupted`. Logs one line for each. Does not throw for files it
 * cannot read or remove: they are kept and said so.
 */
export async function clearLeftovers(outDir: string, capturesDir: string | null, log: (line: string) => void): Promise<Leftovers> {
  const { removed, kept } = await clearPartFiles(outDir);
  const interrupted = capturesDir === null ? [] : await interruptOrphans(capturesDir);
  for (const name of removed) log(`removed ${name} from ${outDir}: the unfinished file of a receiver that was killed`);
  for (const name of kept) log(`kept ${name} in ${outDir}: another process may be writing it`);
  for (const id of interrupted) log(`capture ${id} was still "recording" but its recorder is gone: marked interrupted`);
  return { removed, kept, interrupted };
}
