import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { sendRaw, withReceiver } from '../helpers/net.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
let root = '';
let app: ReturnType<typeof createApp>;

/** A copy of the demo capture as `id`, its capture.json changed by `edit`. */
async function demoAs(id: string, edit: (meta: Record<string, unknown>, text: string) => string): Promise<void> {
  const dir = path.join(root, id);
  await cp(path.join(SAMPLES, 'demo-10-files'), dir, { recursive: true });
  const text = await readFile(path.join(dir, 'capture.json'), 'utf8');
  await writeFile(path.join(dir, 'capture.json'), edit(JSON.parse(text) as Record<string, unknown>, text));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-errors-'));
  await demoAs('deep', (_m, text) => `${text.slice(0, -2)}, "x": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
  await demoAs('odd-status', (m) => JSON.stringify({ ...m, outcome: { status: 'exploded' } }));
  app = createApp({ store: new CaptureStore([root, SAMPLES]) });
});

afterAll(async () => {
  await app.closeCaptures();
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('requests that are the visitor’s mistake or a damaged capture, never a 500', () => {
  it('answers a malformed %-escape with 400 and logs nothing', async () => {
    const logged = vi.spyOn(console, 'error');
    for (const url of ['/captures/%', '/captures/%E0%A4%A', '/captures/%zz/steps/1']) {
      const res = await request(app).get(url).expect(400).expect('Content-Type', /html/);
      expect(res.text).toContain('each % in it must start an escape');
      expect(res.text).not.toMatch(/URIError|\n\s+at /);
    }
    expect((await request(app).get('/captures/%?lang=pt').expect(400)).text).toContain('cada % nele deve começar');
    expect((await request(app).get('/api/captures/%').expect(400)).body.error.status).toBe(400);
    expect(logged).not.toHaveBeenCalled();
  });

  it('answers a capture.json nested 200,000 deep as a damaged capture (422)', async () => {
    const logged = vi.spyOn(console, 'error');
    expect((await request(app).get('/api/captures/deep').expect(422)).body.error.message).toBe('capture.json nests deeper than 64 levels');
    expect((await request(app).get('/captures/deep').expect(422)).text).toContain('This capture is damaged');
    await request(app).get('/captures/deep/steps/1').expect(422);
    expect((await request(app).get('/').expect(200)).text).toContain('capture.json nests deeper than 64 levels');
    expect(logged).not.toHaveBeenCalled();
  });

  it('names an outcome status it does not know instead of showing a message key', async () => {
    for (const url of ['/', '/captures/odd-status']) {
      const res = await request(app).get(url).expect(200);
      expect(res.text).toContain('unknown outcome “exploded”');
      expect(res.text).not.toContain('status.exploded');
    }
    expect((await request(app).get('/captures/odd-status?lang=pt').expect(200)).text).toContain('resultado desconhecido “exploded”');
  });

  it('answers a step number past 2^53 with 404, echoing it as given', async () => {
    for (const n of ['9999999999999999', '99999999999999999999999']) {
      const res = await request(app).get(`/captures/demo-10-files/steps/${n}`).expect(404);
      expect(res.text).toContain(`There is no step ${n}.`);
      expect(res.text).not.toContain('10000000000000000');
      expect((await request(app).get(`/api/captures/demo-10-files/steps/${n}`).expect(404)).body.error.message).toBe(`There is no step ${n}.`);
    }
    expect((await request(app).get('/captures/demo-10-files/steps/32').expect(404)).text).toContain('There is no step 32: this capture has 31.');
  });

  it('words range errors in Portuguese on ?lang=pt pages', async () => {
    const cases: [string, number, string][] = [
      ['/captures/demo-10-files/steps/32?lang=pt', 404, 'Não existe o passo 32: esta captura tem 31.'],
      ['/captures/demo-10-files/steps/0?lang=pt', 404, 'Um passo é um número inteiro a partir de 1, não “0”.'],
      ['/captures/demo-10-files/steps/9999999999999999?lang=pt', 404, 'Não existe o passo 9999999999999999.'],
      ['/captures/demo-10-files/steps/1?page=0&lang=pt', 404, 'Uma página é um número inteiro a partir de 1, não “0”.'],
      ['/captures/demo-10-files/steps/1?by=bytes&lang=pt', 400, '&#34;by&#34; deve ser &#34;field&#34; ou &#34;op&#34;'],
      ['/?page=7&lang=pt', 404, 'A lista não tem página 7: ela tem 1.'],
      ['/lessons/nenhuma?lang=pt', 404, 'Não existe a aula “nenhuma”.'],
      ['/nada/aqui?lang=pt', 404, 'Não há nada em'],
    ];
    for (const [url, status, text] of cases) {
      const res = await request(app).get(url).expect(status);
      expect(res.text).toContain(text);
      expect(res.text).not.toMatch(/must be|no such|There is/);
    }
  });
});

describe('the same requests against a lab, whose receiver shares the process', () => {
  it('leaves the receiver serving: a student’s file sent after them arrives whole', async () => {
    await withReceiver(async (rx) => {
      const live = new LiveFeed(rx.receiver);
      const lab = createApp({ store: new CaptureStore([rx.capturesDir, root]), live, lab: { port: rx.port, hosts: ['127.0.0.1'] } });
      try {
        await request(lab).get('/captures/%').expect(400);
        await request(lab).get('/api/captures/deep').expect(422);
        await request(lab).get('/captures/demo-10-files/steps/9999999999999999').expect(404);
        const data = new TextEncoder().encode('depois dos ataques\n');
        const result = rx.nextResult();
        await sendRaw(rx.port, [encodeTransfer([{ name: 'aluno.txt', data }])]);
        expect((await result).status).toBe('complete');
        expect(new Uint8Array(await readFile(path.join(rx.outDir, 'aluno.txt')))).toEqual(data);
      } finally {
        live.close();
        await lab.closeCaptures();
      }
    });
  });
});
