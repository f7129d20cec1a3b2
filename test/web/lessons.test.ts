import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { CATALOGS } from '../../src/web/i18n.js';
import { LessonError, loadLessons, parseEmbed } from '../../src/web/lessons.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const lessons = loadLessons(path.join(ROOT, 'lessons'));
const store = new CaptureStore([path.join(ROOT, 'samples')]);
const app = createApp({ store });
const known = new Set((await store.list()).map((l) => l.id));

afterAll(async () => {
  await app.closeCaptures();
});

const slugs = (lang: string) => lessons.filter((l) => l.lang === lang).map((l) => l.slug);

describe('the lessons', () => {
  it('are the ten the course needs, in English and Portuguese alike, in the same order', () => {
    expect(slugs('en')).toEqual(['sockets', 'byte-stream', 'framing', 'byte-order', 'text-in-fields', 'exact-reads', 'broken-streams', 'trust', 'scale', 'lab']);
    expect(slugs('pt')).toEqual(slugs('en'));
    for (const l of lessons) {
      const twin = lessons.find((x) => x.slug === l.slug && x.lang !== l.lang)!;
      expect([l.order, [...l.fields], [...l.ops]]).toEqual([twin.order, [...twin.fields], [...twin.ops]]);
    }
  });

  it.each(lessons.map((l) => [`${l.slug}.${l.lang}`, l] as const))('%s uses only bundled captures and has exercises with answers', (_name, l) => {
    for (const id of l.samples) expect(known.has(id), `${id} in ${l.slug}.${l.lang}`).toBe(true);
    expect(l.body).toMatch(l.lang === 'en' ? /^## Exercises$/m : /^## Exercícios$/m);
    expect(l.body).toMatch(/<details class="answers">\n<summary>(Answers for the teacher|Respostas para o professor)<\/summary>/);
  });

  it.each(lessons.map((l) => [`${l.slug}.${l.lang}`, l] as const))('%s renders with every embed and fact resolved', async (_name, l) => {
    const res = await request(app).get(`/lessons/${l.slug}${l.lang === 'pt' ? '?lang=pt' : ''}`).expect(200);
    expect(res.text).not.toMatch(/\{\{[^}]*\}\}/);
    expect(res.text).not.toContain('```wirestep');
    const embeds = (l.body.match(/^```wirestep$/gm) ?? []).length;
    expect((res.text.match(/<figure class="embed">/g) ?? []).length).toBe(embeds);
    expect(res.text).toContain(`<html lang="${l.lang === 'pt' ? 'pt-BR' : 'en'}">`);
  });

  it('has the same message keys in both languages', () => {
    expect(Object.keys(CATALOGS.pt).sort()).toEqual(Object.keys(CATALOGS.en).sort());
  });

  it.each([
    ['/captures/demo-10-files/steps/1', 'byte-order'],
    ['/captures/demo-10-files/steps/2', 'text-in-fields'],
    ['/captures/demo-10-files/steps/3?lang=pt', 'byte-order?lang=pt'],
    ['/captures/demo-10-files/steps/4', 'exact-reads'],
    ['/captures/trailing-bytes/steps/5', 'broken-streams'],
    ['/captures/demo-10-files/steps/1?by=op', 'sockets'],
  ])('links %s to the lesson that explains it (%s)', async (url, lesson) => {
    const res = await request(app).get(url).expect(200);
    expect(res.text).toContain(`class="lesson-link">`);
    expect(res.text).toMatch(new RegExp(`class="lesson-link">[^<]+<a href="/lessons/${lesson.replace('?', '\\?')}">`));
  });

  it('links a write or a read to the lesson on byte streams', async () => {
    const api = await request(app).get('/api/captures/demo-10-files').expect(200);
    for (let n = 1; n <= api.body.opSteps; n++) {
      const step = (await request(app).get(`/api/captures/demo-10-files/steps/${n}?by=op`).expect(200)).body;
      if (step.event.type !== 'write') continue;
      const res = await request(app).get(`/captures/demo-10-files/steps/${n}?by=op`).expect(200);
      expect(res.text).toContain('<a href="/lessons/byte-stream">');
      return;
    }
    throw new Error('no write in demo-10-files');
  });
});

describe('links across the site', () => {
  it('all resolve, from the home page, the lesson pages and every page they link to', async () => {
    const seen = new Map<string, number>();
    const start = ['/', '/?lang=pt', '/lessons', '/lessons?lang=pt', ...lessons.map((l) => `/lessons/${l.slug}${l.lang === 'pt' ? '?lang=pt' : ''}`)];
    let frontier = start;
    for (let depth = 0; depth < 2 && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const url of frontier) {
        if (seen.has(url)) continue;
        const res = await request(app).get(url);
        seen.set(url, res.status);
        if (res.status !== 200 || !res.type.includes('html')) continue;
        for (const [, href] of res.text.matchAll(/href="(\/[^"#]*)/g)) {
          const clean = href!.replace(/&amp;/g, '&');
          if (!seen.has(clean) && !clean.startsWith('/static/')) next.push(clean);
        }
      }
      frontier = [...new Set(next)];
    }
    const broken = [...seen].filter(([, status]) => status !== 200);
    expect(broken).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
  });
});

describe('lesson format errors', () => {
  it('names the file and the key that is wrong', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-lessons-'));
    try {
      await writeFile(path.join(dir, 'x.en.md'), '---\ntitle: X\norder: one\nlang: en\n---\nbody\n');
      expect(() => loadLessons(dir)).toThrow(new LessonError('x.en.md: "order" is not a whole number'));
      await writeFile(path.join(dir, 'x.en.md'), '---\ntitle: X\norder: 1\nlang: pt\n---\nbody\n');
      expect(() => loadLessons(dir)).toThrow(/"lang" is not "en"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks a wirestep block', () => {
    expect(parseEmbed('capture: demo-10-files\nstep: 2\n', 'here')).toEqual({ capture: 'demo-10-files', by: 'field', n: 2 });
    expect(parseEmbed('capture: slow-link\nread: 3\n', 'here')).toEqual({ capture: 'slow-link', by: 'read', n: 3 });
    expect(() => parseEmbed('capture: x\nstep: 1\nread: 2\n', 'here')).toThrow(/exactly one of/);
    expect(() => parseEmbed('step: 1\n', 'here')).toThrow(/no "capture"/);
  });
});

describe('lessons on a site whose captures folder has no samples', () => {
  it('still show the bundled samples, and so do the step pages they link to, while the home page lists only that folder', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'wirestep-no-samples-'));
    const bare = createApp({ store: new CaptureStore([empty]) });
    try {
      const lesson = await request(bare).get('/lessons/byte-stream').expect(200);
      const steps = [...new Set([...lesson.text.matchAll(/href="(\/captures\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')))];
      expect(steps.length).toBeGreaterThan(0);
      for (const href of steps) await request(bare).get(href).expect(200);
      await request(bare).get('/captures/demo-10-files/steps/1?by=field').expect(200);
      const listed = await request(bare).get('/api/captures').expect(200);
      expect(listed.body.captures).toEqual([]);
    } finally {
      await bare.closeCaptures();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
