import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTransfer } from '../../src/protocol/index.js';
import { sendRaw, withReceiver } from '../helpers/net.js';

const te = new TextEncoder();
const same = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ name: 'same.txt', data: te.encode(`${tag} ${i}`) }));

describe('free names for files of the same name', () => {
  it('saves 2,000 files all named same.txt with one link attempt each, as same (N).txt, and still skips a name taken meanwhile', async () => {
    await withReceiver(async (rx) => {
      const first = rx.nextResult();
      await sendRaw(rx.port, [encodeTransfer(same(2000, 'a'))]);
      const result = await first;
      expect(result.status).toBe('complete');
      expect(result.files.map((f) => f.savedAs)).toEqual(Array.from({ length: 2000 }, (_, i) => (i === 0 ? 'same.txt' : `same (${i}).txt`)));
      // Probing from 0 each time took 2,001,000 attempts, and files past the 1,000th found no name.
      expect(rx.receiver.stats.placeAttempts).toBe(2000);
      expect(await readFile(path.join(rx.outDir, 'same (1999).txt'), 'utf8')).toBe('a 1999');

      // Someone else's file where the next one would go: skipped, never overwritten.
      await writeFile(path.join(rx.outDir, 'same (2000).txt'), 'not the receiver’s');
      const second = rx.nextResult();
      await sendRaw(rx.port, [encodeTransfer(same(3, 'b'))]);
      expect((await second).files.map((f) => [f.status, f.savedAs])).toEqual([['saved', 'same (2001).txt'], ['saved', 'same (2002).txt'], ['saved', 'same (2003).txt']]);
      expect(rx.receiver.stats.placeAttempts).toBe(2004);
      expect(await readFile(path.join(rx.outDir, 'same (2000).txt'), 'utf8')).toBe('not the receiver’s');
      expect(await readFile(path.join(rx.outDir, 'same (2003).txt'), 'utf8')).toBe('b 2');
      expect(await readdir(rx.outDir)).toHaveLength(2004);

      // Alive: an ordinary transfer arrives whole.
      const third = rx.nextResult();
      await sendRaw(rx.port, [encodeTransfer([{ name: 'other.txt', data: te.encode('whole') }])]);
      expect((await third).status).toBe('complete');
      expect(await readFile(path.join(rx.outDir, 'other.txt'), 'utf8')).toBe('whole');
    });
  }, 60_000);
});
