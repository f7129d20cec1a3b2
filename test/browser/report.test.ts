import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { writeClassReport } from '../../src/check/each.js';
import { writeReportDir } from '../../src/check/report/index.js';
import { createApp } from '../../src/web/app.js';
import { axeViolations as allViolations } from '../helpers/axe.js';
import { TEST_OUTPUT, launchChromium, listen } from '../helpers/browser.js';
import { withTempDir } from '../helpers/net.js';
import { makeReportFolder } from '../check/report-fixture.js';

const SIZES = [
  { name: 'projector', width: 1920, height: 1080 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** axe-core's violations on the page as it is now, every impact: rule id and the first offending element. */
async function axeViolations(page: Page): Promise<string[]> {
  return (await allViolations(page)).map((v) => `${v.id}: ${v.html}`);
}

describe('the HTML grading report in Chromium', () => {
  it('passes axe at projector and phone sizes, as a file and served, and a failure link opens the step it names', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      const app = createApp({ store: new CaptureStore([path.join(dir, 'captures')]), reportDir: dir, samplesDir: null });
      const site = await listen(app);
      try {
        await writeReportDir(dir, report, 'en', { siteUrl: site.url });
        // The site's CSP forbids inline scripts: axe goes in around it, the pages' own scripts are untouched.
        const context = await browser.newContext({ bypassCSP: true });
        try {
          const page = await context.newPage();
          for (const size of SIZES) {
            await page.setViewportSize({ width: size.width, height: size.height });
            for (const [where, url] of [['file', pathToFileURL(path.join(dir, 'report.html')).href], ['served', `${site.url}/report?lang=pt`]] as const) {
              await page.goto(url);
              await expect.poll(() => page.locator('h1').textContent()).toMatch(/Grading report|Relatório de correção/);
              expect(await axeViolations(page), `${where} at ${size.name}`).toEqual([]);
              // Nothing wider than the screen: no sideways scrolling on a phone.
              expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${where} at ${size.name}`).toBe(true);
              await page.screenshot({ path: path.join(TEST_OUTPUT, `report-${where}-${size.name}.png`), fullPage: true });
            }
          }
          // From the file, the cut payload's link opens step 4 of its capture on the site: the payload of file 1.
          // (In a browser that has not chosen Portuguese on the site: that choice would stick.)
          await context.clearCookies();
          await page.goto(pathToFileURL(path.join(dir, 'report.html')).href);
          await page.locator('[data-check="bad-input.cut-in-payload"] a.step-link').click();
          await page.waitForURL(/\/captures\/bad-input\.cut-in-payload\/steps\/4\?by=field$/);
          expect(await page.locator('h1.step-title').textContent()).toBe('Contents of file 1');
          // From the served report, in Portuguese, the same link keeps the language.
          await page.goto(`${site.url}/report?lang=pt`);
          await page.getByRole('link', { name: 'Abrir o passo 4 da captura, onde deu errado' }).click();
          await page.waitForURL(/\/steps\/4\?by=field&lang=pt$/);
          expect(await page.locator('h1.step-title').textContent()).toBe('Conteúdo do arquivo 1');
        } finally {
          await context.close();
        }
      } finally {
        await site.close();
        await app.closeCaptures();
      }
    });
  });

  it('shows the class table accessibly at both sizes', async () => {
    await withTempDir(async (dir) => {
      await writeClassReport(dir, {
        target: 'server',
        pattern: 'entregas/*/server.py',
        limitMs: 120_000,
        rows: [
          { student: 'entregas/ana', file: 'entregas/ana/server.py', status: 'graded', score: 30, maxScore: 40, failed: ['bad-input.cut-in-payload', 'security.html-name'], report: 'students/entregas-ana', message: null, durationMs: 40_000 },
          { student: 'entregas/<b>carla</b>', file: 'entregas/<b>carla</b>/server.py', status: 'timed-out', score: 0, maxScore: 40, failed: [], report: null, message: null, durationMs: 120_000 },
          { student: 'entregas/duda', file: 'entregas/duda/server.py', status: 'graded', score: 40, maxScore: 40, failed: [], report: 'students/entregas-duda', message: null, durationMs: 30_000 },
        ],
      }, 'pt');
      const page = await browser.newPage();
      try {
        for (const size of SIZES) {
          await page.setViewportSize({ width: size.width, height: size.height });
          await page.goto(pathToFileURL(path.join(dir, 'class.html')).href);
          expect(await page.locator('h1').textContent()).toBe('Correção da turma: os servidores');
          expect(await page.locator('tbody tr').count()).toBe(3);
          expect(await page.locator('tbody tr b').count()).toBe(0);
          expect(await axeViolations(page), size.name).toEqual([]);
          expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), size.name).toBe(true);
          await page.screenshot({ path: path.join(TEST_OUTPUT, `class-${size.name}.png`), fullPage: true });
        }
        // The same check does see a violation when there is one.
        await page.setContent('<!doctype html><html lang="en"><title>t</title><main><img src="data:,"></main></html>');
        expect((await axeViolations(page)).map((v) => v.split(':')[0])).toContain('image-alt');
      } finally {
        await page.close();
      }
    });
  });
});
