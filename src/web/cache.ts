import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CAPTURE_FILES, CaptureReader, type CaptureStore, type Dissection, captureOpens } from '../capture/index.js';

/** An open capture with its dissection. */
export interface Opened {
  readonly reader: CaptureReader;
  readonly dissection: Dissection;
}

interface Entry {
  readonly id: string;
  readonly stamp: string;
  readonly opened: Promise<Opened>;
  /** Requests using it now: it is closed only when none is. */
  users: number;
  /** Replaced or evicted: close it once the last user is done. */
  retired: boolean;
}

/** Sizes and times of a capture's files: they change while a capture is being recorded. */
async function fileStamp(dir: string): Promise<string> {
  const files = [CAPTURE_FILES.meta, CAPTURE_FILES.stream, ...Object.values(CAPTURE_FILES.events)];
  const parts = await Promise.all(
    files.map((f) =>
      stat(path.join(dir, f)).then(
        (s) => `${s.size}:${s.mtimeMs}`,
        () => '-',
      ),
    ),
  );
  return parts.join('|');
}

/**
 * Keeps the most recently used captures open, so a step page reads a few records instead of
 * opening and dissecting the capture again. A capture whose files changed is reopened. Readers
 * are closed only when no request is using them.
 */
export class ReaderCache {
  static readonly MAX_OPEN = 8;
  readonly #store: CaptureStore;
  readonly #entries = new Map<string, Entry>();

  constructor(store: CaptureStore) {
    this.#store = store;
  }

  /** Runs `fn` with capture `id` open. Throws CaptureError for a bad id or a damaged capture. */
  async use<T>(id: string, fn: (opened: Opened) => Promise<T>): Promise<T> {
    const entry = await this.#acquire(id);
    try {
      return await fn(await entry.opened);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) void close(entry);
    }
  }

  /** Closes every reader (when the server stops). */
  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map(close));
  }

  async #acquire(id: string): Promise<Entry> {
    const dir = await this.#store.locate(id);
    const stamp = await fileStamp(dir);
    const current = this.#entries.get(id);
    if (current && current.stamp === stamp) {
      // Most recently used last.
      this.#entries.delete(id);
      this.#entries.set(id, current);
      current.users++;
      return current;
    }
    if (current) this.#retire(current);
    // Opening goes through the site's limiter: a burst of pages cannot take every descriptor.
    const opened = captureOpens.run(async (): Promise<Opened> => {
      const reader = await CaptureReader.open(dir);
      try {
        return { reader, dissection: await reader.dissection() };
      } catch (err) {
        await reader.close();
        throw err;
      }
    });
    const entry: Entry = { id, stamp, opened, users: 1, retired: false };
    this.#entries.set(id, entry);
    opened.catch(() => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
    });
    for (const [key, old] of this.#entries) {
      if (this.#entries.size <= ReaderCache.MAX_OPEN) break;
      if (old !== entry) this.#retire(old, key);
    }
    return entry;
  }

  #retire(entry: Entry, key = entry.id): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.retired = true;
    if (entry.users === 0) void close(entry);
  }
}

async function close(entry: Entry): Promise<void> {
  await entry.opened.then((o) => o.reader.close(), () => {});
}
