import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { writeReportDir } from '../../src/check/report/index.js';
import { cookieName, createApp } from '../../src/web/app.js';
import { newTeacherToken } from '../../src/web/roles.js';
import { launchChromium } from '../helpers/browser.js';
import { withTempDir } from '../helpers/net.js';
import { makeReportFolder } from '../check/report-fixture.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

/** A site with two roles listening on 127.0.0.1, its app told its port as `wirestep lab` tells it. */
async function startSite(): Promise<{ url: string; token: string; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const token = newTeacherToken();
  const app = createApp({ store: new CaptureStore([SAMPLES]), teacherToken: token, port });
  server.on('request', app);
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.closeCaptures();
    },
  };
}

describe('cookies of two wirestep sites on one host', () => {
  it('names its cookies after the port, and plainly when it does not know it', () => {
    expect(cookieName('wirestep-lang', 3000)).toBe('wirestep-lang-3000');
    expect(cookieName('wirestep-teacher', undefined)).toBe('wirestep-teacher');
  });

  it('keeps the teacher and the language of one site from the other in one Chromium, which sends both sites every cookie of the host', async () => {
    const a = await startSite();
    const b = await startSite();
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      // The teacher of site A, in Portuguese.
      await page.goto(`${a.url}/lessons/framing?lang=pt&token=${a.token}`);
      expect(await page.locator('details.answers').count()).toBe(1);
      expect(await page.locator('html').getAttribute('lang')).toBe('pt-BR');
      // The same browser on site B: a student there (not refused for A's cookie), in English.
      const other = await page.goto(`${b.url}/lessons/framing`);
      expect(other?.status()).toBe(200);
      expect(await page.locator('details.answers').count()).toBe(0);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      // Both sites' cookies are in the jar, each named after its site's port.
      const names = (await context.cookies()).map((c) => c.name).sort();
      expect(names).toEqual([`wirestep-lang-${new URL(a.url).port}`, `wirestep-teacher-${new URL(a.url).port}`]);
      // Back on A: still its teacher, still in Portuguese.
      await page.goto(`${a.url}/lessons/framing`);
      expect(await page.locator('details.answers').count()).toBe(1);
      expect(await page.locator('html').getAttribute('lang')).toBe('pt-BR');
    } finally {
      await browser.close();
      await a.close();
      await b.close();
    }
  }, 90_000);
});

describe('/report in the reader’s language', () => {
  it('follows ?lang=, then the language cookie, then Accept-Language, else the report’s own', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en', {});
      const app = createApp({ store: new CaptureStore([path.join(dir, 'captures')]), reportDir: dir, samplesDir: null, port: 3000 });
      try {
        const langOf = (html: string): string | undefined => /<html lang="([^"]+)"/.exec(html)?.[1];
        expect(langOf((await request(app).get('/report').expect(200)).text)).toBe('en');
        expect(langOf((await request(app).get('/report').set('Accept-Language', 'pt-BR,pt;q=0.9').expect(200)).text)).toBe('pt-BR');
        expect(langOf((await request(app).get('/report').set('Cookie', 'wirestep-lang-3000=pt').expect(200)).text)).toBe('pt-BR');
        // Another site's cookie is not this one's.
        expect(langOf((await request(app).get('/report').set('Cookie', 'wirestep-lang-3001=pt').expect(200)).text)).toBe('en');
        expect(langOf((await request(app).get('/report?lang=en').set('Accept-Language', 'pt-BR').expect(200)).text)).toBe('en');
      } finally {
        await app.closeCaptures();
      }
    });
  });
});
