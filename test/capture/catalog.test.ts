import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureStore, INDEX_FILE, Limiter } from '../../src/capture/index.js';
import { withTempDir } from '../helpers/net.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

describe('the capture index', () => {
  it('is built when missing, saved beside the captures, and follows folders added, changed and removed', async () => {
    await withTempDir(async (root) => {
      for (const id of ['a', 'b']) await cp(path.join(SAMPLES, 'demo-10-files'), path.join(root, id), { recursive: true });
      const store = new CaptureStore([root]);
      const first = await store.summaries();
      expect(first.map((e) => e.id).sort()).toEqual(['a', 'b']);
      expect(first[0]).toMatchObject({ status: 'complete', files: 10, problems: 0, error: null });
      const saved = JSON.parse(await readFile(path.join(root, INDEX_FILE), 'utf8')) as { entries: { id: string }[] };
      expect(saved.entries.map((e) => e.id).sort()).toEqual(['a', 'b']);

      await rm(path.join(root, 'a'), { recursive: true });
      await cp(path.join(SAMPLES, 'demo-10-files'), path.join(root, 'c'), { recursive: true });
      // A capture rewritten in place is seen by its stamp once touched (the receiver finishing it).
      const meta = JSON.parse(await readFile(path.join(root, 'b', 'capture.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(path.join(root, 'b', 'capture.json'), JSON.stringify({ ...meta, outcome: { status: 'interrupted' } }));
      store.touch(path.join(root, 'b'));
      const second = await store.summaries();
      expect(second.map((e) => [e.id, e.status]).sort()).toEqual([['b', 'interrupted'], ['c', 'complete']]);

      // A new process reads the saved index; a broken one is rebuilt.
      expect((await new CaptureStore([root]).summaries()).map((e) => e.id).sort()).toEqual(['b', 'c']);
      await writeFile(path.join(root, INDEX_FILE), '{"format":"wirestep-index","version":1,"entries":[{"id":');
      expect((await new CaptureStore([root]).summaries()).map((e) => e.id).sort()).toEqual(['b', 'c']);
    });
  });

  it('runs at most its limit of tasks at once, in order', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates = Array.from({ length: 10 }, () => {
      let resolve = (): void => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      return { promise, resolve };
    });
    const tasks = gates.map((g, i) => limiter.run(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await g.promise;
      running--;
    }));
    for (const g of gates) {
      await Promise.resolve();
      g.resolve();
    }
    await Promise.all(tasks);
    expect(peak).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
