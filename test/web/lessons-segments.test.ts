import { readFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader, CaptureStore } from '../../src/capture/index.js';
import { exportPcapng } from '../../src/capture/pcap-export.js';
import { createApp } from '../../src/web/app.js';
import { withTempDir } from '../helpers/net.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SAMPLES = path.join(ROOT, 'samples');
const app = createApp({ store: new CaptureStore([SAMPLES]) });

afterAll(async () => {
  await app.closeCaptures();
});

/** The text of a page, tags removed, spaces joined. */
const textOf = (html: string): string => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

describe('lesson 12, segments, MSS and Nagle', () => {
  it('reads its numbers from three-views and slow-receiver, in both languages', async () => {
    const en = textOf((await request(app).get('/lessons/segments').expect(200)).text);
    expect(en).toContain('On loopback each side announced 65,495 bytes.');
    expect(en).toContain('In three-views it made 233 send() calls');
    expect(en).toContain('the largest segment from the client carried 47,104 bytes');
    expect(en).toContain('Its SYN-ACK announces 1,460 bytes');
    expect(en).toContain('The most frequent segment payload in slow-receiver is 1,448 bytes, not 1460.');
    expect(en).toContain('segments of 8,688 bytes in that table');
    expect(en).toContain('draws exactly 233 segments with data');
    const pt = textOf((await request(app).get('/lessons/segments?lang=pt').expect(200)).text);
    expect(pt).toContain('No loopback cada lado anunciou 65.495 bytes.');
    expect(pt).toContain('A carga útil mais frequente na slow-receiver é de 1.448 bytes, e não 1460.');
  });

  it('says what export --mss draws: one segment per write, cut at the MSS (233 with 1460, 433 with 1000)', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'three-views'));
    try {
      await withTempDir(async (dir) => {
        expect((await exportPcapng(reader, path.join(dir, 'a.pcapng'), { mss: 1460 })).dataFrames).toBe(233);
        expect((await exportPcapng(reader, path.join(dir, 'b.pcapng'), { mss: 1000 })).dataFrames).toBe(433);
      });
    } finally {
      await reader.close();
    }
  });

  it('says the export draws an ACK after each segment and no timestamps option, so a piece is exactly the MSS', async () => {
    const en = textOf((await request(app).get('/lessons/segments').expect(200)).text);
    expect(en).toContain('an ACK from the receiver after each segment');
    expect(en).toContain('after the two SYNs also carries the TCP timestamps option');
    const pt = textOf((await request(app).get('/lessons/segments?lang=pt').expect(200)).text);
    expect(pt).toContain('um ACK do receptor depois de cada segmento');
    const reader = await CaptureReader.open(path.join(SAMPLES, 'three-views'));
    try {
      await withTempDir(async (dir) => {
        const file = path.join(dir, 'c.pcapng');
        // 233 writes, 200 of them 1024 bytes: each of those is cut into exactly 1000 + 24 with --mss 1000.
        const r = await exportPcapng(reader, file, { mss: 1000 });
        expect(r.dataFrames - 233).toBe(200);
      });
    } finally {
      await reader.close();
    }
  });

  it('shows Nagle not joining the first small writes of three-views: each left alone and was ACKed before the next', async () => {
    const rows = textOf((await request(app).get('/captures/three-views/wire').expect(200)).text);
    // Frames 91 to 98: count (4), name (128), size (8), contents (33), each followed by the server's ACK.
    expect(rows).toMatch(/91 [\d.]+ ms client → server PSH, ACK 1 1 65,536 4 .*92 [\d.]+ ms server → client ACK 1 5 65,536 0 .*93 [\d.]+ ms client → server PSH, ACK 5 1 65,536 128 .*94 [\d.]+ ms server → client ACK 1 133 /);
    const en = textOf((await request(app).get('/lessons/segments').expect(200)).text);
    expect(en).toContain('You can also see it not happen');
    const pt = textOf((await request(app).get('/lessons/segments?lang=pt').expect(200)).text);
    expect(pt).toContain('Também dá para ver quando ela não acontece');
  });

  it('embeds a 1024-byte send() whose step lists the one, larger segment that carried it', async () => {
    const lesson = (await request(app).get('/lessons/segments').expect(200)).text;
    expect(lesson).toContain('<a href="/captures/three-views/steps/42?by=op">');
    const step = textOf((await request(app).get('/captures/three-views/steps/42?by=op').expect(200)).text);
    expect(step).toContain('The sender wrote 1,024 bytes (stream bytes 7,975 to 8,998).');
    expect(step).toContain('Carried by 1 TCP segment 32,768 bytes at offset 977');
  });

  it('is linked from the steps and the segment table of its capture', async () => {
    const step = (await request(app).get('/captures/three-views/steps/1?by=op').expect(200)).text;
    expect(step).toMatch(/This capture was recorded for the lesson <a href="\/lessons\/segments">Segments, MSS and Nagle<\/a>/);
    const table = (await request(app).get('/captures/three-views/wire?lang=pt').expect(200)).text;
    expect(table).toContain('href="/lessons/segments?lang=pt">Segmentos, MSS e Nagle</a>');
  });
});

