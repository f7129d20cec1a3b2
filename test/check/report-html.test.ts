import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../../scripts/lib/harness.js';
import { ReportError, readReportDir, renderJson, reportCaptureRoots, writeReportDir } from '../../src/check/report/index.js';
import { resolveStep } from '../../src/check/report/html.js';
import { checkServer } from '../../src/check/server.js';
import { fieldTitle, parseFieldId } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { withTempDir } from '../helpers/net.js';
import { CUT_AT, makeReportFolder } from './report-fixture.js';

/** The links of a page with class `cls`, in order. */
function links(html: string, cls: string): string[] {
  return [...html.matchAll(new RegExp(`<a class="${cls}" href="([^"]*)"`, 'g'))].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

describe('a report folder', () => {
  it('holds report.html, report.json and the site’s stylesheet beside the captures, and nothing half-written', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en', { siteUrl: 'http://127.0.0.1:4000/' });
      expect((await readdir(dir)).sort()).toEqual(['captures', 'report.html', 'report.json', 'style.css']);
      expect(await readFile(path.join(dir, 'report.json'), 'utf8')).toBe(renderJson(report, 'en'));
      expect(await readReportDir(dir)).toEqual(JSON.parse(renderJson(report, 'en')));
      const html = await readFile(path.join(dir, 'report.html'), 'utf8');
      expect(html).toContain('<html lang="en">');
      expect(html).toContain('4 of 12 points');
      expect(html).toContain('2 of 6 checks passed, 4 failed.');
      expect(html).toContain(`wirestep serve --report ${dir}`);
      expect(html).toContain('<link rel="stylesheet" href="style.css">');
    });
  });

  it('links each failure to the field step its place names, read from its capture: the payload cut at byte 540 is step 4', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en', { siteUrl: 'http://127.0.0.1:4000' });
      const html = await readFile(path.join(dir, 'report.html'), 'utf8');
      const trailing = await resolveStep(path.join(dir, 'captures', 'bad-input.trailing-bytes'), { capture: 'captures/bad-input.trailing-bytes', offset: 150 });
      expect(links(html, 'step-link')).toEqual([
        'http://127.0.0.1:4000/captures/bad-input.cut-in-payload/steps/4?by=field',
        `http://127.0.0.1:4000/captures/bad-input.trailing-bytes/steps/${trailing}?by=field`,
      ]);
      expect(links(html, 'lesson-link')).toEqual(['http://127.0.0.1:4000/lessons/broken-streams', 'http://127.0.0.1:4000/lessons/framing']);
      expect(html).toContain('Lesson: ');
      // The offset alone finds the same step as the field id.
      expect(await resolveStep(path.join(dir, 'captures', 'bad-input.cut-in-payload'), { capture: 'x', offset: CUT_AT - 1 })).toBe(4);
      expect(await resolveStep(path.join(dir, 'captures', 'bad-input.cut-in-payload'), { capture: 'x', field: 'file[1].size' })).toBe(3);
      expect(await resolveStep(path.join(dir, 'captures', 'missing'), { capture: 'x', field: 'count' })).toBeNull();
    });
  });

  it('escapes a finding’s markup, shows its control bytes, and makes no link for a place outside captures/', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en');
      const html = await readFile(path.join(dir, 'report.html'), 'utf8');
      expect(html).not.toContain('<script>');
      expect(html).toContain('&lt;script&gt;alert(');
      expect(html).toContain('\\x01\\x1b[2J');
      // A program's output: a right-to-left override shown as its code, the tab kept.
      expect(html).not.toContain('\u202e');
      expect(html).toContain('\tgpj.\\u202etxt');
      expect(html).not.toContain('etc/');
      const security = html.slice(html.indexOf('data-check="security.html-name"'), html.indexOf('data-check="robustness.stall"'));
      expect(security).not.toContain('step-link');
      const stall = html.slice(html.indexOf('data-check="robustness.stall"'));
      expect(stall).toContain('could not be run');
      expect(stall).toContain('The grader could not run this check: connect ECONNREFUSED 127.0.0.1:8181');
    });
  });

  it('is written in Portuguese when asked, its links keeping the language', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'pt');
      const html = await readFile(path.join(dir, 'report.html'), 'utf8');
      expect(html).toContain('<html lang="pt-BR">');
      expect(html).toContain('Nota:');
      expect(html).toContain('4 de 12 pontos');
      expect(links(html, 'step-link')[0]).toBe('http://127.0.0.1:3000/captures/bad-input.cut-in-payload/steps/4?by=field&lang=pt');
      expect(links(html, 'lesson-link')[0]).toBe('http://127.0.0.1:3000/lessons/broken-streams?lang=pt');
    });
  });
});

