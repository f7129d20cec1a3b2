import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { readDetails } from '../../src/capture/wire-detail.js';
import { createApp } from '../../src/web/app.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const app = createApp({ store: new CaptureStore([SAMPLES]) });

afterAll(async () => {
  await app.closeCaptures();
});

/** The table rows of a wire page, each as its cells' text. */
function rows(html: string): string[][] {
  return [...html.matchAll(/<tr class="dir-[^"]*" data-frame="\d+">([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()),
  );
}

describe('the wire table of a capture', () => {
  it('lists slow-receiver’s segments both ways, bare ACKs included, the window shrinking to zero, the probe and the update (frames 157–168, as Wireshark numbers them)', async () => {
    const page = (await request(app).get('/captures/slow-receiver/wire?page=2').expect(200)).text;
    expect(page).toContain('Page 2 of 13');
    expect(page).toContain('MSS announced in the SYNs: client 65,495, server 1,460. Window scale: client 10, server 0. Largest segment from the client: 8,688 bytes. Smallest window the server advertised: 0 bytes.');
    expect(page).toContain('Zero windows: 15. Window probes: 8. Window updates: 9. Bare ACKs from the server: 310.');
    const byFrame = new Map(rows(page).map((r) => [r[0], r]));
    const cells = (frame: number) => {
      const r = byFrame.get(String(frame))!;
      return [r[2], r[3], r[4], r[5], r[6], r[7], r[8]];
    };
    // The server's window, in its bare ACKs: 8,688, 2,896, 1,448, 1,448, then 0.
    expect(cells(157)).toEqual(['server → client', 'ACK', '1', '115,861', '8,688', '0', '']);
    expect(cells(159)).toEqual(['server → client', 'ACK', '1', '124,549', '2,896', '0', '']);
    expect(cells(161)).toEqual(['server → client', 'ACK', '1', '127,445', '1,448', '0', '']);
    expect(cells(164)).toEqual(['client → server', 'ACK', '128,893', '1', '65,536', '1,448', 'fills the receiver’s window']);
    expect(cells(165)).toEqual(['server → client', 'ACK', '1', '130,341', '0', '0', 'zero window: the receiver has no room left']);
    expect(cells(166)).toEqual(['client → server', 'ACK', '130,340', '1', '65,536', '0', 'window probe: asks whether the zero window has opened keep-alive form (Wireshark: TCP Keep-Alive)']);
    expect(cells(167)).toEqual(['server → client', 'ACK', '1', '130,341', '0', '0', 'zero window: the receiver has no room left']);
    expect(cells(168)).toEqual(['server → client', 'ACK', '1', '130,341', '8,688', '0', 'window update: the receiver has room again']);
    expect(page).toMatch(/<tr class="dir-s2c zero-window" data-frame="165">/);
    expect(page).toContain('href="/captures/slow-receiver/wire?page=3"');
    expect(page).toContain('href="/lessons/flow-control"');
  });

  it('speaks Portuguese, keeps the language in its page links, and refuses a page past the last', async () => {
    const page = (await request(app).get('/captures/slow-receiver/wire?page=2&lang=pt').expect(200)).text;
    expect(page).toContain('Página 2 de 13');
    expect(page).toContain('servidor → cliente');
    expect(page).toContain('janela zero: o receptor não tem mais espaço');
    expect(page).toContain('href="/captures/slow-receiver/wire?page=3&amp;lang=pt"');
    const missing = await request(app).get('/captures/slow-receiver/wire?page=14').expect(404);
    expect(missing.text).toContain('There is no page 14: this table has 13.');
    await request(app).get('/captures/demo-10-files/wire').expect(404);
  });

  it('is linked from the capture page, with the number of segments', async () => {
    const page = (await request(app).get('/captures/three-views').expect(200)).text;
    expect(page).toContain('href="/captures/three-views/wire"');
    expect(page).toContain('Every TCP segment, both directions: seq, ack, window (49 segments)');
  });

  it('reads one page of records from the file, not the whole file', async () => {
    const page = await readDetails(path.join(SAMPLES, 'slow-receiver'), 600, 50);
    expect(page.map((r) => r.index)).toEqual(Array.from({ length: 29 }, (_, i) => 600 + i));
  });
});

describe('a segment’s step', () => {
  it('shows its seq, ack, window and flags, and links to its place in the table', async () => {
    const syn = (await request(app).get('/captures/reference-on-the-wire/steps/1?by=op').expect(200)).text;
    expect(syn).toContain('TCP header: seq 0 · ack — · window 65,495 bytes · flags SYN');
    const first = (await request(app).get('/captures/reference-on-the-wire/steps/2?by=op').expect(200)).text;
    expect(first).toContain('TCP header: seq 1 · ack 1 · window 65,536 bytes · flags PSH, ACK');
    expect(first).toContain('href="/captures/reference-on-the-wire/wire"');
    const pt = (await request(app).get('/captures/reference-on-the-wire/steps/2?by=op&lang=pt').expect(200)).text;
    expect(pt).toContain('Cabeçalho TCP: seq 1 · ack 1 · janela 65.536 bytes · flags PSH, ACK');
  });
});
