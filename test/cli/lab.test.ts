import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/capture/index.js';
import { listFiles, sendFiles } from '../../src/net/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { startLab } from '../helpers/lab.js';

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
      // A sender is done when its bytes are sent; the receiver saves the file after that. Every
      // capture is complete once the lab has finished each connection: wait for that first.
      let page = '';
      const complete = async () => {
        page = await (await fetch(`http://127.0.0.1:${lab.web}/live`)).text();
        return (page.match(/class="st-complete"/g) ?? []).length;
      };
      await expect.poll(complete, { timeout: 60_000 }).toBe(40);
      for (let i = 0; i < 40; i++) {
        const saved = await readFile(path.join(dir, 'out', `aluno_${i}.bin`));
        expect(createHash('sha256').update(saved).digest('hex')).toBe(sources[i]!.digest);
      }
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
      await lab.exited;
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it.each(['SIGINT', 'SIGTERM'] as const)('on %s records the open transfer as interrupted and says every capture is flushed', async (signal) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-lab-stop-'));
    const lab = await startLab(dir);
    const held = net.connect({ host: '127.0.0.1', port: lab.port });
    held.on('error', () => {});
    try {
      await once(held, 'connect');
      held.write(encodeTransfer([{ name: 'metade.txt', data: new Uint8Array(1000) }]).subarray(0, 4 + 128 + 8 + 100));
      await lab.waitFor(/file 1: "metade\.txt", 1,000 bytes announced/);
      lab.child.kill(signal);
      await lab.waitFor(/closed, every capture flushed/);
      expect(await lab.exited).toBe(0);
      expect(lab.output()).toContain(`${signal}: closing; open transfers are recorded as interrupted`);
      const [id, ...others] = await readdir(path.join(dir, 'captures'));
      expect(others).toEqual([]);
      const meta = JSON.parse(await readFile(path.join(dir, 'captures', id!, 'capture.json'), 'utf8'));
      expect(meta.outcome.status).toBe('interrupted');
    } finally {
      held.destroy();
      lab.child.kill('SIGKILL');
      await lab.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