describe('a report folder served by the site (wirestep serve --report DIR)', () => {
  it('shows the report at /report, and its failure link opens the step it names', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en');
      const app = createApp({ store: new CaptureStore([path.join(dir, 'captures')]), reportDir: dir, samplesDir: null });
      try {
        const page = await request(app).get('/report').expect(200);
        expect(page.type).toBe('text/html');
        expect(page.text).toContain('<link rel="stylesheet" href="/static/style.css">');
        expect(page.text).not.toContain('wirestep serve --report');
        const [cut] = links(page.text, 'step-link');
        expect(cut).toBe('/captures/bad-input.cut-in-payload/steps/4?by=field');
        const step = await request(app).get(cut!).expect(200);
        expect(step.text).toContain('<h1 class="step-title">Contents of file 1</h1>');
        const pt = await request(app).get('/report?lang=pt').expect(200);
        expect(pt.text).toContain('<html lang="pt-BR">');
        expect(links(pt.text, 'step-link')[0]).toBe('/captures/bad-input.cut-in-payload/steps/4?by=field&lang=pt');
      } finally {
        await app.closeCaptures();
      }
    });
  });

  it('links a traced server’s failure to the step of its own capture where its recv() took part of a field, kept in captures/<check-id>/', async () => {
    await withTempDir(async (dir) => {
      const oneRecv = fileURLToPath(new URL('../fixtures/check/one_recv_per_field.py', import.meta.url));
      const report = await checkServer({ command: [PYTHON, oneRecv, '--port', '{port}', '--out', '{folder}'], only: ['stream.one-byte-writes'], reportDir: dir, serveLimitMs: 3000 });
      await writeReportDir(dir, report, 'en');
      const [check] = report.checks;
      expect(check!.cause?.kind).toBe('server-short-read');
      const field = parseFieldId(String(check!.cause!.values!.field))!;
      // report.json and report.html carry the sentence of the trace after the grader's own.
      const json = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as { checks: { message: string }[] };
      expect(json.checks[0]!.message).toContain('The server’s own calls show where: it read ');
      expect(await readFile(path.join(dir, 'report.html'), 'utf8')).toContain('The server’s own calls show where: it read ');
      const roots = await reportCaptureRoots(dir);
      expect(roots).toEqual([path.join(dir, 'captures'), path.join(dir, 'captures', 'stream.one-byte-writes')]);
      const app = createApp({ store: new CaptureStore(roots), reportDir: dir, samplesDir: null });
      try {
        const page = await request(app).get('/report').expect(200);
        const [link] = links(page.text, 'step-link');
        expect(link).toMatch(/^\/captures\/[^/]+-one_recv_per_field\.py-receiver-[^/]+\/steps\/\d+\?by=field$/);
        const step = await request(app).get(link!).expect(200);
        expect(step.text).toContain(`<h1 class="step-title">${fieldTitle(field, 'en')}</h1>`);
      } finally {
        await app.closeCaptures();
      }
    });
  }, 60_000);

  it('answers 422 with a page, not a crash, when report.json is damaged, and 404 without a report folder', async () => {
    await withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'report.json'), '{"target":"server","checks":[{"id":1}]}');
      const app = createApp({ store: new CaptureStore([dir]), reportDir: dir, samplesDir: null });
      const res = await request(app).get('/report').expect(422);
      expect(res.text).toContain('This grading report cannot be shown: report.json is not a wirestep check report');
      await writeFile(path.join(dir, 'report.json'), '{');
      await expect(readReportDir(dir)).rejects.toThrow(ReportError);
      await request(createApp({ store: new CaptureStore([dir]), samplesDir: null })).get('/report').expect(404);
    });
  });
});
