import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { type Receiver, startReceiver } from '../../src/net/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { seriousViolations } from '../helpers/axe.js';
import { TEST_OUTPUT, launchChromium, listen } from '../helpers/browser.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const PROJECTOR = { width: 1280, height: 720 } as const;
const PHONE = { width: 390, height: 844 } as const;
/** Steps of each sample, from the first, that the presenter test opens each way. */
const FIRST_STEPS = 5;

/** The pages issue 19 names, one of each kind. */
const PAGES = [
  ['home', '/'],
  ['overview', '/captures/demo-10-files'],
  ['field-step', '/captures/demo-10-files/steps/2?by=field'],
  ['op-step', '/captures/demo-10-files/steps/2?by=op'],
  ['lesson', '/lessons/framing'],
  ['presenter', '/captures/demo-10-files/steps/4?by=field&present=1'],
  ['quiz', '/captures/demo-10-files/steps/3?by=field&quiz=1'],
  ['live', '/live'],
] as const;

let browser: Browser;
let root: string;
let receiver: Receiver;
let live: LiveFeed;
let app: ReturnType<typeof createApp>;
let site: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-views-'));
  receiver = await startReceiver({ port: 0, outDir: path.join(root, 'out'), capturesDir: path.join(root, 'captures') });
  live = new LiveFeed(receiver);
  app = createApp({ store: new CaptureStore([SAMPLES]), live, lab: { port: receiver.address.port, hosts: ['127.0.0.1'] } });
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

/** A page at `size`, in a context that lets axe in past the site's CSP; closed by `use`'s end. */
async function withPage<T>(size: { width: number; height: number }, use: (context: BrowserContext) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ viewport: size, bypassCSP: true });
  try {
    return await use(context);
  } finally {
    await context.close();
  }
}

/** `url` with `lang=pt` added. */
/** `url` in `lang`, said in the address: the site keeps a chosen language in a cookie, so each visit names its own. */
function inLanguage(url: string, lang: 'en' | 'pt'): string {
  return `${url}${url.includes('?') ? '&' : '?'}lang=${lang}`;
}

describe('the site under axe-core in Chromium', () => {
  for (const [sizeName, size] of [['projector', PROJECTOR], ['phone', PHONE]] as const) {
    it(`has no serious or critical violation on any kind of page, in both languages, at ${sizeName} size`, async () => {
      await withPage(size, async (context) => {
        const page = await context.newPage();
        const found: string[] = [];
        for (const [name, url] of PAGES) {
          for (const lang of ['en', 'pt'] as const) {
            await page.goto(site.url + inLanguage(url, lang));
            await page.locator('h1').first().waitFor();
            for (const v of await seriousViolations(page)) found.push(`${name} ${lang}: ${v}`);
            if (lang === 'en') await page.screenshot({ path: path.join(TEST_OUTPUT, `views-${name}-${sizeName}.png`) });
          }
        }
        expect(found).toEqual([]);
      });
      // A ceiling for 16 page loads and axe runs on two busy cores, not a timing window.
    }, 480_000);
  }
});

/** Contrast ratio (WCAG 2) of an element's text colour on the first opaque background behind it. */
async function textContrast(page: import('playwright-core').Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((el) => {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    let bg = [255, 255, 255];
    for (let at: Element | null = el; at; at = at.parentElement) {
      const c = rgb(getComputedStyle(at).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) {
        bg = c.slice(0, 3);
        break;
      }
    }
    const lum = (c: number[]): number => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const style = getComputedStyle(el);
    if (Number(style.opacity) < 1) return 0;
    const [a, b] = [lum(rgb(style.color)), lum(bg)].sort((x, y) => y - x) as [number, number];
    return (a + 0.05) / (b + 0.05);
  });
}

