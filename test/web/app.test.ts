import { mkdir, readFile, writeFile, cp } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { startReceiver } from '../../src/net/index.js';
import { Dissector, encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { sendRaw, withTempDir } from '../helpers/net.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const te = new TextEncoder();

let tmp = '';
let app: ReturnType<typeof createApp>;

/** Records `pieces` sent raw to a real receiver as capture `id` in `root`. */
async function record(root: string, id: string, pieces: Uint8Array[]): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-rec-'));
  const receiver = await startReceiver({ port: 0, outDir: path.join(work, 'out'), capturesDir: path.join(work, 'caps') });
  try {
    const done = new Promise<{ captureDir?: string }>((resolve) => receiver.once('result', resolve));
    await sendRaw(receiver.address.port, pieces);
    const { captureDir } = await done;
    // Copied under a new folder name: the folder name is the id, whatever capture.json says.
    await cp(captureDir!, path.join(root, id), { recursive: true });
  } finally {
    await receiver.close();
    await rm(work, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'wirestep-web-'));
  const extra = path.join(tmp, 'captures');
  await mkdir(extra);
  await record(extra, 'html-name', [encodeTransfer([{ name: '<script>alert(1)</script>.txt', data: te.encode('x') }])]);
  await record(extra, 'img-name', [encodeTransfer([{ name: '<img src=x onerror=alert(1)>', data: te.encode('y') }])]);
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 256);
  await record(extra, 'big', [encodeCount(1), encodeName('big.bin'), encodeSize(big.length), big]);
  await record(extra, 'cut', [encodeCount(2), encodeName('a.txt'), encodeSize(10), te.encode('12345')]);
  await record(extra, 'damaged', [encodeCount(0)]);
  await writeFile(path.join(extra, 'damaged', 'capture.json'), '{"format":"wirestep-capture","version":1,');
  await record(extra, 'future', [encodeCount(0)]);
  const futureMeta = JSON.parse(await readFile(path.join(extra, 'future', 'capture.json'), 'utf8'));
  await writeFile(path.join(extra, 'future', 'capture.json'), JSON.stringify({ ...futureMeta, version: 99 }));
  app = createApp({ store: new CaptureStore([SAMPLES, extra]) });
});

afterAll(async () => {
  await app.closeCaptures();
  await rm(tmp, { recursive: true, force: true });
});

