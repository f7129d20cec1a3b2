import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, sendFiles } from '../../src/net/index.js';
import { watchOutput } from '../../scripts/lib/harness.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const CAPTURES = 400;
const LOADS = 12;

/** Every capture id a listing page links to, in order. */
function idsOn(html: string): string[] {
  return [...html.matchAll(/<td><a href="\/captures\/([^"?]+)[^"]*">/g)].map((m) => decodeURIComponent(m[1]!));
}

describe('the home page of a semester of captures', () => {
  it(`lists ${CAPTURES} captures under ulimit -n 256 while a student's transfer arrives, pages them each once, and saves the transfer whole`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-index-'));
    const captures = path.join(dir, 'captures');
    const child = spawn('bash', ['-c', `ulimit -n 256; exec "${process.execPath}" "${MAIN}" lab --port 0 --web-port 0 --out out --captures captures`], { cwd: dir });
    const out = watchOutput(child);
    const closed = new Promise((r) => child.once('close', r));
    try {
      // One small capture copied: what a semester of classes leaves.
      await mkdir(captures);
      for (let i = 0; i < CAPTURES; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, CAPTURES - i) }, (_, j) => cp(path.join(SAMPLES, 'demo-10-files'), path.join(captures, `aula-${String(i + j).padStart(4, '0')}`), { recursive: true })));
      }
      const port = Number((await out.waitFor(/receiver on [^\n]*:(\d+);/, { ms: 60_000 }))[1]);
      const site = `http://127.0.0.1:${(await out.waitFor(/live page: http:\/\/127\.0\.0\.1:(\d+)\//))[1]}`;

      const src = path.join(dir, 'src');
      await mkdir(src);
      const data = Buffer.alloc(300_000, 'um semestre inteiro ');
      await writeFile(path.join(src, 'trabalho.bin'), data);
      // The loads of / start first and the transfer arrives while they open captures.
      const loads = Array.from({ length: LOADS }, () => fetch(`${site}/`).then(async (r) => ({ status: r.status, text: await r.text() })));
      const sent = await sendFiles({ port, files: await listFiles([src]), capturesDir: null });
      const pages = await Promise.all(loads);
      expect(sent.status).toBe('complete');
      // The sender is done when the kernel took its bytes; the file is whole once the lab logs it saved.
      await out.waitFor('trabalho.bin, 300,000 bytes');
      expect(createHash('sha256').update(await readFile(path.join(dir, 'out', 'trabalho.bin'))).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      expect(pages.map((p) => p.status)).toEqual(Array(LOADS).fill(200));
      expect(out.text()).not.toMatch(/EMFILE|ENFILE/);

      // Page by page, every capture shows exactly once: the copies, the student's and the samples.
      const expected = [...(await readdir(captures, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name), ...(await readdir(SAMPLES))];
      const shown: string[] = [];
      for (let page = 1; ; page++) {
        const res = await fetch(`${site}/?page=${page}`);
        if (res.status === 404) break;
        expect(res.status).toBe(200);
        const ids = idsOn(await res.text());
        expect(ids.length).toBeGreaterThan(0);
        shown.push(...ids);
      }
      expect(shown.length).toBe(new Set(shown).size);
      expect(new Set(shown)).toEqual(new Set(expected.filter((n) => !n.startsWith('.'))));
      expect(shown.length).toBeGreaterThan(CAPTURES);
      expect((await fetch(`${site}/?page=${Math.ceil(shown.length / 100) + 1}&lang=pt`).then((r) => r.text()))).toContain('A lista não tem página');
    } finally {
      child.kill('SIGTERM');
      await closed;
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