/** Bottom edges (px from the top of the viewport) of the parts of a presenter page that must be above the fold. */
async function presenterBottoms(page: import('playwright-core').Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    // Title, counter and buttons are on every step; a dump and an explanation where the step moved bytes.
    const parts = { counter: '.counter', buttons: 'nav.steps', title: 'h1', dump: '.dump', explanation: 'section.field .explain' };
    const bottoms: Record<string, number> = {};
    for (const [part, sel] of Object.entries(parts)) {
      const el = document.querySelector(sel);
      if (el) bottoms[part] = el.getBoundingClientRect().bottom;
      else if (['counter', 'buttons', 'title'].includes(part)) bottoms[part] = Number.POSITIVE_INFINITY;
    }
    return bottoms;
  });
}

describe('presenter mode on a 1280x720 projector', () => {
  it('fits each kind of step and its explanation above the fold, pages long dumps, and steps with buttons and clicker keys', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      const steps = [
        ...[1, 2, 3, 4].map((n) => `/captures/demo-10-files/steps/${n}?by=field`),
        ...[2, 3, 4, 5].map((n) => `/captures/demo-10-files/steps/${n}?by=op`),
        '/captures/binary-3mib/steps/4?by=field',
        '/captures/binary-3mib/steps/4?by=field&page=3',
      ];
      for (const [i, url] of steps.entries()) {
        await page.goto(`${site.url}${url}&present=1`);
        await page.screenshot({ path: path.join(TEST_OUTPUT, `presenter-${i + 1}.png`) });
        const bottoms = await presenterBottoms(page);
        for (const [part, px] of Object.entries(bottoms)) expect(px, `${part} of ${url}`).toBeLessThanOrEqual(PROJECTOR.height);
        // The counter is readable from the back of the room.
        expect(await page.locator('.counter').evaluate((el) => parseFloat(getComputedStyle(el).fontSize)), url).toBeGreaterThanOrEqual(24);
        // Bytes of neighbouring fields keep WCAG AA contrast.
        if (await page.locator('.dump .run.ctx i').count() > 0) expect(await textContrast(page, '.dump .run.ctx i'), url).toBeGreaterThanOrEqual(4.5);
      }
      // A 3 MiB payload is paged in presenter mode, and the page's place shows above the dump.
      await page.goto(`${site.url}/captures/binary-3mib/steps/4?by=field&page=3&present=1`);
      expect(await page.locator('.page-at').textContent()).toMatch(/^Page 3 of [\d,]+\.$/);
      expect(await page.locator('.dump .row:not(.head)').count()).toBeLessThanOrEqual(9);
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'presenter-paged-payload.png') });

      await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field&present=1`);
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'presenter-name.png') });
      const stepNow = (): string => new URL(page.url()).pathname.split('/').pop()!;
      await page.getByRole('link', { name: 'Next' }).click();
      await page.waitForURL(/steps\/3\?/);
      await page.getByRole('link', { name: 'Previous' }).click();
      await page.waitForURL(/steps\/2\?/);
      for (const [key, to] of [['PageDown', '3'], ['Space', '4'], ['ArrowDown', '5'], ['PageUp', '4'], ['ArrowUp', '3']] as const) {
        await page.keyboard.press(key);
        await page.waitForURL(new RegExp(`steps/${to}\\?by=field&present=1$`));
        expect(stepNow(), key).toBe(to);
      }
      expect(page.url()).toContain('present=1');
    });
  });

  it('fits the first steps of every sample above the fold, by field and by operation', async () => {
    const samples = (await readdir(SAMPLES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(samples.length).toBeGreaterThan(20);
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      const over: string[] = [];
      for (const id of samples) {
        const info = (await (await fetch(`${site.url}/api/captures/${id}?fields=0,1`)).json()) as { fieldSteps: number; opSteps: number };
        const steps = [
          ...Array.from({ length: Math.min(FIRST_STEPS, info.fieldSteps) }, (_, i) => `/captures/${id}/steps/${i + 1}?by=field`),
          ...Array.from({ length: Math.min(FIRST_STEPS, info.opSteps) }, (_, i) => `/captures/${id}/steps/${i + 1}?by=op`),
        ];
        for (const url of steps) {
          await page.goto(`${site.url}${url}&present=1&lang=en`);
          for (const [part, px] of Object.entries(await presenterBottoms(page))) {
            if (px > PROJECTOR.height) {
              over.push(`${url} ${part} ${Math.round(px)}`);
              await page.screenshot({ path: path.join(TEST_OUTPUT, `presenter-over-${id}-${url.split('/').pop()!.replace(/\W+/g, '-')}.png`) });
            }
          }
        }
      }
      expect(over).toEqual([]);
    });
    // A ceiling for some 200 page loads on two busy cores, not a timing window.
  }, 480_000);

  it('leaves Home and End to scrolling on a page taller than the screen, and steps with them where nothing scrolls', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      const url = `${site.url}/captures/binary-3mib/steps/4?by=field&page=3&lang=en`;
      await page.goto(url);
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(PROJECTOR.height * 2);
      // Chromium animates keyboard scrolling: wait for each scroll to reach its end, however slow
      // two busy cores make the animation, before the next key.
      const bottom = await page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);
      await page.keyboard.press('End');
      await expect.poll(() => page.evaluate(() => Math.round(window.scrollY)), { timeout: 30_000 }).toBe(bottom);
      await page.keyboard.press('Home');
      await expect.poll(() => page.evaluate(() => window.scrollY), { timeout: 30_000 }).toBe(0);
      expect(page.url()).toBe(url);
      // Presenter mode does not scroll: Home and End step to the first and last field.
      await page.goto(`${site.url}/captures/demo-10-files/steps/4?by=field&present=1&lang=en`);
      await page.keyboard.press('End');
      await page.waitForURL(/steps\/31\?by=field&present=1/);
      await page.keyboard.press('Home');
      await page.waitForURL(/steps\/1\?by=field&present=1/);
    });
  });

  it('leaves PageDown to scrolling outside presenter mode', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      // A payload page: far taller than the screen, so PageDown has somewhere to scroll.
      await page.goto(`${site.url}/captures/binary-3mib/steps/4?by=field&page=3`);
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(PROJECTOR.height * 2);
      await page.keyboard.press('PageDown');
      // Chromium animates keyboard scrolling: a condition waited on, as slow as busy cores make it.
      await expect.poll(() => page.evaluate(() => window.scrollY), { timeout: 30_000 }).toBeGreaterThan(0);
      expect(page.url()).toMatch(/steps\/4\?by=field&page=3$/);
    });
  });
});

describe('the site on a 390x844 phone', () => {
  it('is never wider than the screen, wraps the dump to 8 bytes a line beside its text, stacks tables and wraps the header', async () => {
    await withPage(PHONE, async (context) => {
      const page = await context.newPage();
      for (const [name, url] of PAGES) {
        for (const lang of ['en', 'pt'] as const) {
          await page.goto(site.url + inLanguage(url, lang));
          expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} ${lang}`).toBeLessThanOrEqual(PHONE.width);
          if (lang === 'en') await page.screenshot({ path: path.join(TEST_OUTPUT, `phone-${name}.png`), fullPage: true });
        }
      }

      await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field&lang=en`);
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'phone-step.png') });
      const layout = await page.evaluate(() => {
        const row = document.querySelectorAll('.dump .row:not(.head)')[1]!;
        const hex = [...row.querySelectorAll('.hex i')].map((i) => i.getBoundingClientRect());
        const txt = [...row.querySelectorAll('.txt i')].map((i) => i.getBoundingClientRect());
        const dump = document.querySelector('.dump')!;
        return {
          hexTops: hex.map((r) => Math.round(r.top)),
          txtTops: txt.map((r) => Math.round(r.top)),
          txtRight: Math.max(...txt.map((r) => r.right)),
          half: (row.querySelector('.addr .half') as HTMLElement).innerText.trim(),
          halfVisible: (row.querySelector('.addr .half') as HTMLElement).getBoundingClientRect().height > 0,
          dumpScrolls: dump.scrollWidth > dump.clientWidth,
        };
      });
      // Bytes 0-7 on one line, 8-15 on the next, in both columns.
      expect(new Set(layout.hexTops.slice(0, 8)).size).toBe(1);
      expect(new Set(layout.hexTops.slice(8)).size).toBe(1);
      expect(layout.hexTops[8]).toBeGreaterThan(layout.hexTops[0]!);
      expect(layout.txtTops[8]).toBeGreaterThan(layout.txtTops[0]!);
      expect(layout.txtTops[0]).toBe(layout.hexTops[0]);
      // The second line has its own address, and the text column is on screen without scrolling.
      expect(layout.half).toBe('00000018');
      expect(layout.halfVisible).toBe(true);
      expect(layout.txtRight).toBeLessThanOrEqual(PHONE.width);
      expect(layout.dumpScrolls).toBe(false);

      // Tables stack: a capture's cells are one above the other, each labelled.
      await page.goto(`${site.url}/`);
      const cells = await page.locator('table.captures tbody tr').first().locator('td').evaluateAll((tds) => tds.map((td) => ({ top: td.getBoundingClientRect().top, label: td.getAttribute('data-label') })));
      expect(cells.length).toBeGreaterThan(2);
      for (let i = 1; i < cells.length; i++) expect(cells[i]!.top).toBeGreaterThan(cells[i - 1]!.top);
      expect(cells[1]!.label).toBe('Files');
      // The header wraps onto more lines instead of running off the screen.
      const header = await page.locator('header.top').evaluate((el) => ({ height: el.getBoundingClientRect().height, scrolls: el.scrollWidth > el.clientWidth }));
      expect(header.scrolls).toBe(false);
    });
  });
});

describe('wayfinding', () => {
  it('shows the real place in breadcrumbs, links Captures from the header and says on the home page where to start', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      const crumbs = async (): Promise<string> => (await page.locator('nav.crumbs').innerText()).replace(/\s*›\s*/g, ' › ').replace(/\s+/g, ' ').trim();
      await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field`);
      expect(await crumbs()).toBe('Captures › demo-10-files › step 2 of 31');
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'wayfinding-step.png') });
      await page.goto(`${site.url}/lessons/framing?lang=pt`);
      expect(await crumbs()).toMatch(/^Aulas › \S/);
      await page.locator('header.top').getByRole('link', { name: 'Capturas' }).click();
      await page.waitForURL(/\/\?lang=pt$/);
      const start = page.locator('section.start-here a');
      expect(await start.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['/captures/demo-10-files/steps/1?by=field&lang=pt', '/lessons?lang=pt']);
      // The samples stay grouped as before, below.
      expect(await page.locator('section.group h2').count()).toBeGreaterThan(1);
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'wayfinding-home.png') });
    });
  });
});

