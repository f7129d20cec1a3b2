import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader, CaptureStore, readMeta } from '../../src/capture/index.js';
import { referenceFiles } from '../../src/net/index.js';
import { formatInteger } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { loadLessons } from '../../src/web/lessons.js';
import { decodeTcp } from '../../src/wire/frames.js';
import { CaptureFileParser } from '../../src/wire/pcap.js';
import { TCP_FLAGS, type TcpSegment } from '../../src/wire/types.js';
import { ASSIGNMENT, PYTHON, PY_ENV, runToEnd, startAssignmentServer, watchOutput } from '../../scripts/lib/harness.js';
import { withTempDir } from '../helpers/net.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SAMPLES = path.join(ROOT, 'samples');
const lessons = loadLessons(path.join(ROOT, 'lessons'));
const TOKEN = 'lessons-tcp-teacher-token';
const store = new CaptureStore([SAMPLES]);
const app = createApp({ store, teacherToken: TOKEN });

afterAll(async () => {
  await app.closeCaptures();
});

const lesson = (slug: string, lang: 'en' | 'pt') => lessons.find((l) => l.slug === slug && l.lang === lang)!;
const both = (slug: string) => [lesson(slug, 'en'), lesson(slug, 'pt')] as const;
const answers = (body: string) => body.slice(body.indexOf('<details class="answers">'));
const q = (lang: 'en' | 'pt', sep = '?') => (lang === 'pt' ? `${sep}lang=pt` : '');

/** One frame of a sample's packets.pcapng: its decoded TCP segment and the raw checksum words. */
interface Frame {
  readonly seg: TcpSegment;
  /** The checksum field as captured. */
  readonly checksum: number;
  /** The ones' complement sum of the pseudo-header alone (addresses, protocol 6, TCP length). */
  readonly pseudo: number;
  /** The checksum the segment should carry, computed over pseudo-header, header and data. */
  readonly correct: number;
}

