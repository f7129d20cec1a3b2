import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { startReceiver } from '../../src/net/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { TREE_FILES_AROUND } from '../../src/web/steps.js';
import { sendRaw } from '../helpers/net.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const MANY = 2000;

let tmp = '';
let app: ReturnType<typeof createApp>;

/** Records `bytes` sent raw to a real receiver as capture `id` in `root`. */
async function record(root: string, id: string, bytes: Uint8Array): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-tree-rec-'));
  const receiver = await startReceiver({ port: 0, outDir: path.join(work, 'out'), capturesDir: path.join(work, 'caps') });
  try {
    const done = new Promise<{ captureDir?: string }>((resolve) => receiver.once('result', resolve));
    await sendRaw(receiver.address.port, [bytes]);
    const { captureDir } = await done;
    await cp(captureDir!, path.join(root, id), { recursive: true });
  } finally {
    await receiver.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** The field tree of a page's HTML, and its links' texts, targets and marks. */
function treeOf(html: string): { html: string; links: { text: string; href: string; current: boolean }[] } {
  const tree = /<details class="tree"[\s\S]*?<\/details>/.exec(html)?.[0] ?? '';
  const links = [...tree.matchAll(/<a href="([^"]*)"[^>]*?( aria-current="step")?>([^<]*)<\/a>/g)].map((m) => ({ href: m[1]!.replaceAll('&amp;', '&'), current: m[2] !== undefined, text: m[3]! }));
  return { html: tree, links };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'wirestep-tree-'));
  const extra = path.join(tmp, 'captures');
  await mkdir(extra);
  const files = Array.from({ length: MANY }, (_, i) => ({ name: `f${i + 1}.txt`, data: new TextEncoder().encode(String(i + 1)) }));
  await record(extra, 'many-files', encodeTransfer(files));
  app = createApp({ store: new CaptureStore([SAMPLES, extra]) });
});

afterAll(async () => {
  await app?.closeCaptures();
  await rm(tmp, { recursive: true, force: true });
});

describe('the field tree of a step page', () => {
  it('lists every field of the 10-file demo as links to their steps and marks the current one', async () => {
    const res = await request(app).get('/captures/demo-10-files/steps/3?by=field').expect(200);
    const { links, html } = treeOf(res.text);
    // The count, then name, size and payload of the files around file 1 (1 to 7).
    expect(links.slice(0, 4).map((l) => l.text)).toEqual(['count', 'file[1].name', 'file[1].size', 'file[1].payload']);
    expect(links.slice(0, 4).map((l) => l.href)).toEqual([1, 2, 3, 4].map((n) => `/captures/demo-10-files/steps/${n}?by=field`));
    expect(links.filter((l) => l.current).map((l) => l.text)).toEqual(['file[1].size']);
    // The last file is a link away, the rest counted.
    expect(links.at(-1)).toEqual({ text: 'file[10]', href: '/captures/demo-10-files/steps/29?by=field', current: false });
    expect(html).toContain('(3 files not listed)');
    // Values beside the ids: the count and a name.
    expect(html).toMatch(/>count<\/a> <span class="v">10<\/span>/);
    expect(html).toContain('“arquivo_1.txt”');
    // Open on a screen, words in the reader's language.
    expect(html).toMatch(/^<details class="tree" open>/);
    const pt = treeOf((await request(app).get('/captures/demo-10-files/steps/3?by=field&lang=pt').expect(200)).text).html;
    expect(pt).toContain('Campos da transferência');
    expect(pt).toContain('(3 arquivos fora da lista)');
  });

  it('marks on an operation step the first field the write or read carried, and lists trailing bytes last', async () => {
    // demo-10-files op step 4 is the write of file 1's name.
    const op = treeOf((await request(app).get('/captures/demo-10-files/steps/4?by=op').expect(200)).text);
    expect(op.links.filter((l) => l.current).map((l) => l.text)).toEqual(['file[1].name']);
    const trailing = await request(app).get('/api/captures/trailing-bytes').expect(200);
    const total = (trailing.body as { fieldsPage: { total: number } }).fieldsPage.total;
    const last = treeOf((await request(app).get(`/captures/trailing-bytes/steps/${total}?by=field`).expect(200)).text);
    expect(last.links.at(-1)).toMatchObject({ text: 'trailing', current: true });
  });

  it(`stays bounded for ${MANY} files: ${2 * TREE_FILES_AROUND + 1} files around the current one, links to the first and the last`, async () => {
    // File 1000's size is field step 3 × 1000.
    const res = await request(app).get('/captures/many-files/steps/3000?by=field').expect(200);
    const { links, html } = treeOf(res.text);
    const files = [...html.matchAll(/<span class="file-id">file\[(\d+)\]<\/span>/g)].map((m) => Number(m[1]));
    expect(files).toEqual([997, 998, 999, 1000, 1001, 1002, 1003]);
    expect(links.filter((l) => l.current).map((l) => l.text)).toEqual(['file[1000].size']);
    expect(links.find((l) => l.text === 'file[1]')?.href).toBe('/captures/many-files/steps/2?by=field');
    expect(links.find((l) => l.text === `file[${MANY}]`)?.href).toBe(`/captures/many-files/steps/${3 * MANY - 1}?by=field`);
    expect(html).toContain('(996 files not listed)');
    expect(html).toContain('(997 files not listed)');
    expect(links.length).toBeLessThanOrEqual(3 + 3 * (2 * TREE_FILES_AROUND + 1));
    // The last file's payload: the window ends at the last file.
    const end = treeOf((await request(app).get(`/captures/many-files/steps/${3 * MANY + 1}?by=field`).expect(200)).text).html;
    expect([...end.matchAll(/<span class="file-id">file\[(\d+)\]<\/span>/g)].map((m) => Number(m[1]))).toEqual([1994, 1995, 1996, 1997, 1998, 1999, 2000]);
  });

  it('is collapsed in presenter mode and absent from a quiz, whose page must not point at the answer', async () => {
    const present = treeOf((await request(app).get('/captures/demo-10-files/steps/2?by=field&present=1').expect(200)).text);
    expect(present.html).toMatch(/^<details class="tree">/);
    expect(present.links[1]!.href).toBe('/captures/demo-10-files/steps/2?by=field&present=1');
    const quiz = await request(app).get('/captures/demo-10-files/steps/2?by=field&quiz=1').expect(200);
    expect(treeOf(quiz.text).html).toBe('');
  });
});