/** Machado, Oliveira and Fernandes (2009) at full severity, on linear RGB. */
const DEFICIENCIES = {
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  none: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
} as const;

/** `#rrggbb` as linear RGB from 0 to 1. */
function linear(hex: string): number[] {
  return [1, 3, 5].map((i) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
}

/** CIELAB (D65) of a linear RGB colour. */
function cielab([r, g, b]: number[]): number[] {
  const x = (0.4124 * r! + 0.3576 * g! + 0.1805 * b!) / 0.95047;
  const y = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  const z = (0.0193 * r! + 0.1192 * g! + 0.9505 * b!) / 1.08883;
  const f = (t: number): number => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** WCAG contrast of two `#rrggbb` colours. */
function contrastOf(a: string, b: string): number {
  const lum = (c: number[]): number => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
  const [hi, lo] = [lum(linear(a)), lum(linear(b))].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('colour is never the only cue', () => {
  it('keeps the field colours apart under simulated deuteranopia and protanopia, marks field starts with a bar and draws a 3:1 focus ring everywhere', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      await page.goto(`${site.url}/captures/demo-10-files/steps/3?by=field`);
      const palette = await page.evaluate(() => {
        const css = getComputedStyle(document.documentElement);
        return Object.fromEntries(['count', 'name', 'size', 'payload', 'trailing'].map((k) => [k, [css.getPropertyValue(`--${k}`).trim(), css.getPropertyValue(`--${k}-bg`).trim()]]));
      });
      const kinds = Object.keys(palette);
      for (const [deficiency, matrix] of Object.entries(DEFICIENCIES)) {
        const seen = kinds.map((k) => cielab(matrix.map((row) => {
          const c = linear(palette[k]![0]!);
          return Math.min(1, Math.max(0, row[0] * c[0]! + row[1] * c[1]! + row[2] * c[2]!));
        })));
        for (let i = 0; i < kinds.length; i++) {
          for (let j = i + 1; j < kinds.length; j++) {
            const [a, b] = [seen[i]!, seen[j]!];
            expect(Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!), `${kinds[i]}/${kinds[j]} under ${deficiency}`).toBeGreaterThanOrEqual(15);
          }
        }
      }
      for (const [k, [fg, bg]] of Object.entries(palette)) {
        expect(contrastOf(fg!, '#ffffff'), k).toBeGreaterThanOrEqual(4.5);
        expect(contrastOf(fg!, bg!), `${k} on its tint`).toBeGreaterThanOrEqual(4.5);
      }
      // Each field's first byte has a bar before it, in the hex column: the size field starts at 132.
      const bar = await page.locator('.dump .hex .run[data-start="132"]').evaluate((el) => getComputedStyle(el).boxShadow);
      expect(bar).toMatch(/inset/);
      // What a reader with deuteranopia or protanopia sees, to look at.
      const cdp = await context.newCDPSession(page);
      for (const type of ['deuteranopia', 'protanopia'] as const) {
        await cdp.send('Emulation.setEmulatedVisionDeficiency', { type });
        await page.screenshot({ path: path.join(TEST_OUTPUT, `colour-${type}.png`) });
      }
      await cdp.send('Emulation.setEmulatedVisionDeficiency', { type: 'none' });

      // The focus ring: a black outline inside a yellow ring, so one of them keeps 3:1 on the dark header and on white.
      for (const selector of ['header.top a.brand', 'nav.steps a[rel="next"]', '.dump']) {
        await page.locator(selector).first().focus();
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Tab');
        const ring = await page.evaluate(() => {
          const el = document.activeElement!;
          const style = getComputedStyle(el);
          let bg = 'rgb(255, 255, 255)';
          for (let at = el.parentElement; at; at = at.parentElement) {
            const c = getComputedStyle(at).backgroundColor;
            if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') {
              bg = c;
              break;
            }
          }
          return { outline: style.outlineColor, width: parseFloat(style.outlineWidth), shadow: style.boxShadow, bg };
        });
        const hex = (rgb: string): string => `#${(rgb.match(/\d+/g) ?? []).slice(0, 3).map((v) => Number(v).toString(16).padStart(2, '0')).join('')}`;
        const shadow = hex(ring.shadow);
        expect(ring.width, selector).toBeGreaterThanOrEqual(2);
        expect(Math.max(contrastOf(hex(ring.outline), hex(ring.bg)), contrastOf(shadow, hex(ring.bg))), selector).toBeGreaterThanOrEqual(3);
      }
    });
  });
});

