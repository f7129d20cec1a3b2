import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/capture/index.js';
import { listFiles, sendFiles } from '../../src/net/index.js';
import { watchOutput } from '../../scripts/lib/harness.js';
import { freePort } from '../helpers/net.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');

/** `wirestep lab` on free ports, once it prints its live page. */
async function startLab(dir: string): Promise<{ child: ChildProcess; port: number; web: number; output: () => string }> {
  const port = await freePort();
  const web = await freePort();
  const child = spawn(process.execPath, [MAIN, 'lab', '--port', String(port), '--web-port', String(web), '--out', path.join(dir, 'out'), '--captures', path.join(dir, 'captures')], { cwd: dir });
  const out = watchOutput(child);
  await out.waitFor('live page:', { ms: 15_000 });
  return { child, port, web, output: () => out.text() };
}

describe('wirestep lab', () => {
  it('takes 40 transfers at once: every file byte-identical, every capture complete, all on /live', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-lab40-'));
    const lab = await startLab(dir);
    try {
      const sources = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const src = path.join(dir, 'src', `s${i}`);
        await mkdir(src, { recursive: true });
        const data = Buffer.alloc(20_000 + i * 1000, `aluno ${i} `);
        await writeFile(path.join(src, `aluno_${i}.bin`), data);
        return { files: await listFiles([src]), digest: createHash('sha256').update(data).digest('hex') };
      }));
      const results = await Promise.all(sources.map((s) => sendFiles({ port: lab.port, files: s.files, chunk: 512, capturesDir: null })));
      expect(results.map((r) => r.status)).toEqual(Array(40).fill('complete'));
      for (let i = 0; i < 40; i++) {
        const saved = await readFile(path.join(dir, 'out', `aluno_${i}.bin`));
        expect(createHash('sha256').update(saved).digest('hex')).toBe(sources[i]!.digest);
      }
      // Every capture is complete: wait for the last to be finished on disk.
      const live = async () => (await fetch(`http://127.0.0.1:${lab.web}/live`)).text();
      let page = '';
      for (let tries = 0; tries < 100; tries++) {
        page = await live();
        if ((page.match(/class="st-complete"/g) ?? []).length === 40) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((page.match(/class="st-complete"/g) ?? []).length).toBe(40);
      const ids = [...page.matchAll(/href="\/captures\/([^/"]+)\/steps\/1\?by=field"/g)].map((m) => m[1]!);
      expect(new Set(ids).size).toBe(40);
      for (const id of ids) {
        const reader = await CaptureReader.open(path.join(dir, 'captures', id));
        try {
          expect(reader.meta.outcome.status).toBe('complete');
          expect((await reader.dissection()).problems).toEqual([]);
          expect(reader.meta.files).toEqual([expect.objectContaining({ status: 'saved' })]);
        } finally {
          await reader.close();
        }
      }
    } finally {
      lab.child.kill('SIGTERM');
      await new Promise((r) => lab.child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
