import { execFileSync } from 'node:child_process';
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

/** Capture folders whose file `file` is a FIFO (`fifo-…`) or a folder (`dir-…`), by id. */
export const SPECIAL = [
  { id: 'fifo-stream', file: 'stream.bin', as: 'fifo' },
  { id: 'fifo-meta', file: 'capture.json', as: 'fifo' },
  { id: 'fifo-events', file: 'receiver.events', as: 'fifo' },
  { id: 'dir-stream', file: 'stream.bin', as: 'dir' },
  { id: 'dir-events', file: 'receiver.events', as: 'dir' },
] as const;

/** Copies of the demo capture in `root`, each with one file replaced as {@link SPECIAL} says. */
export async function makeSpecialCaptures(root: string): Promise<void> {
  for (const s of SPECIAL) {
    const dir = path.join(root, s.id);
    await cp(path.join(SAMPLES, 'demo-10-files'), dir, { recursive: true });
    await rm(path.join(dir, s.file));
    if (s.as === 'fifo') execFileSync('mkfifo', [path.join(dir, s.file)]);
    else await mkdir(path.join(dir, s.file));
  }
}
