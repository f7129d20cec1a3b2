import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { importPcap } from '../../src/capture/pcap-import.js';
import { createApp } from '../../src/web/app.js';
import { withTempDir } from '../helpers/net.js';
import { TEXT_TRANSFER, handMade } from '../helpers/pcap.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

/** The site on the samples plus captures imported from `segments` of {@link TEXT_TRANSFER}. */
async function withImported(segments: Parameters<typeof handMade>[0], fn: (app: ReturnType<typeof createApp>, id: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'hand.pcapng');
    await writeFile(file, handMade(segments, TEXT_TRANSFER));
    const { connections } = await importPcap(file, { capturesDir: path.join(dir, 'captures') });
    const app = createApp({ store: new CaptureStore([path.join(dir, 'captures'), SAMPLES]) });
    try {
      await fn(app, connections[0]!.id);
    } finally {
      await app.closeCaptures();
    }
  });
}

describe('the wire lane on the site', () => {
  it('shows an imported capture’s source, its segments and the steps by segment', async () => {
    const app = createApp({ store: new CaptureStore([SAMPLES]) });
    try {
      const page = (await request(app).get('/captures/reference-on-the-wire').expect(200)).text;
      expect(page).toContain('reference.pcapng (pcapng, Ethernet)');
      expect(page).toMatch(/Segments on the wire \(\d+\)/);
      expect(page).toContain('class="lane wire-lane"');
      expect(page).not.toContain('Sender writes');
      expect(page).toMatch(/Step through its \d+ segments/);
      const step = (await request(app).get('/captures/reference-on-the-wire/steps/2?by=op').expect(200)).text;
      expect(step).toContain('The network carried a TCP segment of 4 bytes from client to server (stream bytes 0 to 3).');
      expect(step).toContain('by segment');
      // The size of the big file: the segments that carried it, linked to their steps.
      const api = (await request(app).get('/api/captures/reference-on-the-wire').expect(200)).body as { fields: { id: string }[] };
      const n = api.fields.findIndex((f) => f.id === 'file[11].size') + 1;
      const field = (await request(app).get(`/captures/reference-on-the-wire/steps/${n}?by=field`).expect(200)).text;
      expect(field).toMatch(/Carried by (1 TCP segment|\d+ TCP segments)/);
      expect(field).toMatch(/href="\/captures\/reference-on-the-wire\/steps\/\d+\?by=op"/);
    } finally {
      await app.closeCaptures();
    }
  });

  it('marks retransmitted and out-of-order segments, in the lane and on their steps', async () => {
    const n = TEXT_TRANSFER.length;
    await withImported([{ offset: 0, length: 1000 }, { offset: 2000, length: n - 2000, fin: true }, { offset: 1000, length: 1000 }, { offset: 500, length: 1000 }], async (app, id) => {
      const page = (await request(app).get(`/captures/${id}`).expect(200)).text;
      expect(page.match(/class="chunk c\d again"/g)?.length).toBe(2);
      // Steps: SYN, then the segments in capture order.
      const late = (await request(app).get(`/captures/${id}/steps/3?by=op`).expect(200)).text;
      expect(late).toContain('out of order: it came before bytes that precede it');
      const again = (await request(app).get(`/captures/${id}/steps/5?by=op&lang=pt`).expect(200)).text;
      expect(again).toContain('uma retransmissão: todos os bytes dele já tinham chegado antes');
    });
  });

  it('explains a gap with its numbers, in Portuguese too', async () => {
    const n = TEXT_TRANSFER.length;
    await withImported([{ offset: 0, length: 1000 }, { offset: 1500, length: n - 1500, fin: true }], async (app, id) => {
      const en = (await request(app).get(`/captures/${id}`).expect(200)).text;
      expect(en).toContain(`The capture lacks 500 bytes of the stream from offset 1,000`);
      expect(en).toContain(`the ${(n - 1500).toLocaleString('en-US')} bytes captured after the hole are not shown`);
      const pt = (await request(app).get(`/captures/${id}?lang=pt`).expect(200)).text;
      expect(pt).toContain('Faltam na captura 500 bytes do fluxo a partir do offset 1.000');
      // The lanes span the stream, which stops at the hole, not the segments past it.
      expect(en).toContain('The whole stream, 1,000 bytes, on one scale');
      const past = (await request(app).get(`/captures/${id}/steps/3?by=op`).expect(200)).text;
      expect(past).toContain(`The last ${(n - 1500).toLocaleString('en-US')} bytes of this segment come after the hole`);
      expect(past).not.toContain('bytes not shown');
    });
  });
});