describe('home', () => {
  it('lists the samples and recorded captures with files, bytes, duration, outcome and problems', async () => {
    const res = await request(app).get('/').expect(200).expect('Content-Type', /html/);
    expect(res.text).toContain('href="/captures/demo-10-files"');
    const row = res.text.slice(res.text.indexOf('href="/captures/demo-10-files"'));
    // Each cell names its column (a phone stacks the cells and shows the names).
    expect(row.slice(0, 1400)).toMatch(/<td class="num" data-label="Files">10<\/td>\s*<td class="num" data-label="Bytes">1,695<\/td>\s*<td class="num" data-label="Duration">[\d.,]+ ms<\/td>\s*<td data-label="Outcome"><span class="status s-complete">complete<\/span><\/td>\s*<td class="num" data-label="Problems">0<\/td>/);
    expect(res.text).toContain('href="/captures/cut"');
  });

  it('lists a damaged capture with what is wrong instead of failing', async () => {
    const res = await request(app).get('/').expect(200);
    expect(res.text).toContain('capture.json is not valid JSON');
  });

  it('speaks Portuguese with ?lang=pt', async () => {
    const res = await request(app).get('/?lang=pt').expect(200);
    expect(res.text).toContain('<html lang="pt-BR">');
    expect(res.text).toContain('Capturas');
    expect(res.text).toContain('href="/captures/demo-10-files?lang=pt"');
  });

  it('sends security headers and a strict Content-Security-Policy', async () => {
    const res = await request(app).get('/').expect(200);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('capture overview', () => {
  it('shows files, the stream layout, both sides’ chunks and the outcome', async () => {
    const res = await request(app).get('/captures/demo-10-files').expect(200);
    for (let i = 1; i <= 10; i++) expect(res.text).toContain(`<code class="name">arquivo_${i}.txt</code>`);
    // The ruler links every field; 1 count + 10 × (name, size, payload).
    expect(res.text.match(/<a href="\/captures\/demo-10-files\/steps\/\d+\?by=field"><rect class="k-(count|name|size|payload)"/g)?.length).toBe(31);
    expect(res.text).toContain('class="lane sender-lane"');
    expect(res.text).toContain('class="lane receiver-lane"');
    expect(res.text).toContain('No problems');
    expect(res.text).toContain('href="/captures/demo-10-files/steps/1?by=op"');
  });

  it.each(['demo-10-files', 'recut-7-byte-writes', 'slow-link'])('links each chunk on the timeline of %s to its own operation step', async (id) => {
    const res = await request(app).get(`/captures/${id}`).expect(200);
    const chunks = [...res.text.matchAll(/<title>([\d,]+) bytes from offset ([\d,]+) \(step (\d+)\)<\/title>/g)];
    expect(chunks.length).toBeGreaterThan(3);
    for (const [, n, offset, step] of chunks) {
      const op = (await request(app).get(`/api/captures/${id}/steps/${step}?by=op`).expect(200)).body;
      expect([op.event.length, op.event.offset]).toEqual([Number(n!.replace(/,/g, '')), Number(offset!.replace(/,/g, ''))]);
    }
  });

  it('lists a cut transfer’s problems', async () => {
    const res = await request(app).get('/captures/cut').expect(200);
    expect(res.text).toContain('At offset 145 the stream ended inside “Contents of file 1”: it needed 10 bytes and 5 came.');
    expect(res.text).toContain('cut short');
  });
});

describe('outcomes and reasons', () => {
  it('words a stored outcome and a refusal in the page’s language, with no English left in Portuguese', async () => {
    const pt = await request(app).get('/captures/size-max?lang=pt').expect(200);
    expect(pt.text).toContain('O arquivo 1 diz ter 18.446.744.073.709.551.615 bytes, acima do limite do servidor');
    expect(pt.text).not.toContain('above the receiver');
    const en = await request(app).get('/captures/path-traversal-name').expect(200);
    expect(en.text).toContain('Refused because it holds a path separator and it climbs up with ..');
  });

  it('gives the stored kinds in the API and the worded message beside them', async () => {
    const res = await request(app).get('/api/captures/size-max?lang=pt').expect(200);
    const reason = { kind: 'size-over-limit', file: 1, size: '18446744073709551615', limit: '4294967296' };
    expect(res.body.meta.outcome).toEqual({ status: 'aborted', reason });
    expect(res.body.meta.files[0].reason).toEqual(reason);
    expect(res.body.outcomeMessage).toMatch(/^O arquivo 1 diz ter/);
    expect(res.body.files[0].reason).toMatch(/^O arquivo 1 diz ter/);
  });
});

describe('step view', () => {
  it('explains the count: 00 00 00 0A is 10 files, big-endian, with the little-endian reading', async () => {
    const res = await request(app).get('/captures/demo-10-files/steps/1?by=field').expect(200);
    expect(res.text).toContain('00 00 00 0A is 10 files: 4 bytes read big-endian');
    expect(res.text).toContain('167,772,160');
    expect(res.text).toContain('<link rel="next" href="/captures/demo-10-files/steps/2?by=field">');
    expect(res.text).not.toContain('rel="prev"');
  });

  it('explains a name and marks its 115 padding spaces', async () => {
    const res = await request(app).get('/captures/demo-10-files/steps/2').expect(200);
    expect(res.text).toContain('The name “arquivo_1.txt”, 13 bytes, followed by 115 spaces (0x20)');
    expect(res.text.match(/<i class="p">20<\/i>/g)?.length).toBe(115);
  });

  it('explains the payload’s characters and which reads carried it', async () => {
    const res = await request(app).get('/captures/demo-10-files/steps/4').expect(200);
    expect(res.text).toContain('31 characters of UTF-8 text, 2 of them longer than one byte');
    expect(res.text).toMatch(/Carried by 1 sender write</);
    expect(res.text).toMatch(/Carried by (1 receiver read|\d+ receiver reads)</);
  });

  it.each(['demo-10-files', 'slow-link', 'cut-in-payload', 'count-larger-than-files', 'empty-file'])(
    'steps %s by socket operation, with the receiver’s state after each read as the dissector has it',
    async (id) => {
      const stream = await readFile(path.join(SAMPLES, id, 'stream.bin'));
      const api = await request(app).get(`/api/captures/${id}`).expect(200);
      let reads = 0;
      for (let n = 1; n <= api.body.opSteps; n++) {
        const step = (await request(app).get(`/api/captures/${id}/steps/${n}?by=op`).expect(200)).body;
        const page = await request(app).get(`/captures/${id}/steps/${n}?by=op`).expect(200);
        if (step.event.type !== 'read') continue;
        reads++;
        const d = new Dissector();
        d.push(stream.subarray(0, step.event.offset + step.event.length));
        const st = d.state();
        if (st.kind === 'trailing' && st.have === 0) {
          expect(step.stateAfter.field).toBeNull();
        } else {
          expect([step.stateAfter.field, step.stateAfter.have, step.stateAfter.needed]).toEqual([st.field, st.have, st.needed.toString()]);
        }
        expect(page.text).toContain(step.stateAfter.description.replace(/“/g, '“'));
      }
      expect(reads).toBeGreaterThan(0);
    },
  );

  it('shows Portuguese explanations with ?lang=pt', async () => {
    const res = await request(app).get('/captures/demo-10-files/steps/1?lang=pt').expect(200);
    expect(res.text).toContain('00 00 00 0A são 10 arquivos');
    expect(res.text).toContain('href="/captures/demo-10-files/steps/2?by=field&amp;lang=pt"');
  });

  it('shows a problem on its bytes', async () => {
    const res = await request(app).get('/captures/cut/steps/4').expect(200);
    expect(res.text).toContain('cut short: 5 of 10 bytes');
    expect(res.text).toMatch(/<i class="x">/);
  });

  it('shows the first and last rows of a 3 MiB field and pages through its middle in 4 KiB', async () => {
    const head = await request(app).get('/captures/big/steps/4').expect(200);
    expect(head.text).toContain('bytes not shown');
    expect(head.text).toContain('Showing the first and last rows of 768 pages.');
    expect(head.text).toContain('href="/captures/big/steps/4?by=field&amp;page=384"');
    const cells = (s: string) => s.match(/<i(?: class="[px]")?>[0-9A-F]{2}<\/i>/g)?.length ?? 0;
    expect(cells(head.text)).toBeLessThanOrEqual(1024);
    const page = await request(app).get('/captures/big/steps/4?page=384').expect(200);
    expect(page.text).toContain('Page 384 of 768.');
    // One 4 KiB page, aligned rows: at most 4096 bytes of hex plus a row of context each side.
    expect(cells(page.text)).toBeLessThanOrEqual(4096 + 32);
    expect(cells(page.text)).toBeGreaterThanOrEqual(4096);
    expect(Buffer.byteLength(page.text)).toBeLessThan(256 * 1024);
  });
});

describe('escaping', () => {
  it.each([['html-name', '<script>alert(1)</script>.txt'], ['img-name', '<img src=x onerror=alert(1)>']])('shows the name of %s as text everywhere', async (id, name) => {
    const escaped = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const url of ['/', `/captures/${id}`, `/captures/${id}/steps/2`, `/captures/${id}/steps/4`, `/captures/${id}/steps/1?by=op`]) {
      const res = await request(app).get(url).expect(200);
      expect(res.text).not.toContain(name);
      if (url !== '/' && !url.endsWith('by=op')) expect(res.text).toContain(escaped);
    }
    const api = await request(app).get(`/api/captures/${id}/steps/2`).expect(200);
    expect(api.text).not.toContain('<');
    expect(api.body.fields[0].value).toBe(`“${name}”`);
  });
});

describe('JSON API', () => {
  it('lists captures with their ids', async () => {
    const res = await request(app).get('/api/captures').expect(200).expect('Content-Type', /json/);
    expect(res.body.captures.map((c: { id: string }) => c.id)).toContain('demo-10-files');
  });

  it('gives a capture with its fields, 64-bit sizes as strings', async () => {
    const res = await request(app).get('/api/captures/demo-10-files').expect(200);
    expect(res.body.id).toBe('demo-10-files');
    expect(res.body.fields[2]).toMatchObject({ id: 'file[1].size', offset: 132, length: 8, expected: '8', value: { kind: 'size', size: '33' } });
  });

  it('gives a step by field and by op', async () => {
    const field = await request(app).get('/api/captures/demo-10-files/steps/3?by=field').expect(200);
    expect(field.body.fields[0]).toMatchObject({ id: 'file[1].size', value: '33' });
    const op = await request(app).get('/api/captures/demo-10-files/steps/1?by=op').expect(200);
    expect(['connect', 'accept']).toContain(op.body.event.type);
  });

  it.each([
    ['/api/captures/nope', 404],
    ['/api/captures/demo-10-files/steps/0', 404],
    ['/api/captures/demo-10-files/steps/999', 404],
    ['/api/captures/demo-10-files/steps/1?by=bytes', 400],
    ['/api/captures/damaged', 422],
    ['/api/captures/future', 422],
  ])('answers %s with a JSON error and status %i', async (url, status) => {
    const res = await request(app).get(url).expect(status).expect('Content-Type', /json/);
    expect(res.body.error.status).toBe(status);
    expect(res.body.error.message).not.toMatch(/\n\s+at /);
  });
});

describe('errors', () => {
  it.each([
    ['/captures/nope', 404, 'no capture with id'],
    ['/captures/demo-10-files/steps/0', 404, 'step'],
    ['/captures/demo-10-files/steps/32', 404, 'no such step'],
    ['/captures/demo-10-files/steps/abc', 404, 'whole number'],
    ['/captures/demo-10-files/steps/1?by=bytes', 400, '&#34;by&#34; must be'],
    ['/captures/..%2F..%2Fetc', 404, 'not a capture id'],
    ['/captures/%2e%2e', 404, 'not a capture id'],
    ['/captures/damaged', 422, 'capture.json is not valid JSON'],
    ['/captures/future', 422, 'version 99 is newer'],
    ['/nothing/here', 404, 'nothing at'],
  ])('answers %s with a page, status %i and a clear message', async (url, status, text) => {
    const res = await request(app).get(url).expect(status).expect('Content-Type', /html/);
    expect(res.text).toContain(text);
    expect(res.text).not.toMatch(/\n\s+at /);
    expect(res.text).not.toContain(tmp);
  });

  it('refuses request bodies and methods other than GET', async () => {
    await request(app).post('/').send('x'.repeat(1000)).expect(405);
  });

  it('serves the stylesheet and script from /static', async () => {
    await request(app).get('/static/style.css').expect(200).expect('Content-Type', /css/);
    await request(app).get('/static/app.js').expect(200).expect('Content-Type', /javascript/);
  });
});

describe('shared on the network', () => {
  it('says where others can reach it', async () => {
    await withTempDir(async (dir) => {
      const shared = createApp({ store: new CaptureStore([dir]), shared: true, sharedAt: ['http://192.0.2.10:3000/'] });
      const res = await request(shared).get('/').expect(200);
      expect(res.text).toContain('open to other machines');
      expect(res.text).toContain('http://192.0.2.10:3000/');
      await request(shared).get('/').set('Host', '192.0.2.10:3000').expect(200);
      await shared.closeCaptures();
    });
  });

  it('answers only to loopback names when not shared, against DNS rebinding', async () => {
    await withTempDir(async (dir) => {
      const local = createApp({ store: new CaptureStore([dir]) });
      await request(local).get('/').set('Host', 'evil.example:3000').expect(421);
      await request(local).get('/').set('Host', 'localhost:3000').expect(200);
      await request(local).get('/api/captures').set('Host', '127.0.0.1').expect(200);
      await local.closeCaptures();
    });
  });
});