/** Adds 16-bit big-endian words of `bytes` to `sum` in ones' complement (odd length padded with a zero byte). */
function onesSum(bytes: Uint8Array, sum = 0): number {
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** The Internet checksum of `bytes` (RFC 1071): the complement of their ones' complement sum. */
const checksum16 = (bytes: Uint8Array): number => ~onesSum(bytes) & 0xffff;

/** Every TCP frame of `samples/<id>/packets.pcapng`, Ethernet over IPv4 as dumpcap writes on lo. */
async function framesOf(id: string): Promise<Frame[]> {
  const packets = new CaptureFileParser().push(await readFile(path.join(SAMPLES, id, 'packets.pcapng')));
  const out: Frame[] = [];
  for (const p of packets) {
    const seg = decodeTcp(p);
    if ('skipped' in seg) continue;
    const ip = p.data.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    const tcpLength = ((ip[2]! << 8) | ip[3]!) - ihl;
    const tcp = Uint8Array.from(ip.subarray(ihl, ihl + tcpLength));
    const pseudoHeader = Uint8Array.from([...ip.subarray(12, 20), 0, 6, tcpLength >> 8, tcpLength & 0xff]);
    const field = (tcp[16]! << 8) | tcp[17]!;
    tcp[16] = 0;
    tcp[17] = 0;
    out.push({ seg, checksum: field, pseudo: onesSum(pseudoHeader), correct: ~onesSum(tcp, onesSum(pseudoHeader)) & 0xffff });
  }
  return out;
}

const has = (seg: TcpSegment, flag: number) => (seg.flags & flag) !== 0;
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

describe('lessons 11 and 14', () => {
  it('exist in both languages as lessons 11 and 14, made on their own samples', () => {
    for (const [slug, order, owned] of [['connections', 11, 'reset-unread-bytes'], ['integrity', 14, 'sha256-client']] as const) {
      for (const l of both(slug)) {
        expect(l.order).toBe(order);
        expect(l.owns).toEqual([owned]);
        expect(l.body).toMatch(l.lang === 'en' ? /^\*\*Objective:\*\*/ : /^\*\*Objetivo:\*\*/);
      }
    }
  });

  it('ask for a prediction before each reveal', () => {
    for (const l of [...both('connections'), ...both('integrity')]) {
      const before = l.body.slice(0, l.body.indexOf('## Exerc'));
      const predictions = before.match(l.lang === 'en' ? /\*\*Predict[^*]*\*\*/g : /\*\*(Antes de continuar, tente prever|Tente prever)[^*]*\*\*/g) ?? [];
      expect(predictions.length, `${l.slug}.${l.lang}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('use Kurose & Ross’s Portuguese names for the handshake, the close, the half-close and the checksum', () => {
    const pt = lesson('connections', 'pt').body;
    for (const word of ['**apresentação de três vias** (*three-way handshake*)', 'encerramento', '**meio-fechada**', 'Meio-fechamento']) expect(pt).toContain(word);
    expect(lesson('integrity', 'pt').body).toContain('**soma de verificação** (*checksum*)');
  });

  it.each(['connections', 'integrity'].flatMap((slug) => (['en', 'pt'] as const).map((lang) => [slug, lang] as const)))(
    '%s.%s shows the answers only to the teacher, with every embed and fact resolved',
    async (slug, lang) => {
      const l = lesson(slug, lang);
      const summary = lang === 'en' ? 'Answers for the teacher' : 'Respostas para o professor';
      const student = await request(app).get(`/lessons/${slug}${q(lang)}`).expect(200);
      expect(student.text).not.toContain(summary);
      expect(student.text).not.toContain('<details class="answers">');
      const firstAnswer = answers(l.body).split('\n').find((line) => line.startsWith('1. '))!.slice(3, 40);
      expect(student.text).not.toContain(firstAnswer);
      const teacher = request.agent(app);
      await teacher.get(`/lessons/${slug}?token=${TOKEN}${q(lang, '&')}`).expect(303);
      const page = await teacher.get(`/lessons/${slug}${q(lang)}`).expect(200);
      expect(page.text).toContain(summary);
      for (const res of [student, page]) {
        expect(res.text).not.toMatch(/\{\{[^}]*\}\}/);
        expect((res.text.match(/<figure class="embed">/g) ?? []).length).toBe((l.body.match(/^```wirestep$/gm) ?? []).length);
      }
      expect((l.body.match(/^```wirestep$/gm) ?? []).length).toBeGreaterThanOrEqual(2);
    },
  );

  it.each([
    ['reset-unread-bytes', 'connections'],
    ['sha256-client', 'integrity'],
  ])('links every kind of step page of %s back to lesson %s, in both languages', async (id, slug) => {
    for (const lang of ['en', 'pt'] as const) {
      for (const by of ['field', 'op']) {
        const res = await request(app).get(`/captures/${id}/steps/1?by=${by}${q(lang, '&')}`).expect(200);
        expect(res.text).toMatch(new RegExp(`class="lesson-link">[^<]+<a href="/lessons/${slug}${lang === 'pt' ? '\\?lang=pt' : ''}">`));
      }
    }
  });
});

describe('lesson 11’s numbers, read from the samples’ packets.pcapng', () => {
  it('three-views: the handshake and the two FINs are the frames and numbers the tables show', async () => {
    const meta = await readMeta(path.join(SAMPLES, 'three-views'));
    const server = meta.server!.port;
    const frames = (await framesOf('three-views')).map((f) => f.seg);
    const conn = frames.filter((s) => s.src.port === server || s.dst.port === server);
    const [syn, synAck, ack] = conn;
    expect(has(syn!, TCP_FLAGS.syn) && !has(syn!, TCP_FLAGS.ack)).toBe(true);
    expect(has(synAck!, TCP_FLAGS.syn) && has(synAck!, TCP_FLAGS.ack)).toBe(true);
    expect(synAck!.ack).toBe((syn!.seq + 1) >>> 0);
    expect(ack!.flags).toBe(TCP_FLAGS.ack);
    // Everything before the SYN is the recording's probe of dumpcap, on another port.
    expect(frames.slice(0, syn!.frame - 1).every((s) => s.src.port !== server && s.dst.port !== server)).toBe(true);
    const fins = conn.filter((s) => has(s, TCP_FLAGS.fin));
    expect(fins.map((s) => s.dst.port === server)).toEqual([true, false]);
    const [clientFin, serverFin] = fins as [TcpSegment, TcpSegment];
    const last = conn.at(-1)!;
    const rel = (s: TcpSegment, isn: number) => (s.seq - isn) >>> 0;
    const bytes = meta.streamBytes!;
    const client = syn!.src.port;
    expect(rel(clientFin, syn!.seq)).toBe(bytes + 1);
    expect((serverFin.ack - syn!.seq) >>> 0).toBe(bytes + 2);
    expect(last.frame).toBe(serverFin.frame + 1);
    const rows = [
      `| ${syn!.frame} | ${client} → ${server} | SYN | 0 | | ${syn!.seq} |`,
      `| ${synAck!.frame} | ${server} → ${client} | SYN, ACK | 0 | 1 | ${synAck!.seq} |`,
      `| ${ack!.frame} | ${client} → ${server} | ACK | 1 | 1 | ${ack!.seq} |`,
      `| ${clientFin.frame} | ${client} → ${server} | FIN, ACK | ${bytes + 1} | 1 |`,
      `| ${serverFin.frame} | ${server} → ${client} | FIN, ACK | 1 | ${bytes + 2} |`,
      `| ${last.frame} | ${client} → ${server} | ACK | ${bytes + 2} | 2 |`,
    ];
    for (const l of both('connections')) {
      for (const row of rows) expect(l.body).toContain(row);
      expect(l.body).toContain(`tcp.port == ${server}`);
      expect(answers(l.body)).toContain(`${syn!.frame} (SYN, `);
      for (const n of [syn!.seq, synAck!.seq, (syn!.seq + 1) >>> 0, bytes + 1, bytes + 2]) expect(answers(l.body)).toContain(String(n));
    }
  });

  it('three-views: client.py closed first, before nearly all of server.py’s recv() calls', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'three-views'));
    try {
      const sent = await reader.events('sender', 0, reader.eventCount('sender'));
      const got = await reader.events('receiver', 0, reader.eventCount('receiver'));
      const close = sent.find((e) => e.type === 'close')!;
      const reads = got.filter((e) => e.type === 'read');
      expect(reads.filter((e) => e.timeUs > close.timeUs).length / reads.length).toBeGreaterThan(0.9);
      const serverClose = got.find((e) => e.type === 'close')!;
      expect(serverClose.timeUs).toBeGreaterThan(close.timeUs);
    } finally {
      await reader.close();
    }
  });

  it('reset-unread-bytes: server.py read 143 bytes and closed with 5 unread, its system reset, and the sender’s next write failed', async () => {
    const id = 'reset-unread-bytes';
    const meta = await readMeta(path.join(SAMPLES, id));
    const server = meta.server!.port;
    const client = meta.client!.port;
    const conn = (await framesOf(id)).map((f) => f.seg).filter((s) => s.src.port === server || s.dst.port === server);
    const isn = { client: conn[0]!.seq, server: conn[1]!.seq };
    const rst = conn.at(-1)!;
    const before = conn.at(-2)!;
    expect(rst.src.port).toBe(server);
    expect(has(rst, TCP_FLAGS.rst)).toBe(true);
    expect(conn.some((s) => has(s, TCP_FLAGS.fin))).toBe(false);
    expect(before.dst.port).toBe(server);
    const reader = await CaptureReader.open(path.join(SAMPLES, id));
    try {
      const got = (await reader.events('receiver', 0, reader.eventCount('receiver'))).filter((e) => e.type === 'read');
      const read = got.reduce((n, e) => n + e.length, 0);
      expect(read).toBe(4 + 128 + 8 + 3);
      expect(got.at(-1)!.call).toMatchObject({ name: 'recv', asked: 3 });
      expect(got).toHaveLength(19);
      const stream = reader.streamLength;
      expect(stream - read).toBe(5);
      expect((rst.ack - isn.client) >>> 0).toBe(stream + 1);
      expect(meta.errors).toEqual([expect.objectContaining({ side: 'sender', reason: { kind: 'socket-error', code: 'ECONNRESET' } })]);
      // The error came with the next write, one --delay-ms after the last, not when the RST arrived.
      const sent = await reader.events('sender', 0, reader.eventCount('sender'));
      const lastWrite = sent.filter((e) => e.type === 'write').at(-1)!;
      const serverClose = (await reader.events('receiver', 0, reader.eventCount('receiver'))).find((e) => e.type === 'close')!;
      expect(meta.options).toMatchObject({ lieSize: '3', chunk: 8, delayMs: 20 });
      expect(serverClose.timeUs).toBeGreaterThan(lastWrite.timeUs);
      expect(meta.errors[0]!.timeUs - lastWrite.timeUs).toBeGreaterThanOrEqual(20_000);
      const wire = await reader.events('wire', 0, reader.eventCount('wire'));
      expect(wire.some((e) => (e.flags & 16) !== 0)).toBe(false);
      const rows = [
        `| ${before.frame} | ${client} → ${server} | PSH, ACK | ${(before.seq - isn.client) >>> 0} | ${(before.ack - isn.server) >>> 0} | ${before.payload.length} |`,
        `| ${rst.frame} | ${server} → ${client} | RST, ACK | ${(rst.seq - isn.server) >>> 0} | ${stream + 1} | 0 |`,
      ];
      for (const l of both('connections')) {
        for (const row of rows) expect(l.body).toContain(row);
        expect(l.body).toContain(`tcp.port == ${server}`);
        expect(l.body).toContain(l.lang === 'en' ? `had read ${read} bytes and closed with bytes ${read} to ${stream - 1} unread` : `tinha lido ${read} bytes e fechou com os bytes ${read} a ${stream - 1} por ler`);
        expect(answers(l.body)).toContain(`${read} bytes (4 + 128 + 8 + 3)`);
      }
    } finally {
      await reader.close();
    }
  });

  it('three-views: every recv() of server.py came after client.py’s close(), and the lesson counts them from the capture', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'three-views'));
    try {
      const sent = await reader.events('sender', 0, reader.eventCount('sender'));
      const reads = (await reader.events('receiver', 0, reader.eventCount('receiver'))).filter((e) => e.type === 'read');
      const close = sent.find((e) => e.type === 'close')!;
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.every((e) => e.timeUs > close.timeUs)).toBe(true);
      // close() returned before the client's system had sent every byte: the last data segment came later.
      const wire = await reader.events('wire', 0, reader.eventCount('wire'));
      expect(wire.filter((e) => e.length > 0).at(-1)!.timeUs).toBeGreaterThan(close.timeUs);
      expect(lesson('connections', 'en').body).toContain('the trace shows all {{three-views.reads}} of `server.py`');
      expect(lesson('connections', 'pt').body).toContain('mostra todas as {{three-views.reads}} chamadas `recv()`');
      for (const lang of ['en', 'pt'] as const) {
        const page = await request(app).get(`/lessons/connections${q(lang)}`).expect(200);
        expect(page.text).toContain(lang === 'en' ? `all ${formatInteger(reads.length, 'en')} of` : `todas as ${formatInteger(reads.length, 'pt')} chamadas`);
      }
    } finally {
      await reader.close();
    }
  });

  it('reset-unread-bytes: the failed write came the capture’s own number of ms after the last one, not the 20 ms pause, and the count went in one 4-byte write', async () => {
    const id = 'reset-unread-bytes';
    const meta = await readMeta(path.join(SAMPLES, id));
    const reader = await CaptureReader.open(path.join(SAMPLES, id));
    try {
      const writes = (await reader.events('sender', 0, reader.eventCount('sender'))).filter((e) => e.type === 'write');
      expect(writes.map((e) => e.length)).toEqual([4, ...Array<number>(writes.length - 1).fill(8)]);
      const ms = Math.round((meta.errors[0]!.timeUs - writes.at(-1)!.timeUs) / 1000);
      // Recorded: 30.6 ms, more than the pause alone.
      expect(ms).toBeGreaterThan(20);
      for (const l of both('connections')) {
        expect(l.body).not.toMatch(/20 ms (later|depois escreveu)/);
        expect(l.body).toContain('{{reset-unread-bytes.error-after-write-ms}} ms');
      }
      for (const lang of ['en', 'pt'] as const) {
        const page = await request(app).get(`/lessons/connections${q(lang)}`).expect(200);
        expect(page.text).toContain(lang === 'en' ? `its next write, ${ms} ms after the last one that went through` : `a escrita seguinte, ${ms} ms depois da última que passou`);
      }
    } finally {
      await reader.close();
    }
  });

  it('lessons 11 and 14 give the PowerShell form beside each command a student types in a shell', () => {
    for (const l of [...both('connections'), ...both('integrity')]) {
      // Shell commands: tshark blocks, plus the inline ss and wirestep send commands.
      const shellBlocks = (l.body.match(/^```\ntshark /gm) ?? []).length;
      const inline = ['`ss -tan state time-wait`', '`npx wirestep send'].filter((c) => l.body.includes(c)).length;
      expect((l.body.match(/PowerShell/g) ?? []).length, `${l.slug}.${l.lang}`).toBeGreaterThanOrEqual(shellBlocks + inline);
      if (l.body.includes('`ss -tan state time-wait`')) expect(l.body).toContain('`Get-NetTCPConnection -State TimeWait`');
    }
  });
});