describe('lesson 13, flow control', () => {
  it('reads its numbers from slow-receiver, in both languages', async () => {
    const en = textOf((await request(app).get('/lessons/flow-control').expect(200)).text);
    expect(en).toContain("The server's SYN-ACK offers 7,240 bytes, not 8192.");
    expect(en).toContain('the server advertised a zero window in 15 segments');
    expect(en).toContain('There are 8 probes in this capture.');
    expect(en).toContain('The table marks 9 of them. In total the server sent 310 bare ACKs');
    expect(en).toContain('is 520 ms : the first of those two calls spent that time waiting');
    expect(en).toContain("client.py 's last event came at 1,064 ms, slow_server.py 's at 4,133 ms");
    const pt = textOf((await request(app).get('/lessons/flow-control?lang=pt').expect(200)).text);
    expect(pt).toContain('O SYN-ACK do servidor oferece 7.240 bytes, e não 8192.');
    expect(pt).toContain('é de 520 ms : a primeira das duas passou esse tempo esperando');
  });

  it('embeds the send() that waited: client.py’s write 898, which the next send() followed 520 ms later', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'slow-receiver'));
    try {
      const writes = [];
      for await (const e of reader.eachEvent('sender')) if (e.type === 'write') writes.push(e);
      expect(writes).toHaveLength(1027);
      expect(writes[897]!.call?.name).toBe('send');
      expect(Math.round((writes[898]!.timeUs - writes[897]!.timeUs) / 1000)).toBe(520);
      expect(reader.meta.programs).toMatchObject({ sender: { name: 'client.py', via: 'trace' }, receiver: { name: 'slow_server.py', via: 'trace' } });
    } finally {
      await reader.close();
    }
    const page = (await request(app).get('/lessons/flow-control').expect(200)).text;
    expect(page).toContain('href="/captures/slow-receiver/steps/');
  });

  it('answers exercise 1 with frames that are on page 2 of the table: closing 165, probe 166, still 0 in 167, update 168', async () => {
    const page = (await request(app).get('/captures/slow-receiver/wire?page=2').expect(200)).text;
    const row = (frame: number): string => textOf(new RegExp(`<tr class="[^"]*" data-frame="${frame}">([\\s\\S]*?)</tr>`).exec(page)![1]!);
    expect(row(165)).toMatch(/server → client ACK 1 130,341 0 0 zero window/);
    expect(row(166)).toMatch(/client → server ACK 130,340 1 65,536 0 window probe/);
    expect(row(167)).toMatch(/server → client ACK 1 130,341 0 0 zero window/);
    expect(row(168)).toMatch(/server → client ACK 1 130,341 8,688 0 window update/);
    const lesson = await readFile(path.join(ROOT, 'lessons', 'flow-control.en.md'), 'utf8');
    expect(lesson).toContain('closes at frame 165, the probe is frame 166 (answered by frame 167, still 0) and the update is frame 168');
  });

  it('explains the SYN-ACK window from SO_RCVBUF 8192 as the capture shows it: doubled, about half advertised, 5 × 1,448', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'slow-receiver'));
    try {
      const argv = reader.meta.programs?.receiver?.argv ?? [];
      expect(argv[argv.indexOf('--rcvbuf') + 1]).toBe('8192');
      expect(reader.meta.wire?.detail?.marks.windowFull).toBe(287);
    } finally {
      await reader.close();
    }
    const en = textOf((await request(app).get('/lessons/flow-control').expect(200)).text);
    expect(en).toContain('offers 7,240 bytes, not 8192. Linux doubled the 8192 to 16,384 bytes of buffer');
    expect(en).toContain('rounded down to whole segments of 1,448 bytes of payload');
    expect(en).toContain('5 × 1,448 = 7,240');
    expect(en).toContain('287 of its 307 segments with data are marked');
    const pt = textOf((await request(app).get('/lessons/flow-control?lang=pt').expect(200)).text);
    expect(pt).toContain('oferece 7.240 bytes, e não 8192. O Linux dobrou os 8192 para 16.384 bytes de buffer');
    expect(pt).toContain('5 × 1.448 = 7.240');
    expect(pt).toContain('287 dos seus 307 segmentos com dados aparecem marcados');
  });

  it('says the file was still leaving client.py’s send buffer after client.py ended, as the wire lane shows', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'slow-receiver'));
    try {
      let lastData = 0;
      for await (const e of reader.eachEvent('wire')) if (e.length > 0) lastData = e.timeUs;
      const sender = reader.eventCount('sender');
      const senderDone = (await reader.events('sender', sender - 1, 1))[0]!.timeUs;
      expect(lastData - senderDone).toBeGreaterThan(2_000_000);
    } finally {
      await reader.close();
    }
    const en = textOf((await request(app).get('/lessons/flow-control').expect(200)).text);
    expect(en).toContain("Most of them had not even left client.py 's machine");
  });

  it('warns in exercise 4 that SO_RCVBUF is capped by net.core.rmem_max, in both languages', async () => {
    const en = await readFile(path.join(ROOT, 'lessons', 'flow-control.en.md'), 'utf8');
    expect(en).toContain('Linux caps `SO_RCVBUF` at `net.core.rmem_max` (212,992 bytes by default');
    const pt = await readFile(path.join(ROOT, 'lessons', 'flow-control.pt.md'), 'utf8');
    expect(pt).toContain('o Linux limita o `SO_RCVBUF` ao `net.core.rmem_max` (212.992 bytes por padrão');
  });

  it('is linked from the steps of its capture', async () => {
    const step = (await request(app).get('/captures/slow-receiver/steps/2?by=op&lang=pt').expect(200)).text;
    expect(step).toContain('Esta captura foi gravada para a aula <a href="/lessons/flow-control?lang=pt">Controle de fluxo</a>');
  });
});
