import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { SPECIAL, makeSpecialCaptures } from '../helpers/special.js';

let root = '';
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-special-'));
  await makeSpecialCaptures(root);
  app = createApp({ store: new CaptureStore([root]), samplesDir: null });
});

afterAll(async () => {
  await app.closeCaptures();
  await rm(root, { recursive: true, force: true });
});

describe('a capture holding a FIFO or a folder where a file should be', () => {
  for (const s of SPECIAL) {
    it(`answers 422, in both languages, for ${s.file} as a ${s.as === 'fifo' ? 'FIFO' : 'folder'}`, async () => {
      for (let i = 0; i < 6; i++) {
        const page = await request(app).get(`/captures/${s.id}`).expect(422);
        expect(page.text).toContain('This capture is damaged');
        expect(page.text).toContain(`${s.file} is ${s.as === 'fifo' ? 'a named pipe (FIFO)' : 'a folder'}, not a regular file`);
      }
      expect((await request(app).get(`/captures/${s.id}/steps/1?lang=pt`).expect(422)).text).toContain('Esta captura está danificada');
      expect((await request(app).get(`/api/captures/${s.id}`).expect(422)).body.error.status).toBe(422);
    });
  }

  it('lists them as damaged on the home page and still serves /static', async () => {
    const home = await request(app).get('/').expect(200);
    for (const s of SPECIAL) expect(home.text).toContain(`href="/captures/${s.id}"`);
    expect(home.text.match(/damaged capture/g)?.length).toBe(SPECIAL.length);
    await request(app).get('/static/style.css').expect(200);
  });
});
