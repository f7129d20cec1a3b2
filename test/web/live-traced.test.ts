import { execFileSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV } from '../../scripts/lib/harness.js';
import { CaptureReader, CaptureStore, type LiveEvent } from '../../src/capture/index.js';
import { type LiveInbox, openLiveInbox } from '../../src/net/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { connectLive, startTraced } from '../../src/trace/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { TEST_OUTPUT, launchChromium, listen } from '../helpers/browser.js';

const MIB = 1024 * 1024;
const PY = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

let browser: Browser;
let root: string;
let inbox: LiveInbox;
let live: LiveFeed;
let app: ReturnType<typeof createApp>;
let site: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-live-trace-'));
  inbox = await openLiveInbox(path.join(root, 'captures'));
  live = new LiveFeed(inbox);
  app = createApp({ store: new CaptureStore([path.join(root, 'captures')]), samplesDir: null, live, lab: { port: 8181, hosts: ['127.0.0.1'] } });
  site = await listen(app);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  live?.close();
  await site?.close();
  await inbox?.close();
  await app?.closeCaptures();
  await rm(root, { recursive: true, force: true });
});

describe('the live page with a traced server.py', () => {
  it('shows how far server.py has read while a transfer is held open, then its outcome and a link to its capture', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${site.url}/live`);
    expect(await page.locator('p.hint').allTextContents()).toContain(
      'Programs traced with wirestep trace into this lab’s captures folder show here too, as they run: each row says which program made the calls. npx wirestep trace --captures CAPTURES --server "python3 server.py --port 0" --client "python3 client.py --port {port}"',
    );
    const publisher = await connectLive(path.join(root, 'captures'));
    expect(publisher).not.toBeNull();
    const run = startTraced({
      argv: [PY, ASSIGNMENT.server, '--port', '0', '--out', path.join(root, 'out')],
      capturesDir: path.join(root, 'captures'),
      env: PY_ENV,
      stdio: 'ignore',
      live: publisher!.send,
    });
    const held = new net.Socket();
    held.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const stop = run.recorder.watch(() => {
          if (run.recorder.listening) resolve();
        });
        run.done.then(() => reject(new Error('server.py ended before it listened')), reject);
        if (run.recorder.listening) resolve();
        void run.done.finally(stop);
      });
      held.connect({ host: '127.0.0.1', port: run.recorder.listening!.port });
      await once(held, 'connect');
      // A 4 MiB file held open after 2 MiB of its contents: server.py reads what came and waits.
      const data = new Uint8Array(4 * MIB).map((_, i) => i % 251);
      const stream = encodeTransfer([{ name: 'grande.bin', data }]);
      const heldAt = 4 + 128 + 8 + 2 * MIB;
      held.write(stream.subarray(0, heldAt));
      const row = page.locator('tbody tr');
      // The tracer reports data calls in batches (connects, accepts and closes at once), so the
      // page is as far as the last batch: some of the contents, none past what was sent.
      const now = /^“grande\.bin” · Contents of file 1: ([\d,]+) bytes in, ([\d,]+) to go$/;
      await expect.poll(async () => now.test((await row.locator('.now').textContent()) ?? ''), { timeout: 60_000 }).toBe(true);
      const [, have, needed] = now.exec((await row.locator('.now').textContent())!)!.map((x) => Number(x.replace(/,/g, '')));
      expect(have).toBeGreaterThan(0);
      expect(have).toBeLessThanOrEqual(2 * MIB);
      expect(have! + needed!).toBe(4 * MIB);
      expect(await row.getAttribute('class')).toBe('st-receiving');
      expect(await row.locator('.program').textContent()).toBe('as server.py read it (traced)');
      expect(await row.locator('.status').textContent()).toBe('receiving');
      // A page opened later, in Portuguese, gets the same row from the snapshot, in its words.
      const pt = await (await fetch(`${site.url}/live?lang=pt`)).text();
      expect(pt).toContain('como o server.py leu (rastreado)');
      expect(pt).toContain('“grande.bin” · Conteúdo do arquivo 1:');
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'live-traced.png'), fullPage: true });

      held.end(stream.subarray(heldAt));
      await expect.poll(() => row.getAttribute('class'), { timeout: 30_000 }).toBe('st-complete');
      expect(await row.locator('.bytes').textContent()).toBe(stream.length.toLocaleString('en-US'));
      expect(await row.locator('.files').textContent()).toBe('1 of 1');
      const id = (await row.locator('.link a').textContent())!;
      const reader = await CaptureReader.open(path.join(root, 'captures', id));
      try {
        expect(reader.meta.programs?.receiver?.name).toBe('server.py');
        expect(reader.streamLength).toBe(stream.length);
      } finally {
        await reader.close();
      }
      await row.locator('.link a').click();
      await page.waitForURL(/steps\/1\?by=field/);
      expect(await page.locator('h1').textContent()).toBe('File count');
      expect(errors).toEqual([]);
      expect(Buffer.compare(await readFile(path.join(root, 'out', 'grande.bin')), data)).toBe(0);
    } finally {
      held.destroy();
      run.kill('SIGKILL');
      await run.done;
      await publisher!.close();
      await page.close();
    }
  });
});

describe('a live feed of traced connections', () => {
  const open = (key: string, captureId: string): LiveEvent => ({ type: 'open', key, client: { address: '127.0.0.1', port: 5000 }, captureId, program: { name: key, side: key === 'client.py' ? 'sender' : 'receiver' } });
  const done = (key: string, captureId: string, replaces?: string[]): LiveEvent => ({ type: 'done', key, status: 'complete', reason: null, bytes: 10, saved: null, files: 1, captureId, ...(replaces ? { replaces } : {}) });

  it('points both ends’ rows at the capture their two halves were joined into, whichever end says done first', () => {
    for (const order of ['client first', 'server first'] as const) {
      const source = new EventEmitter();
      const feed = new LiveFeed(source);
      try {
        source.emit('live', open('client.py', 'half-client'));
        source.emit('live', open('server.py', 'half-server'));
        if (order === 'client first') {
          source.emit('live', done('client.py', 'half-client'));
          source.emit('live', done('server.py', 'joined', ['half-server', 'half-client']));
        } else {
          // The client's end joined the two before it told the lab it was done.
          source.emit('live', done('client.py', 'joined', ['half-client', 'half-server']));
          source.emit('live', done('server.py', 'half-server'));
        }
        expect(feed.snapshot('en').map((x) => [x.key, x.captureId, x.status])).toEqual([
          ['server.py', 'joined', 'complete'],
          ['client.py', 'joined', 'complete'],
        ]);
      } finally {
        feed.close();
      }
    }
  });
});
