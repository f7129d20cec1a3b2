import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { sendFiles } from '../../src/net/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { openStalledViewers } from '../../scripts/lib/stalled.js';
import { withReceiver } from '../helpers/net.js';

const STALLED = 40;
const MAX_BUFFERED = 16 * 1024;

/** An event stream read to the end by a well-behaved viewer: what it got so far. */
function follow(url: string): Promise<{ res: IncomingMessage; text: () => string; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      // The test ends the stream itself: that is no error.
      res.on('error', () => {});
      res.on('data', (s: string) => {
        text += s;
      });
      resolve({ res, text: () => text, stop: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('/live with viewers that stop reading', () => {
  it('drops the stalled viewers, bounds what it holds for them, turns the one too many away and keeps serving a reading viewer', async () => {
    await withReceiver(async ({ receiver, port, root }) => {
      const live = new LiveFeed(receiver, { maxViewers: STALLED + 1, maxBuffered: MAX_BUFFERED });
      const app = createApp({ store: new CaptureStore([path.join(root, 'captures')]), samplesDir: null, live, lab: { port, hosts: ['127.0.0.1'] } });
      const server = createServer(app);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const stalled = await openStalledViewers((server.address() as AddressInfo).port, STALLED);
      try {
        const reader = await follow(`${site}/live/events`);
        await expect.poll(() => live.usage().viewers, { timeout: 20_000 }).toBe(STALLED + 1);
        // The cap answers in words, in the page's language.
        const full = await fetchText(`${site}/live/events?lang=pt`);
        expect(full.status).toBe(503);
        expect(full.body).toContain('já tem 41 espectadores');
        expect((await fetchText(`${site}/live/events`)).body).toContain('already has 41 viewers');
        expect(live.usage().refused).toBe(2);

        // Transfers make events until every stalled viewer has been dropped.
        const body = path.join(root, 'x.txt');
        await writeFile(body, 'x'.repeat(500));
        const files = [{ name: 'x.txt', path: body, size: 500 }];
        let sent = 0;
        while (live.usage().dropped < STALLED) {
          await Promise.all(Array.from({ length: 10 }, (_, i) => sendFiles({ port, files: files.map((f) => ({ ...f, name: `t${sent}-${i}-${'n'.repeat(90)}.txt` })), capturesDir: null })));
          sent += 10;
          const u = live.usage();
          // What the feed holds is bounded by the viewers it keeps (its limit plus one event each),
          // never by the events it sent.
          expect(u.buffered).toBeLessThanOrEqual(u.viewers * (MAX_BUFFERED + 4096));
          expect(sent).toBeLessThan(5000);
        }
        expect(live.usage()).toMatchObject({ viewers: 1, dropped: STALLED });
        // The reading viewer still gets every new transfer.
        const fim = path.join(root, 'last.txt');
        await writeFile(fim, 'fim');
        await sendFiles({ port, files: [{ name: 'last.txt', path: fim, size: 3 }], capturesDir: null });
        // 4 + 128 + 8 + 3 bytes: no other transfer has that length.
        await expect.poll(() => reader.text().split('\n').some((l) => l.includes('"status":"complete"') && l.includes('"bytes":143')), { timeout: 20_000 }).toBe(true);
        // A freed place is given to the next viewer.
        const again = await follow(`${site}/live/events`);
        expect(again.res.statusCode).toBe(200);
        again.stop();
        reader.stop();
        await expect.poll(() => live.usage().viewers, { timeout: 20_000 }).toBe(0);
        expect(live.usage().buffered).toBe(0);
      } finally {
        await stalled.close();
        live.close();
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await app.closeCaptures();
      }
    });
  }, 120_000);
});
