import { randomBytes } from 'node:crypto';
import { readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CAPTURE_FILES, isCaptureId } from './format.js';
import { CaptureError, CaptureReader, openRegular } from './reader.js';

/**
 * At most this many captures are being opened at once by the site, process-wide: a capture
 * holds up to four descriptors while open, so listings and pages never take more than 16 for
 * opening, and a receiver in the same process (`wirestep lab`) always has descriptors left.
 */
export const OPEN_LIMIT = 4;

/** Runs at most `max` tasks at once; the others wait in order. */
export class Limiter {
  readonly #max: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Runs `fn` once a place is free, and frees it when `fn` settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await fn();
    } finally {
      // The place passes to the next in line, or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** The one limiter every capture open by the site goes through. */
export const captureOpens = new Limiter(OPEN_LIMIT);

/** The index file kept in each captures folder. */
export const INDEX_FILE = '.wirestep-index.json';
const INDEX_FORMAT = 'wirestep-index';
const INDEX_VERSION = 1;

/** A capture's line in the index: what a listing shows, in numbers, never in words. */
export interface CaptureEntry {
  readonly id: string;
  /** Sizes and times of `capture.json` and `stream.bin` when summarized: a change means stale. */
  readonly stamp: string;
  readonly createdAt: string;
  readonly sides: readonly string[];
  /** Bytes in `stream.bin`. */
  readonly streamBytes: number;
  readonly durationUs: number;
  readonly status: string;
  readonly description: Readonly<Record<string, string>> | null;
  /** The sample group, as stored (checked by whoever shows it). */
  readonly category: string | null;
  /** Files whose payload came whole, and problems the dissector found; null when it could not run. */
  readonly files: number | null;
  readonly problems: number | null;
  /** Why the capture cannot be opened, when it cannot. */
  readonly error: string | null;
}

async function stampOf(dir: string): Promise<string> {
  const parts = await Promise.all(
    [CAPTURE_FILES.meta, CAPTURE_FILES.stream].map((f) =>
      stat(path.join(dir, f)).then(
        (s) => `${s.size}:${s.mtimeMs}:${s.ino}`,
        () => '-',
      ),
    ),
  );
  return parts.join('|');
}

/** Opens the capture in `dir` (through {@link captureOpens}) and sums it up. */
async function summarizeCapture(id: string, dir: string, stamp: string): Promise<CaptureEntry> {
  const damaged = (err: unknown): CaptureEntry => ({
    id, stamp, createdAt: '', sides: [], streamBytes: 0, durationUs: 0, status: 'damaged', description: null, category: null, files: null, problems: null,
    error: err instanceof CaptureError ? err.message : String(err),
  });
  return captureOpens.run(async () => {
    let reader: CaptureReader;
    try {
      reader = await CaptureReader.open(dir);
    } catch (err) {
      return damaged(err);
    }
    try {
      const m = reader.meta;
      const d = await reader.dissection();
      return {
        id, stamp, createdAt: m.createdAt, sides: [...m.sides], streamBytes: reader.streamLength, durationUs: m.durationUs, status: m.outcome.status,
        description: m.description ?? null, category: m.sample?.category ?? null,
        files: d.files, problems: d.problemCount, error: null,
      };
    } catch (err) {
      return damaged(err);
    } finally {
      await reader.close();
    }
  });
}

/** Whether a parsed index line has the shape this version writes. */
function isEntry(v: unknown): v is CaptureEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.id === 'string' && isCaptureId(e.id) && typeof e.stamp === 'string' && typeof e.createdAt === 'string' && Array.isArray(e.sides)
    && typeof e.streamBytes === 'number' && typeof e.durationUs === 'number' && typeof e.status === 'string'
    && (e.files === null || typeof e.files === 'number') && (e.problems === null || typeof e.problems === 'number') && (e.error === null || typeof e.error === 'string');
}

/** Writes of an index file at most this often: a class finishing captures every second rewrites it once. */
const SAVE_EVERY_MS = 5000;

/** How much older than the last read of a folder its mtime must be to trust that read. */
const MTIME_MARGIN_MS = 100;

/** Stats run at once when checking a whole index read from disk. */
const STAT_BATCH = 64;

/**
 * The summaries of the captures in one folder, kept in memory and in `.wirestep-index.json`
 * there, so that a listing opens only the captures that are new or changed. A scan reads the
 * folder (only when its time changed), re-checks captures still recording or damaged, drops
 * removed ones and summarizes new ones; captures marked with {@link FolderIndex.touch} are re-read.
 */
