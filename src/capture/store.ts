import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { type CaptureEntry, FolderIndex } from './catalog.js';
import { CAPTURE_FILES, type CaptureMeta, isCaptureId } from './format.js';
import { CaptureError, CaptureReader, readMeta } from './reader.js';

/** A capture found in a store, or the reason it could not be read. */
export type Listed =
  | { readonly id: string; readonly dir: string; readonly meta: CaptureMeta }
  | { readonly id: string; readonly dir: string; readonly error: CaptureError };

/**
 * The captures in one or more folders, addressed by id (the folder name). Ids are checked
 * before any path is built from them, and the folder found must stay inside its root.
 */
export class CaptureStore {
  readonly roots: readonly string[];
  readonly #indexes: ReadonlyMap<string, FolderIndex>;
  #sorted: { readonly key: string; readonly list: readonly CaptureEntry[] } | null = null;

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => path.resolve(r));
    this.#indexes = new Map(this.roots.map((r) => [r, new FolderIndex(r)]));
  }

  /**
   * The summary of every capture in the roots, from each folder's index (only new or changed
   * captures are opened, a few at a time), newest first; the first root wins on a repeated id.
   */
  async summaries(): Promise<readonly CaptureEntry[]> {
    const parts = [];
    for (const index of this.#indexes.values()) parts.push(await index.entries());
    const key = parts.map((p) => p.generation).join(',');
    if (this.#sorted?.key === key) return this.#sorted.list;
    const seen = new Set<string>();
    const out: CaptureEntry[] = [];
    for (const { list } of parts) {
      for (const e of list) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        out.push(e);
      }
    }
    out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Sorted once per change of an index, not per page load.
    this.#sorted = { key, list: out };
    return out;
  }

  /** Tells the index that the capture in folder `dir` changed or appeared (a receiver finished it). */
  touch(dir: string): void {
    this.#indexes.get(path.resolve(path.dirname(dir)))?.touch(path.basename(dir));
  }

  /** Every capture folder in the roots, newest first; the first root wins on a repeated id. */
  async list(): Promise<Listed[]> {
    const seen = new Set<string>();
    const out: Listed[] = [];
    for (const root of this.roots) {
      let names: string[];
      try {
        names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        continue;
      }
      for (const id of names.sort()) {
        if (!isCaptureId(id) || seen.has(id)) continue;
        const dir = path.join(root, id);
        try {
          await stat(path.join(dir, CAPTURE_FILES.meta));
        } catch {
          continue;
        }
        seen.add(id);
        try {
          out.push({ id, dir, meta: await readMeta(dir) });
        } catch (err) {
          out.push({ id, dir, error: err instanceof CaptureError ? err : new CaptureError('damaged', String(err)) });
        }
      }
    }
    return out.sort((a, b) => createdAt(b).localeCompare(createdAt(a)) || a.id.localeCompare(b.id));
  }

  /** The folder of capture `id`. Throws CaptureError 'not-found' for a bad or unknown id. */
  async locate(id: string): Promise<string> {
    if (!isCaptureId(id)) throw new CaptureError('not-found', `not a capture id: ${JSON.stringify(id)}`);
    for (const root of this.roots) {
      const dir = path.join(root, id);
      let real: string;
      try {
        real = await realpath(dir);
      } catch {
        continue;
      }
      // A link from the store to elsewhere is not followed.
      const realRoot = await realpath(root);
      if (path.dirname(real) !== realRoot) continue;
      return dir;
    }
    throw new CaptureError('not-found', `no capture with id ${JSON.stringify(id)}`);
  }

  /** Opens capture `id` for random access. */
  async open(id: string): Promise<CaptureReader> {
    return CaptureReader.open(await this.locate(id));
  }
}

function createdAt(l: Listed): string {
  return 'meta' in l ? l.meta.createdAt : '';
}

/**
 * Finds a capture given on the command line: a path to a capture folder, or an id in one of
 * `roots`. Throws CaptureError when neither exists.
 */
export async function resolveCapture(ref: string, roots: readonly string[]): Promise<string> {
  // Anything that looks like a path, or exists as one, is a path; the rest is an id.
  const isPath = ref.includes('/') || ref.includes(path.sep) || ref === '.' || ref === '..';
  const exists = await stat(ref).then((s) => s.isDirectory(), () => false);
  if (isPath || (exists && !isCaptureId(ref))) {
    if (!exists) throw new CaptureError('not-found', `no such folder: ${ref}`);
    try {
      await stat(path.join(ref, CAPTURE_FILES.meta));
    } catch {
      throw new CaptureError('not-found', `${ref} is not a capture (it has no ${CAPTURE_FILES.meta})`);
    }
    return ref;
  }
  try {
    return await new CaptureStore(roots).locate(ref);
  } catch (err) {
    if (!exists) throw err;
    // A folder of that name in the working directory, when no capture has that id.
    await stat(path.join(ref, CAPTURE_FILES.meta)).catch(() => {
      throw err;
    });
    return ref;
  }
}