describe('the dump text column', () => {
  it('shows é where C3 A9 decodes inside a payload, with both bytes still in the hex column', async () => {
    await withPage(PHONE, async (context) => {
      const page = await context.newPage();
      await page.goto(`${site.url}/captures/demo-10-files/steps/4?by=field`);
      const text = (await page.locator('.dump .row:not(.head) .txt .run:not(.ctx)').allTextContents()).join('');
      expect(text).toBe('Este é o conteúdo do arquivo 1.');
      const hex = (await page.locator('.dump .row:not(.head) .hex .run:not(.ctx) i').allTextContents()).join(' ');
      expect(hex).toContain('20 C3 A9 20');
      // One column a byte still: as many text cells as hex cells.
      expect(await page.locator('.dump .row:not(.head) .txt .run:not(.ctx) i').count()).toBe(33);
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'utf8-text-column.png') });
    });
  });
});

describe('bytes and fields both ways', () => {
  it('opens the field of a clicked byte, and switching field ↔ operation lands on the write that carried it and back', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      // Step 4 by operation is the write of file 1's name: a click on its 10th byte opens the name's field step.
      await page.goto(`${site.url}/captures/demo-10-files/steps/4?by=op&present=1`);
      await page.locator('.dump .hex .run.k-name:not(.ctx) i').nth(9).click();
      await page.waitForURL(/steps\/2\?by=field&present=1$/);
      expect(await page.locator('h1').textContent()).toBe('Name of file 1');
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'bytes-to-field.png') });
      // By operation from the name lands on the write that carried it, not on step 1 …
      await page.locator('a[data-key="switch"]').click();
      await page.waitForURL(/steps\/4\?by=op&present=1$/);
      // … and back by field lands on the first field that write carried.
      await page.locator('a[data-key="switch"]').click();
      await page.waitForURL(/steps\/2\?by=field&present=1$/);
      // A byte of a neighbouring field, shown as context on the count's step, opens that field.
      await page.goto(`${site.url}/captures/demo-10-files/steps/1?by=field`);
      await page.locator('.dump .hex .run.k-name i').first().click();
      await page.waitForURL(/steps\/2\?by=field$/);
    });
  });
});

