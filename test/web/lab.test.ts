import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { type Receiver, listFiles, sendFiles, startReceiver } from '../../src/net/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { TEST_OUTPUT, launchChromium, listen } from '../helpers/browser.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { runAssignmentClient } from '../../scripts/lib/harness.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

let browser: Browser;
let root: string;
let receiver: Receiver;
let live: LiveFeed;
let app: ReturnType<typeof createApp>;
let site: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-lab-'));
  receiver = await startReceiver({ port: 0, outDir: path.join(root, 'out'), capturesDir: path.join(root, 'captures') });
  live = new LiveFeed(receiver);
  app = createApp({ store: new CaptureStore([path.join(root, 'captures'), SAMPLES]), live, lab: { port: receiver.address.port, hosts: ['127.0.0.1'] } });
  site = await listen(app);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  live?.close();
  await site?.close();
  await receiver?.close();
  await app?.closeCaptures();
  await rm(root, { recursive: true, force: true });
});

describe('the live page', () => {
  it('shows each transfer as it arrives and as it completes, the reference client.py among them, without a reload', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${site.url}/live`);
    const sendHere = await page.locator('.send-here').textContent();
    expect(sendHere).toContain(`npx wirestep send --host 127.0.0.1 --port ${receiver.address.port}`);
    // The shipped client.py takes the address as options: nobody has to edit it.
    expect(sendHere).toContain(`python3 client.py --host 127.0.0.1 --port ${receiver.address.port} --folder FOLDER`);
    await page.evaluate(() => {
      (window as unknown as { stayed: boolean }).stayed = true;
    });
    const src = path.join(root, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'poema.txt'), 'Minha terra tem palmeiras,\nOnde canta o Sabiá;\n'.repeat(20));
    const files = await listFiles([src]);
    // A transfer the test holds open: the count and 10 bytes of the first name, then nothing
    // until the page has shown it being received.
    const held = net.connect({ host: '127.0.0.1', port: receiver.address.port });
    held.on('error', () => {});
    await once(held, 'connect');
    const heldClosed = once(held, 'close');
    const stream = encodeTransfer([{ name: 'segurando.txt', data: new TextEncoder().encode('ainda aqui\n') }]);
    held.write(stream.subarray(0, 4 + 10));
    await expect.poll(() => page.locator('tbody tr.st-receiving').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => page.locator('tbody tr.st-receiving .now').textContent(), { timeout: 20_000 }).toMatch(/^Name of file 1: \d+ bytes in, \d+ to go$/);
    const fast = Promise.all([1, 2].map(() => sendFiles({ port: receiver.address.port, files, capturesDir: null })));
    const folder = path.join(root, 'arquivos_para_enviar');
    // The assignment's client.py with a limit of its own, not a share of the test's.
    const python = runAssignmentClient(receiver.address.port, folder, { ms: 90_000 });
    held.end(stream.subarray(4 + 10));
    await Promise.all([fast, python, heldClosed]);
    await expect.poll(() => page.locator('tbody tr.st-complete').count(), { timeout: 30_000 }).toBe(4);
    expect(await page.locator('tbody tr').count()).toBe(4);
    // The reference client's ten files are listed as 10 of 10.
    expect(await page.locator('tbody tr .files').allTextContents()).toContain('10 of 10');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    // Each finished transfer links to its capture's steps.
    const link = page.locator('tbody tr.st-complete .link a').first();
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/captures\/[^/]+\/steps\/1\?by=field$/);
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'live.png'), fullPage: true });
    await link.click();
    await page.waitForURL(/steps\/1\?by=field/);
    expect(await page.locator('h1').textContent()).toBe('File count');
    expect(errors).toEqual([]);
    await page.close();
    expect(await readFile(path.join(root, 'out', 'segurando.txt'), 'utf8')).toBe('ainda aqui\n');
    // And the files the reference client sent are on disk, byte for byte.
    for (let i = 1; i <= 10; i++) {
      expect(await readFile(path.join(root, 'out', `arquivo_${i}.txt`), 'utf8')).toBe(`Este é o conteúdo do arquivo ${i}\n`);
    }
  }, 180_000);
});

describe('presenter mode', () => {
  it('fits a 16-byte hex row in a 1280x720 projector without scrolling sideways, in large type', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field&present=1`);
    expect(await page.locator('body').getAttribute('class')).toContain('present');
    const sizes = await page.evaluate(() => {
      const dump = document.querySelector('.dump')!;
      const row = document.querySelectorAll('.dump .row')[1]!;
      return {
        dumpScroll: dump.scrollWidth - dump.clientWidth,
        pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        rowRight: row.getBoundingClientRect().right,
        fontSize: parseFloat(getComputedStyle(dump).fontSize),
        explainSize: parseFloat(getComputedStyle(document.querySelector('.field .explain')!).fontSize),
        header: getComputedStyle(document.querySelector('.top')!).display,
      };
    });
    expect(sizes.dumpScroll).toBe(0);
    expect(sizes.pageScroll).toBe(0);
    expect(sizes.rowRight).toBeLessThanOrEqual(1280);
    expect(sizes.fontSize).toBeGreaterThanOrEqual(20);
    expect(sizes.explainSize).toBeGreaterThanOrEqual(26);
    expect(sizes.header).toBe('none');
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'presenter-1280x720.png') });
    // Keyboard only: the arrow keys step, and presenter mode stays on.
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/steps\/3\?by=field&present=1/);
    await page.close();
  });
});

describe('predict, then reveal', () => {
  it('hides the labels until the student picks a byte, then says right or wrong', async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/captures/demo-10-files/steps/6?by=field&quiz=1`);
    expect(await page.locator('#quiz .ask').textContent()).toBe('Where does “Size of file 2” begin? Click its first byte.');
    // The answer is not in the page: no field marks, no cards, nothing at offset 301 set apart.
    expect(await page.locator('.cards .field, .dump [data-field]').count()).toBe(0);
    expect(await page.content()).not.toMatch(/data-answer|\b301\b/);
    // A wrong byte first: offset 300.
    const cellAt = (offset: number) => page.locator(`.dump .hex .run[data-start]`).evaluateAll((runs, o) => {
      for (const r of runs) {
        const start = Number((r as HTMLElement).dataset.start);
        const i = o - start;
        if (i >= 0 && i < r.children.length) return `${start}:${i}`;
      }
      return null;
    }, offset);
    const wrong = (await cellAt(300))!.split(':');
    await page.locator(`.dump .hex .run[data-start="${wrong[0]}"] i`).nth(Number(wrong[1])).click();
    await expect.poll(() => page.locator('#quiz .verdict').textContent()).toBe('Not quite: you chose offset 300; it begins at offset 301.');
    // Asked, the server told it; the whole step is one link away.
    expect(await page.locator('#quiz .noscript-answer a').isVisible()).toBe(true);
    // The next step is a quiz too.
    expect(await page.locator('link[rel="next"]').getAttribute('href')).toBe('/captures/demo-10-files/steps/7?by=field&quiz=1');

    // With the keyboard, on the projector: arrows to the byte, Enter.
    await page.goto(`${site.url}/captures/demo-10-files/steps/3?by=field&quiz=1&present=1`);
    const first = Number(await page.locator('.dump .hex .run').first().getAttribute('data-start'));
    await page.keyboard.press('ArrowRight');
    for (let o = first; o < 132; o++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#quiz .verdict').textContent()).toBe('Right! It begins at offset 132.');
    await page.close();
  });
});