describe('lesson 14’s numbers', () => {
  it('the ones’ complement examples: swapped words and errors that cancel keep the checksum, as the lesson says', () => {
    const cs = (h: string) => checksum16(Buffer.from(h.replace(/ /g, ''), 'hex'));
    expect(hex4(cs('41 42 43 44')).toUpperCase()).toBe('7B79');
    expect(cs('43 44 41 42')).toBe(cs('41 42 43 44'));
    expect(cs('41 43 43 43')).toBe(cs('41 42 43 44'));
    expect(cs('41 42 43 45')).not.toBe(cs('41 42 43 44'));
    expect(hex4(cs('4F 69 21 0A 00 00')).toUpperCase()).toBe('8F8C');
    for (const same of ['21 0A 4F 69 00 00', '4F 6A 21 09 00 00', '4F 69 21 0A FF FF']) expect(cs(same)).toBe(cs('4F 69 21 0A 00 00'));
    for (const l of both('integrity')) {
      expect(l.body).toContain('`7B79`');
      for (const same of ['21 0A 4F 69 00 00', '4F 6A 21 09 00 00', '4F 69 21 0A FF FF', '`8F8C`']) expect(answers(l.body)).toContain(same);
      const magic = Buffer.from('WS02').readUInt32BE(0);
      expect(l.body).toContain(`${formatInteger(magic, l.lang)} ${l.lang === 'en' ? 'files' : 'arquivos'}`);
      expect(answers(l.body)).toContain(formatInteger(0x02000000, l.lang));
      expect(answers(l.body)).toContain(formatInteger(0x02ffffff, l.lang));
    }
  });

  it('sha256-client: every checksum in its packets.pcapng is the pseudo-header’s sum alone, never the full checksum, as the lesson shows', async () => {
    const meta = await readMeta(path.join(SAMPLES, 'sha256-client'));
    const server = meta.server!.port;
    const frames = await framesOf('sha256-client');
    const conn = frames.filter((f) => f.seg.src.port === server || f.seg.dst.port === server);
    for (const f of conn) {
      expect(f.checksum, `frame ${f.seg.frame}`).toBe(f.pseudo);
      expect(f.checksum).not.toBe(f.correct);
    }
    const syn = conn[0]!;
    const count = conn.find((f) => f.seg.payload.length === 4)!;
    const fin = conn.find((f) => has(f.seg, TCP_FLAGS.fin))!;
    const rst = conn.at(-1)!;
    expect(has(syn.seg, TCP_FLAGS.syn)).toBe(true);
    expect([fin.seg.dst.port, rst.seg.src.port, has(rst.seg, TCP_FLAGS.rst)]).toEqual([server, server, true]);
    expect(rst.seg.frame).toBe(fin.seg.frame + 1);
    for (const l of both('integrity')) {
      expect(l.body).toContain(`tcp.port == ${server}`);
      expect(l.body).toContain(`${l.lang === 'en' ? 'of its' : 'dos'} ${conn.length} ${l.lang === 'en' ? 'frames' : 'quadros dela'}`);
      expect(l.body).toContain(`(${l.lang === 'en' ? 'frame' : 'quadro'} ${syn.seg.frame}, `);
      expect(l.body).toContain(`\`0x${hex4(syn.checksum)}\``);
      expect(hex4(syn.checksum)).toBe('fe30');
      expect(l.body).toContain(`(${l.lang === 'en' ? 'frame' : 'quadro'} ${fin.seg.frame})`);
      expect(l.body).toContain(`(${l.lang === 'en' ? 'frame' : 'quadro'} ${rst.seg.frame})`);
      expect(l.body).toContain(`${l.lang === 'en' ? 'frame' : 'quadro'} ${count.seg.frame} `);
      expect(answers(l.body)).toContain(`\`0x${hex4(count.checksum)}\``);
      expect(answers(l.body)).toContain(hex4(count.checksum).toUpperCase());
    }
  });

  it('sha256-client: the 32 bytes after file 1 are its SHA-256, and server.py read 301 bytes, the hash as the next name', async () => {
    const reader = await CaptureReader.open(path.join(SAMPLES, 'sha256-client'));
    try {
      const stream = await readFile(path.join(SAMPLES, 'sha256-client', 'stream.bin'));
      const file1 = Buffer.from(referenceFiles()[0]!.text);
      expect(stream.subarray(140, 173)).toEqual(file1);
      const hash = createHash('sha256').update(file1).digest();
      expect(stream.subarray(173, 205)).toEqual(hash);
      const shown = [...hash.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const got = (await reader.events('receiver', 0, reader.eventCount('receiver'))).filter((e) => e.type === 'read');
      const read = got.reduce((n, e) => n + e.length, 0);
      expect(read).toBe(4 + 128 + 8 + 33 + 128);
      expect(reader.streamLength).toBe(4 + 2 * (128 + 8 + 33 + 32));
      const size2 = stream.readBigUInt64BE(301);
      for (const l of both('integrity')) {
        expect(l.body).toContain(`\`${shown} …\``);
        expect(l.body).toMatch(new RegExp(`\\b${read} ${l.lang === 'en' ? 'of the' : 'dos'} \\{\\{sha256-client\\.bytes\\}\\}`));
        expect(answers(l.body)).toContain(`= ${read} `);
        expect(answers(l.body)).toContain(`${reader.streamLength - read} `);
        expect(l.body).toContain(formatInteger(size2, l.lang));
      }
    } finally {
      await reader.close();
    }
  });
});

describe('what the lessons say the reference programs do, run here', () => {
  it('client_sha256.py to server.py: the first file is saved, then server.py stops on the hash’s first byte, as lesson 14 quotes', async () => {
    await withTempDir(async (dir) => {
      const send = path.join(dir, 'enviar');
      const out = path.join(dir, 'recebidos');
      await mkdir(send);
      for (const f of referenceFiles().slice(0, 2)) await writeFile(path.join(send, f.name), f.text);
      const server = await startAssignmentServer(out);
      try {
        const client = await runToEnd(PYTHON, [path.join(ROOT, 'scripts', 'programs', 'client_sha256.py'), '--port', String(server.port), '--folder', send], { env: PY_ENV });
        // Whether the client finishes before server.py's reset reaches it depends on timing: the sample's did; a slower one raises.
        if (client.code === 0) expect(client.stdout).toContain('Todos os arquivos foram enviados.');
        else expect(client.stderr).toMatch(/(ConnectionResetError|BrokenPipeError)/);
        const [first, second] = [...client.stdout.matchAll(/Enviando: (\S+)/g)].map((m) => m[1]!);
        const hash = createHash('sha256').update(await readFile(path.join(send, first!))).digest();
        // What server.py takes as the second name: the hash, then the first 96 bytes of the real name field.
        const name = Buffer.concat([hash, Buffer.from(second!.padEnd(128, ' '))]).subarray(0, 128);
        const why = execFileSync(PYTHON, ['-c', 'import sys\ntry:\n    bytes.fromhex(sys.argv[1]).decode()\nexcept UnicodeDecodeError as e:\n    print(e)', name.toString('hex')], { encoding: 'utf8' }).trim();
        expect(why).toMatch(/^'utf-8' codec can't decode byte 0x/);
        await server.output.waitFor(`[x] Erro: ${why}`);
        expect(server.output.text()).toContain(`${first} salvo com sucesso.`);
        expect(await readdir(out)).toEqual([first]);
        expect((await stat(path.join(out, first))).size).toBe(33);
        for (const l of both('integrity')) {
          if (first === 'arquivo_1.txt') expect(l.body).toContain(`[x] Erro: ${why}`);
          expect(l.body).toContain('[x] Erro: \'utf-8\' codec can\'t decode byte 0xfb in position 0: invalid start byte');
        }
      } finally {
        await server.stop();
      }
    });
  });

  it('server.py closing with bytes unread resets the connection: the next send() raises ConnectionResetError, the one after BrokenPipeError', async () => {
    await withTempDir(async (dir) => {
      const server = await startAssignmentServer(dir);
      try {
        const script = `
import json, select, socket, struct, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
contents = 'Este é o conteúdo do arquivo 1\\n'.encode()
s.sendall(struct.pack('!I', 1) + b'arquivo_1.txt'.ljust(128, b' ') + struct.pack('!Q', 3) + contents)
# Wait until the server's answer arrives: only a reset can make this socket readable.
select.select([s], [], [], 60)
out = []
for _ in range(2):
    try:
        s.send(b'x')
        out.append('sent')
    except OSError as e:
        out.append(type(e).__name__)
print(json.dumps(out))`;
        const r = await runToEnd(PYTHON, ['-c', script, String(server.port)], { env: PY_ENV });
        expect(r.stderr).toBe('');
        expect(JSON.parse(r.stdout)).toEqual(['ConnectionResetError', 'BrokenPipeError']);
        await server.output.waitFor('arquivo_1.txt salvo com sucesso.');
        expect(server.output.text()).toContain('1. arquivo_1.txt (3 bytes)');
        for (const l of both('connections')) for (const w of ['`ConnectionResetError` (`ECONNRESET`)', '`BrokenPipeError` (`EPIPE`)', '`arquivo_1.txt salvo com sucesso.`']) expect(l.body).toContain(w);
      } finally {
        await server.stop();
      }
    });
  });

  it('server.py closing first leaves its port in TIME_WAIT: a restart fails with errno 98 until server.py sets SO_REUSEADDR, which still cannot share a listening port', async () => {
    await withTempDir(async (dir) => {
      // server.py with the lesson's one line before bind().
      const reference = await readFile(ASSIGNMENT.server, 'utf8');
      const fixed = reference.replace('    server_socket.bind((host, port))', '    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n    server_socket.bind((host, port))');
      expect(fixed).not.toBe(reference);
      const fixedPath = path.join(dir, 'server_reuse.py');
      await writeFile(fixedPath, fixed);
      for (const f of both('connections')) expect(f.body).toContain('server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\nserver_socket.bind((host, port))');

      const reference1 = await leaveTimeWait(ASSIGNMENT.server, dir);
      const restart = await startServer(ASSIGNMENT.server, reference1, dir);
      expect(restart.listening).toBe(false);
      expect(restart.output).toContain('OSError: [Errno 98] Address already in use');
      // The connection in TIME_WAIT was made without SO_REUSEADDR: setting it now is not enough.
      expect((await startServer(fixedPath, reference1, dir)).listening).toBe(false);

      const fixed1 = await leaveTimeWait(fixedPath, dir);
      const again = await startServer(fixedPath, fixed1, dir, async () => {
        const second = await startServer(fixedPath, fixed1, dir);
        expect(second.listening).toBe(false);
        expect(second.output).toContain('OSError: [Errno 98] Address already in use');
      });
      expect(again.listening).toBe(true);
    });
    for (const l of both('connections')) {
      for (const w of ['OSError: [Errno 98] Address already in use', 'SO_REUSEADDR', 'TIME_WAIT', '2·MSL', '60', 'shutdown(SHUT_WR)', 'RFC 1122']) expect(l.body).toContain(w);
    }
  });

});

/** Whether a connection whose local port is `port` is in TIME_WAIT (state 06 of /proc/net/tcp). */
async function inTimeWait(port: number): Promise<boolean> {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return (await readFile('/proc/net/tcp', 'utf8')).split('\n').some((line) => {
    // Lines are right-aligned on their number: from the 10,000th on there is no leading space.
    const [, address, , state] = line.trim().split(/\s+/);
    return address?.endsWith(local) === true && state === '06';
  });
}

/**
 * Runs the Python server `program` on `port` (0: any free one) until it listens or ends; while it
 * listens, runs `during` with its port, then kills it. Says whether it listened, and what it printed.
 */
async function startServer(program: string, port: number, dir: string, during?: (port: number) => Promise<void>): Promise<{ listening: boolean; output: string }> {
  const child = spawn(PYTHON, [program, '--port', String(port), '--out', dir], { env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = watchOutput(child);
  const closed = new Promise((resolve) => child.once('close', resolve));
  try {
    await output.waitFor(/Servidor ouvindo em [^\n]*\n|Traceback/);
    const listening = /Servidor ouvindo em [^\n]*:(\d+)\n/.exec(output.text());
    // A traceback is printed whole before the process ends: wait for that end.
    if (!listening) {
      await closed;
      return { listening: false, output: output.text() };
    }
    await during?.(Number(listening[1]));
    return { listening: true, output: output.text() };
  } finally {
    child.kill('SIGKILL');
    await closed;
  }
}

/**
 * Makes the Python server `program` close first: a client sends a count of 0 and waits for the
 * server's FIN before closing. Returns once the server's side is in TIME_WAIT, the server killed.
 */
async function leaveTimeWait(program: string, dir: string): Promise<number> {
  let port = 0;
  // Port 0: server.py says which one it got, so no other test can take it in between.
  const { listening } = await startServer(program, 0, dir, async (p) => {
    port = p;
    const sock = net.connect(port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      const ended = new Promise<void>((resolve) => sock.once('end', resolve));
      sock.write(Buffer.alloc(4));
      await ended;
      const closed = new Promise<void>((resolve) => sock.once('close', resolve));
      sock.end();
      await closed;
    } finally {
      sock.destroy();
    }
    // Once the client's FIN is acknowledged; a condition, polled.
    for (let i = 0; !(await inTimeWait(port)); i++) {
      if (i > 1000) throw new Error(`no TIME_WAIT on port ${port}`);
      await delay(20);
    }
  });
  expect(listening).toBe(true);
  return port;
}
