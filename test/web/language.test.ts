import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { withoutToken } from '../../src/web/roles.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const app = createApp({ store: new CaptureStore([SAMPLES]) });
afterAll(() => app.closeCaptures());

const PT_BROWSER = 'pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7';

/** The hrefs of a page's links. */
const hrefs = (html: string): string[] => [...html.matchAll(/<a [^>]*href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

describe('the site’s language', () => {
  it('speaks Portuguese to a Brazilian browser and English to others, with no ?lang=', async () => {
    const pt = await request(app).get('/lessons').set('Accept-Language', PT_BROWSER).expect(200);
    expect(pt.text).toContain('<html lang="pt-BR">');
    expect(pt.headers.vary).toMatch(/Accept-Language/);
    const ptOnly = await request(app).get('/lessons').set('Accept-Language', 'pt').expect(200);
    expect(ptOnly.text).toContain('<html lang="pt-BR">');
    const en = await request(app).get('/lessons').set('Accept-Language', 'en-US,en;q=0.9,pt;q=0.5').expect(200);
    expect(en.text).toContain('<html lang="en">');
    const none = await request(app).get('/lessons').expect(200);
    expect(none.text).toContain('<html lang="en">');
    const other = await request(app).get('/lessons').set('Accept-Language', 'de-DE').expect(200);
    expect(other.text).toContain('<html lang="en">');
  });

  it('keeps a language chosen with ?lang= over the browser’s: in a cookie, and in every link', async () => {
    const chosen = await request(app).get('/captures/demo-10-files/steps/2?by=field&lang=en').set('Accept-Language', PT_BROWSER).expect(200);
    expect(chosen.text).toContain('<html lang="en">');
    const cookie = (chosen.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('wirestep-lang='))!;
    expect(cookie).toMatch(/^wirestep-lang=en;/);
    // Links say lang=en: without the cookie, the browser's Portuguese would take over.
    const site = hrefs(chosen.text).filter((h) => h.startsWith('/') && !h.startsWith('/static'));
    expect(site.length).toBeGreaterThan(5);
    for (const h of site) expect(h).toMatch(/[?&]lang=(en|pt)\b/);
    expect(site).toContain('/captures/demo-10-files/steps/2?by=field&lang=pt');
    expect(site).toContain('/captures/demo-10-files/steps/2?by=field&lang=en');
    // A lesson's own links too.
    const lesson = await request(app).get('/lessons/framing?lang=en').set('Accept-Language', PT_BROWSER).expect(200);
    const inLesson = hrefs(lesson.text).filter((h) => h.startsWith('/captures/'));
    expect(inLesson.length).toBeGreaterThan(2);
    for (const h of inLesson) expect(h).toMatch(/[?&]lang=en\b/);
    // With the cookie, a page without ?lang= stays in English.
    const later = await request(app).get('/lessons').set('Accept-Language', PT_BROWSER).set('Cookie', cookie.split(';')[0]!).expect(200);
    expect(later.text).toContain('<html lang="en">');
  });

  it('lets the language link switch back to English after Portuguese was chosen', async () => {
    const pt = await request(app).get('/lessons?lang=pt').expect(200);
    const cookie = (pt.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('wirestep-lang='))!.split(';')[0]!;
    expect(cookie).toBe('wirestep-lang=pt');
    const page = await request(app).get('/lessons').set('Cookie', cookie).expect(200);
    expect(page.text).toContain('<html lang="pt-BR">');
    // The cookie says Portuguese, so the English link must say so itself.
    const english = /<a href="([^"]+)" hreflang="en"/.exec(page.text)![1]!;
    expect(english).toBe('/lessons?lang=en');
    const back = await request(app).get(english).set('Cookie', cookie).expect(200);
    expect(back.text).toContain('<html lang="en">');
  });

  it('answers an error in the browser’s language too', async () => {
    const res = await request(app).get('/captures/no-such-capture').set('Accept-Language', PT_BROWSER).expect(404);
    expect(res.text).toContain('Erro 404');
  });
});

describe('the teacher’s address without its token', () => {
  it('keeps the path and the other parameters, and never leaves the site', () => {
    expect(withoutToken('/lessons/framing?lang=pt&token=abc')).toBe('/lessons/framing?lang=pt');
    expect(withoutToken('/?token=abc')).toBe('/');
    expect(withoutToken('//evil.example/?token=abc')).toBe('/evil.example/');
    expect(withoutToken('/\\evil.example/?token=abc')).toBe('/evil.example/');
  });

  it('sends a right token on a protocol-relative path to this site, not another', async () => {
    const token = 'a'.repeat(43);
    const roles = createApp({ store: new CaptureStore([SAMPLES]), teacherToken: token });
    try {
      const res = await request(roles).get(`//evil.example/?token=${token}`);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/evil.example/');
    } finally {
      await roles.closeCaptures();
    }
  });

  it('refuses a token too short to be a secret', () => {
    expect(() => createApp({ store: new CaptureStore([SAMPLES]), teacherToken: 'short' })).toThrow(TypeError);
  });
});
