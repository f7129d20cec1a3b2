import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { LiveFeed } from '../../src/web/live.js';
import { withReceiver } from '../helpers/net.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

describe('compressed responses', () => {
  it('sends pages and JSON gzip-compressed to a browser that accepts gzip, and plain to one that does not', async () => {
    const app = createApp({ store: new CaptureStore([SAMPLES]) });
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    /** The response to `url` and its body as sent, unzipped by nobody. */
    const fetchRaw = (url: string, encoding: string) => new Promise<{ res: IncomingMessage; body: Buffer }>((resolve, reject) => {
      get(base + url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    try {
      for (const url of ['/', '/captures/demo-10-files', '/captures/demo-10-files/steps/2?by=field', '/api/captures/demo-10-files']) {
        const { res, body } = await fetchRaw(url, 'gzip');
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['content-encoding'], url).toBe('gzip');
        expect(res.headers.vary, url).toMatch(/Accept-Encoding/);
        const page = gunzipSync(body);
        expect(page.toString('utf8'), url).toMatch(url.startsWith('/api/') ? /^\{"/ : /^\s*<!doctype html>/);
        expect(body.length, url).toBeLessThan(page.length);
      }
      const plain = await fetchRaw('/captures/demo-10-files', 'identity');
      expect(plain.res.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString('utf8')).toMatch(/^\s*<!doctype html>/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.closeCaptures();
    }
  });

  it('never compresses the live event stream, so its first event arrives while the stream stays open', async () => {
    await withReceiver(async ({ receiver, port, root }) => {
      const live = new LiveFeed(receiver);
      const app = createApp({ store: new CaptureStore([path.join(root, 'captures')]), samplesDir: null, live, lab: { port, hosts: ['127.0.0.1'] } });
      const server = createServer(app);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/events`;
        const { res, first } = await new Promise<{ res: IncomingMessage; first: string }>((resolve, reject) => {
          get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (r) => {
            r.setEncoding('utf8');
            let text = '';
            r.on('error', () => {});
            // Gzip would hold the snapshot back until the stream ends: waiting for it is the test.
            r.on('data', (s: string) => {
              text += s;
              if (text.includes('\n\n')) resolve({ res: r, first: text });
            });
          }).on('error', reject);
        });
        expect(res.headers['content-encoding']).toBeUndefined();
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        expect(first).toContain('event: snapshot');
        res.destroy();
      } finally {
        live.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await app.closeCaptures();
      }
    });
  });
});
