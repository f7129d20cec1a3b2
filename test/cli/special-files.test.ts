import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listFiles, sendFiles } from '../../src/net/index.js';
import { watchOutput } from '../../scripts/lib/harness.js';
import { SPECIAL, makeSpecialCaptures } from '../helpers/special.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');

describe('serve, lab and dump on captures holding a FIFO or a folder', () => {
  it('serve answers 422 for each, many times over, still serves /static and stops on SIGTERM', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'wirestep-special-cli-'));
    await makeSpecialCaptures(root);
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--captures', root, '--no-samples']);
    const out = watchOutput(child);
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    try {
      const site = (await out.waitFor(/open (http:\/\/127\.0\.0\.1:\d+)\//))[1]!;
      // More loads than the thread pool has threads: a blocking open would hang them all.
      const loads = await Promise.all(SPECIAL.flatMap((s) => [1, 2].map(() => fetch(`${site}/captures/${s.id}`).then((r) => r.status))));
      expect(loads).toEqual(Array(SPECIAL.length * 2).fill(422));
      expect((await fetch(`${site}/`)).status).toBe(200);
      expect((await fetch(`${site}/static/style.css`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('lab keeps answering 4xx for damaged captures and bad addresses, logs no stack trace, and its receiver saves the next transfer whole', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'wirestep-special-lab-'));
    await makeSpecialCaptures(path.join(root, 'captures'));
    const child = spawn(process.execPath, [MAIN, 'lab', '--port', '0', '--web-port', '0', '--out', 'out', '--captures', 'captures'], { cwd: root });
    const out = watchOutput(child);
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    try {
      const port = Number((await out.waitFor(/receiver on [^\n]*:(\d+);/))[1]);
      const site = (await out.waitFor(/live page: (http:\/\/127\.0\.0\.1:\d+)\//))[1]!;
      const statuses = await Promise.all([
        ...SPECIAL.flatMap((s) => [1, 2].map(() => fetch(`${site}/captures/${s.id}`).then((r) => r.status))),
        fetch(`${site}/captures/%`).then((r) => r.status),
        fetch(`${site}/captures/demo-10-files/steps/9999999999999999`).then((r) => r.status),
      ]);
      expect(statuses).toEqual([...Array(SPECIAL.length * 2).fill(422), 400, 404]);
      const data = Buffer.alloc(100_000, 'ainda recebendo ');
      await mkdir(path.join(root, 'src'));
      await writeFile(path.join(root, 'src', 'depois.bin'), data);
      expect((await sendFiles({ port, files: await listFiles([path.join(root, 'src')]), capturesDir: null })).status).toBe('complete');
      await out.waitFor('depois.bin, 100,000 bytes');
      expect((await readFile(path.join(root, 'out', 'depois.bin'))).equals(data)).toBe(true);
      expect(out.text()).not.toMatch(/URIError|\n\s+at /);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);

  it('dump exits 1 naming the file that is not a regular file', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'wirestep-special-dump-'));
    try {
      await makeSpecialCaptures(root);
      for (const s of SPECIAL) {
        const err = await promisify(execFile)(process.execPath, [MAIN, 'dump', path.join(root, s.id)], { timeout: 30_000 }).then(
          () => null,
          (e: { code: number; stderr: string }) => e,
        );
        expect(err?.code).toBe(1);
        expect(err?.stderr).toBe(`wirestep: ${s.file} is ${s.as === 'fifo' ? 'a named pipe (FIFO)' : 'a folder'}, not a regular file\n`);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});