export class FolderIndex {
  readonly root: string;
  readonly #entries = new Map<string, CaptureEntry>();
  readonly #touched = new Set<string>();
  #loaded = false;
  #scan: Promise<void> | null = null;
  /** The folder's mtime at the last read of its names, and when that read began. */
  #seenMtime = -1;
  #seenAt = 0;
  /** Counts changes: a caller may keep what it derived from the entries while it stays the same. */
  #generation = 0;
  #list: CaptureEntry[] | null = null;
  #savedAt = 0;
  #unsaved = false;

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Every capture of the folder, summed up, after a scan (concurrent callers share one), with the
   * generation of the index: the same generation, the same entries (and the same array).
   */
  async entries(): Promise<{ readonly generation: number; readonly list: readonly CaptureEntry[] }> {
    this.#scan ??= this.#update().finally(() => {
      this.#scan = null;
    });
    await this.#scan;
    this.#list ??= [...this.#entries.values()];
    return { generation: this.#generation, list: this.#list };
  }

  /** Marks capture `id` as changed (a capture the receiver just finished): the next scan reads it again. */
  touch(id: string): void {
    this.#touched.add(id);
    // Its folder may be new, too.
    this.#seenMtime = -1;
  }

  async #update(): Promise<void> {
    let changed = false;
    // Bytes of recording captures: shown at once, saved with the next real change.
    let grown = false;
    const recheck = new Set<string>(this.#touched);
    this.#touched.clear();
    if (!this.#loaded) {
      this.#loaded = true;
      for (const e of await this.#read()) this.#entries.set(e.id, e);
      // Whatever changed while no wirestep was watching is found by its stamp.
      for (const id of this.#entries.keys()) recheck.add(id);
    }
    let rootMtime: number;
    try {
      rootMtime = (await stat(this.root)).mtimeMs;
    } catch {
      // No folder (yet): no captures.
      if (this.#entries.size > 0) this.#changed();
      this.#entries.clear();
      return;
    }
    // A name added just after the last read may share its mtime (file times tick by the
    // kernel's jiffy): read again until the mtime is clearly older than the last read.
    if (rootMtime !== this.#seenMtime || this.#seenAt - rootMtime < MTIME_MARGIN_MS) {
      const at = Date.now();
      let names: string[];
      try {
        names = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory() && isCaptureId(d.name)).map((d) => d.name);
      } catch {
        names = [];
      }
      this.#seenMtime = rootMtime;
      this.#seenAt = at;
      const present = new Set(names);
      for (const id of this.#entries.keys()) {
        if (!present.has(id)) {
          this.#entries.delete(id);
          changed = true;
        }
      }
      for (const id of names) if (!this.#entries.has(id)) recheck.add(id);
    }
    for (const e of this.#entries.values()) if (e.status === 'recording' || e.status === 'damaged') recheck.add(e.id);
    const ids = [...recheck];
    for (let i = 0; i < ids.length; i += STAT_BATCH) {
      await Promise.all(
        ids.slice(i, i + STAT_BATCH).map(async (id) => {
          const dir = path.join(this.root, id);
          const stamp = await stampOf(dir);
          const old = this.#entries.get(id);
          if (old?.stamp === stamp) return;
          const [meta, stream] = stamp.split('|');
          if (old?.status === 'recording' && old.stamp.split('|')[0] === meta) {
            // Only its stream grew: the bytes are updated without opening it, until it ends
            // (its capture.json is rewritten then) and is summed up whole.
            this.#entries.set(id, { ...old, stamp, streamBytes: Number(stream!.split(':')[0]) || 0 });
            grown = true;
            return;
          }
          if (stamp.startsWith('-')) {
            // No capture.json: not a capture (yet).
            if (old) this.#entries.delete(id);
            changed ||= old !== undefined;
            return;
          }
          this.#entries.set(id, await summarizeCapture(id, dir, stamp));
          changed = true;
        }),
      );
    }
    if (changed || grown) this.#changed();
    if (changed) this.#unsaved = true;
    // At most one write per SAVE_EVERY_MS: what waits is written by a later scan, and what a
    // process ending first never wrote, the next start finds again by the captures' stamps.
    if (this.#unsaved && Date.now() - this.#savedAt >= SAVE_EVERY_MS) {
      this.#unsaved = false;
      this.#savedAt = Date.now();
      await this.#write();
    }
  }

  #changed(): void {
    this.#generation++;
    this.#list = null;
  }

  async #read(): Promise<CaptureEntry[]> {
    try {
      const fh = await openRegular(path.join(this.root, INDEX_FILE));
      let text: string;
      try {
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
      const raw = JSON.parse(text) as { format?: unknown; version?: unknown; entries?: unknown };
      if (raw.format !== INDEX_FORMAT || raw.version !== INDEX_VERSION || !Array.isArray(raw.entries)) return [];
      return raw.entries.filter(isEntry);
    } catch {
      // Missing or unreadable: rebuilt from the captures.
      return [];
    }
  }

  /** Saves the index beside the captures, atomically; a folder it cannot write keeps it in memory only. */
  async #write(): Promise<void> {
    const file = path.join(this.root, INDEX_FILE);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ format: INDEX_FORMAT, version: INDEX_VERSION, entries: [...this.#entries.values()] }));
      await rename(tmp, file);
    } catch {
      await unlink(tmp).catch(() => {});
    }
  }
}