describe('the field tree', () => {
  it('is a list of links the keyboard walks, marks the current field without colour, and fits a phone', async () => {
    await withPage(PROJECTOR, async (context) => {
      const page = await context.newPage();
      await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field&lang=en`);
      const current = page.locator('.tree a[aria-current="step"]');
      expect(await current.textContent()).toBe('file[1].name');
      // Beside colour: a bar, heavier type and words.
      const cue = await current.evaluate((a) => ({ bar: parseFloat(getComputedStyle(a.parentElement!).borderLeftWidth), weight: Number(getComputedStyle(a).fontWeight), words: a.parentElement!.querySelector('.here')?.textContent ?? '' }));
      expect(cue.bar).toBeGreaterThanOrEqual(3);
      expect(cue.weight).toBeGreaterThanOrEqual(700);
      expect(cue.words).toBe('◀ this step');
      // Tab goes from the current field to the next one, Enter opens its step.
      await current.focus();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('file[1].size');
      await page.keyboard.press('Enter');
      await page.waitForURL(/steps\/3\?by=field/);
      expect(await page.locator('.tree a[aria-current="step"]').textContent()).toBe('file[1].size');
      await page.locator('.tree').screenshot({ path: path.join(TEST_OUTPUT, 'field-tree.png') });
      // Collapsed in presenter mode, and opened with the keyboard from its summary.
      await page.goto(`${site.url}/captures/demo-10-files/steps/2?by=field&present=1&lang=en`);
      expect(await page.locator('.tree').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
      await page.locator('.tree summary').focus();
      await page.keyboard.press('Enter');
      expect(await page.locator('.tree').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    });
    await withPage(PHONE, async (context) => {
      const page = await context.newPage();
      for (const url of ['/captures/long-name-derails/steps/2?by=field', '/captures/demo-10-files/steps/14?by=field']) {
        await page.goto(`${site.url}${url}&lang=en`);
        expect(await page.locator('.tree').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
        expect(await page.evaluate(() => document.documentElement.scrollWidth), url).toBeLessThanOrEqual(PHONE.width);
      }
      await page.locator('.tree').screenshot({ path: path.join(TEST_OUTPUT, 'phone-field-tree.png') });
    });
  });
});
