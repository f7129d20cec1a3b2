import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { runToEnd, watchOutput } from '../../scripts/lib/harness.js';
import { CaptureStore, CaptureWriter } from '../../src/capture/index.js';
import { NAME_LENGTH } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { withTempDir } from '../helpers/net.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
/** Heap a child process gets: far below what one field object per header of these streams takes. */
const CHILD_HEAP = ['--max-old-space-size=64'];

/**
 * A receiver's capture whose stream is `stream` (written by `fill` when given, so that a sparse
 * 2 GiB stream costs no disk), with one read of all of it.
 */
async function writeCapture(root: string, id: string, length: number, fill: (file: string) => Promise<void>): Promise<string> {
  const w = await CaptureWriter.create({ root, id, sides: ['receiver'] });
  w.record('receiver', 'accept', 0, 0);
  w.record('receiver', 'read', 0, length);
  w.record('receiver', 'end', length, 0);
  await w.finish('complete');
  const dir = path.join(root, id);
  await fill(path.join(dir, 'stream.bin'));
  return dir;
}

/** A sparse stream of `length` bytes whose count says 0xFFFFFFFF: every header after it is zeros. */
async function sparseStream(file: string, length: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.write(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 4, 0);
    await fh.truncate(length);
  } finally {
    await fh.close();
  }
}

/** `files` empty files named `f000001`…, whole: 4 + 136 bytes a file. */
async function emptyFiles(file: string, files: number): Promise<void> {
  const bytes = Buffer.alloc(4 + files * 136, 0x20);
  bytes.writeUInt32BE(files, 0);
  for (let i = 0; i < files; i++) {
    const at = 4 + i * 136;
    bytes.write(`f${String(i + 1).padStart(6, '0')}`, at, 'latin1');
    bytes.fill(0, at + NAME_LENGTH, at + 136);
  }
  const fh = await open(file, 'w');
  try {
    await fh.write(bytes);
  } finally {
    await fh.close();
  }
}

/** Runs the CLI with a 64 MiB heap to the end. */
async function runSmallHeap(args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd(process.execPath, [...CHILD_HEAP, MAIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
}

/** `wirestep serve` with a 64 MiB heap, once it prints its address; killed by `stop`. */
async function serveSmallHeap(captures: string, cwd: string): Promise<{ base: string; proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [...CHILD_HEAP, MAIN, 'serve', '--port', '0', '--no-samples', '--captures', captures], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = watchOutput(proc);
  const closed = once(proc, 'close');
  await out.waitFor(/open (http:\/\/\S+\/)/, { ms: 30_000 });
  const base = /open (http:\/\/\S+)\//.exec(out.text())![1]!;
  return {
    base,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await closed;
    },
  };
}

describe('a capture costs bounded memory whatever its bytes say', () => {
  it('opens a sparse 2 GiB stream whose count is 0xFFFFFFFF: reader, site, API and dump in a 64 MiB heap', async () => {
    await withTempDir(async (root) => {
      const length = 2 ** 31;
      const dir = await writeCapture(root, 'crafted', length, (f) => sparseStream(f, length));
      // Every header is 136 zero bytes (a name of NULs, size 0), and the last 64 bytes a name cut short.
      const files = Math.floor((length - 4) / 136);
      const fields = 1 + 3 * files + 1;
      const site = await serveSmallHeap(root, root);
      try {
        const dump = runSmallHeap(['dump', dir, '--step', String(fields - 1)], root);
        const home = await fetch(`${site.base}/`);
        expect(home.status).toBe(200);
        const overview = await fetch(`${site.base}/captures/crafted`);
        expect(overview.status).toBe(200);
        const html = await overview.text();
        expect(html.length).toBeLessThan(512 * 1024);
        const step = await fetch(`${site.base}/captures/crafted/steps/${fields - 1}?by=field`);
        expect(step.status).toBe(200);
        expect(await step.text()).toContain(`file[${files}].payload`);
        const op = await fetch(`${site.base}/captures/crafted/steps/2?by=op`);
        expect(op.status).toBe(200);
        const api = (await (await fetch(`${site.base}/api/captures/crafted?fields=${fields - 3},10`)).json()) as {
          fields: { id: string }[];
          fieldsPage: { total: number };
          fieldSteps: number;
          problems: unknown[];
          problemsMore: number;
        };
        expect(api.fieldSteps).toBe(fields);
        expect(api.fieldsPage.total).toBe(fields);
        expect(api.fields.map((f) => f.id)).toEqual([`file[${files}].size`, `file[${files}].payload`, `file[${files + 1}].name`]);
        // Each name is NULs (unsafe) and unpadded; then a name cut short, and the files the count still owes.
        expect(api.problems.length + api.problemsMore).toBe(2 * files + 2);
        const d = await dump;
        expect(d.stderr).toBe('');
        expect(d.code).toBe(0);
        expect(d.stdout).toContain(`file[${files}].payload`);
        expect(site.proc.exitCode).toBeNull();
      } finally {
        await site.stop();
      }
    });
  }, 180_000);

  it('pages a stream of 100,000 empty files: a small overview, a paged API, an op step over all of it', async () => {
    await withTempDir(async (root) => {
      const files = 100_000;
      await writeCapture(root, 'many', 4 + files * 136, (f) => emptyFiles(f, files));
      const app = createApp({ store: new CaptureStore([root]), samplesDir: null });
      try {
        const page = await request(app).get('/captures/many').expect(200);
        expect(page.text.length).toBeLessThan(512 * 1024);
        expect(page.text).toContain('And 99,500 more files');
        const api = await request(app).get('/api/captures/many').expect(200);
        expect(api.body.fields).toHaveLength(1000);
        expect(api.body.fieldsPage).toEqual({ from: 0, limit: 1000, total: 1 + 3 * files });
        expect(api.text.length).toBeLessThan(2 * 1024 * 1024);
        const last = await request(app).get(`/api/captures/many?fields=${3 * files - 2},5000`).expect(200);
        expect(last.body.fields.map((f: { id: string }) => f.id)).toEqual([`file[${files}].name`, `file[${files}].size`, `file[${files}].payload`]);
        expect(last.body.fields[0].value.name.text).toBe(`f${files}`);
        await request(app).get('/api/captures/many?fields=all').expect(400);
        // The one read of the whole stream carries 300,001 fields: the first are listed.
        const op = await request(app).get('/captures/many/steps/2?by=op').expect(200);
        expect(op.text.length).toBeLessThan(512 * 1024);
        expect(op.text).toContain('These bytes hold more fields than the 64 shown here');
        const apiOp = await request(app).get('/api/captures/many/steps/2?by=op').expect(200);
        expect(apiOp.body.fields).toHaveLength(64);
        expect(apiOp.body.fieldsMore).toBe(true);
        const step = await request(app).get(`/api/captures/many/steps/${3 * files - 1}?by=field`).expect(200);
        expect(step.body.fields[0]).toMatchObject({ id: `file[${files}].name`, value: `“f${files}”` });
      } finally {
        await app.closeCaptures();
      }
    });
  }, 120_000);
});
