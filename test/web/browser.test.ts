import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { TEST_OUTPUT, launchChromium, listen } from '../helpers/browser.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

let browser: Browser;
let site: Awaited<ReturnType<typeof listen>>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  app = createApp({ store: new CaptureStore([SAMPLES]) });
  site = await listen(app);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await app?.closeCaptures();
});

describe('stepping through the demo capture in Chromium', () => {
  it('steps with the keyboard through count, name, size and payload of file 1, lighting their bytes', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${site.url}/captures/demo-10-files`);
    await page.getByRole('link', { name: 'Step through its 31 fields' }).click();
    await expect.poll(() => page.url()).toContain('/captures/demo-10-files/steps/1?by=field');

    const focusHex = () => page.locator('.dump .hex .run:not(.ctx) i').allTextContents();
    const explanation = () => page.locator('section.field .explain').first().textContent();

    expect(await page.locator('h1').textContent()).toBe('File count');
    expect(await focusHex()).toEqual(['00', '00', '00', '0A']);
    expect(await explanation()).toContain('00 00 00 0A is 10 files');

    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/steps\/2\?by=field/);
    expect(await page.locator('h1').textContent()).toBe('Name of file 1');
    const name = await focusHex();
    expect(name.length).toBe(128);
    expect(name.slice(0, 13).join(' ')).toBe('61 72 71 75 69 76 6F 5F 31 2E 74 78 74');
    expect(await page.locator('.dump .hex .run:not(.ctx) i.p').count()).toBe(115);
    expect(await explanation()).toContain('followed by 115 spaces (0x20)');

    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/steps\/3\?by=field/);
    expect(await focusHex()).toEqual(['00', '00', '00', '00', '00', '00', '00', '21']);
    expect(await explanation()).toContain('A size of 33 bytes');

    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/steps\/4\?by=field/);
    const payload = await focusHex();
    expect(payload.length).toBe(33);
    expect(Buffer.from(payload.join(''), 'hex').toString('utf8')).toBe('Este é o conteúdo do arquivo 1\n');
    expect(await explanation()).toContain('31 characters of UTF-8 text, 2 of them longer than one byte');

    // Pointing at the explanation lights exactly the field's bytes, and back.
    await page.locator('section.field').first().hover();
    expect(await page.locator('.dump .hex .run.lit i').count()).toBe(33);
    await page.locator('.dump .hex .run.k-size').first().hover();
    expect(await page.locator('.dump .hex .run.lit i').count()).toBe(8);
    await page.locator('.dump .hex .run.k-payload:not(.ctx) i').nth(5).hover();
    expect(await page.locator('.byte-info').textContent()).toBe('Byte at stream offset 145 (0x91) · byte 5 of “Contents of file 1”, counting from 0');

    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(/steps\/3\?by=field/);
    // Home and End step on a page that fits its window (on a taller one they scroll, as views.test checks).
    const size = page.viewportSize()!;
    await page.setViewportSize({ width: size.width, height: 4000 });
    await page.keyboard.press('End');
    await page.waitForURL(/steps\/31\?by=field/);
    await page.keyboard.press('Home');
    await page.waitForURL(/steps\/1\?by=field/);
    await page.setViewportSize(size);
    await page.goto(`${site.url}/captures/demo-10-files/steps/4?by=field`);
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'step-payload-1.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('steps with plain links when JavaScript is off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${site.url}/captures/demo-10-files/steps/1?by=op`);
    await page.getByRole('link', { name: 'Next' }).click();
    await page.waitForURL(/steps\/2\?by=op/);
    await page.getByRole('link', { name: 'Last' }).click();
    await page.waitForURL(/steps\/\d+\?by=op/);
    expect(await page.locator('.stepbar .position').textContent()).toMatch(/^Step (\d+) of \1/);
    await context.close();
  });

  it.each([
    ['html-script-name', '<script>alert(1)</script>.txt'],
    ['html-img-name', '<img src=x onerror=alert(1)>'],
  ])('shows the name of %s as text and runs no script from it', async (id, name) => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    for (const url of [`/captures/${id}`, `/captures/${id}/steps/2`, `/captures/${id}/steps/1?by=op`, '/']) {
      await page.goto(`${site.url}${url}`);
      await page.waitForLoadState('load');
      if (url !== '/' && !url.endsWith('by=op')) expect(await page.locator('body').innerText()).toContain(name);
      expect(await page.locator('img[src="x"], main script').count()).toBe(0);
    }
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('switches a step page and a lesson to Portuguese with the language link', async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/captures/demo-10-files/steps/1?by=field`);
    expect(await page.locator('h1').textContent()).toBe('File count');
    await page.getByRole('link', { name: 'Português' }).click();
    await page.waitForURL(/lang=pt/);
    expect(await page.locator('h1').textContent()).toBe('Quantidade de arquivos');
    expect(await page.locator('section.field .explain').first().textContent()).toContain('00 00 00 0A são 10 arquivos');
    // The language stays on as one steps on.
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/steps\/2\?by=field&lang=pt/);
    expect(await page.locator('h1').textContent()).toBe('Nome do arquivo 1');

    // Portuguese, chosen above, sticks: English is asked for by name.
    await page.goto(`${site.url}/lessons/sockets?lang=en`);
    const english = await page.locator('article h1').textContent();
    await page.getByRole('link', { name: 'Português' }).click();
    await page.waitForURL(/\/lessons\/sockets\?lang=pt/);
    expect(await page.locator('html').getAttribute('lang')).toBe('pt-BR');
    expect(await page.locator('article h1').textContent()).not.toBe(english);
    expect(await page.locator('.top').textContent()).toContain('Aulas');
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'lesson-sockets-pt.png'), fullPage: true });
    await page.close();
  });
});
