import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { type CaptureEvent, CaptureReader, CaptureStore, type Side } from '../../src/capture/index.js';
import { referenceFiles } from '../../src/net/index.js';
import { freePort } from '../../src/net/ports.js';
import { protocolText } from '../../src/protocol/index.js';
import { createApp } from '../../src/web/app.js';
import { CATALOGS } from '../../src/web/i18n.js';
import { LessonError, loadLessons, parseEmbed } from '../../src/web/lessons.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const lessons = loadLessons(path.join(ROOT, 'lessons'));
const store = new CaptureStore([path.join(ROOT, 'samples')]);
const app = createApp({ store });
const known = new Set((await store.list()).map((l) => l.id));

afterAll(async () => {
  await app.closeCaptures();
});

const slugs = (lang: string) => lessons.filter((l) => l.lang === lang).map((l) => l.slug);

describe('the lessons', () => {
  it('are the ones the course needs, in English and Portuguese alike, in the same order', () => {
    expect(slugs('en')).toEqual(['sockets', 'byte-stream', 'framing', 'byte-order', 'text-in-fields', 'exact-reads', 'broken-streams', 'trust', 'scale', 'lab', 'connections', 'segments', 'flow-control', 'integrity']);
    expect(slugs('pt')).toEqual(slugs('en'));
    for (const l of lessons) {
      const twin = lessons.find((x) => x.slug === l.slug && x.lang !== l.lang)!;
      expect([l.order, [...l.fields], [...l.ops]]).toEqual([twin.order, [...twin.fields], [...twin.ops]]);
    }
  });

  it.each(lessons.map((l) => [`${l.slug}.${l.lang}`, l] as const))('%s uses only bundled captures and has exercises with answers', (_name, l) => {
    for (const id of l.samples) expect(known.has(id), `${id} in ${l.slug}.${l.lang}`).toBe(true);
    expect(l.body).toMatch(l.lang === 'en' ? /^## Exercises$/m : /^## Exercícios$/m);
    expect(l.body).toMatch(/<details class="answers">\n<summary>(Answers for the teacher|Respostas para o professor)<\/summary>/);
  });

  it.each(lessons.map((l) => [`${l.slug}.${l.lang}`, l] as const))('%s renders with every embed and fact resolved', async (_name, l) => {
    const res = await request(app).get(`/lessons/${l.slug}${l.lang === 'pt' ? '?lang=pt' : ''}`).expect(200);
    expect(res.text).not.toMatch(/\{\{[^}]*\}\}/);
    expect(res.text).not.toContain('```wirestep');
    const embeds = (l.body.match(/^```wirestep$/gm) ?? []).length;
    expect((res.text.match(/<figure class="embed">/g) ?? []).length).toBe(embeds);
    expect(res.text).toContain(`<html lang="${l.lang === 'pt' ? 'pt-BR' : 'en'}">`);
  });

  it('has the same message keys in both languages', () => {
    expect(Object.keys(CATALOGS.pt).sort()).toEqual(Object.keys(CATALOGS.en).sort());
  });

  it.each([
    ['/captures/demo-10-files/steps/1', 'byte-order'],
    ['/captures/demo-10-files/steps/2', 'text-in-fields'],
    ['/captures/demo-10-files/steps/3?lang=pt', 'byte-order?lang=pt'],
    ['/captures/demo-10-files/steps/4', 'exact-reads'],
    ['/captures/trailing-bytes/steps/5', 'broken-streams'],
    ['/captures/demo-10-files/steps/1?by=op', 'sockets'],
  ])('links %s to the lesson that explains it (%s)', async (url, lesson) => {
    const res = await request(app).get(url).expect(200);
    expect(res.text).toContain(`class="lesson-link">`);
    expect(res.text).toMatch(new RegExp(`class="lesson-link">[^<]+<a href="/lessons/${lesson.replace('?', '\\?')}">`));
  });

  it('links a write or a read to the lesson on byte streams', async () => {
    const api = await request(app).get('/api/captures/demo-10-files').expect(200);
    for (let n = 1; n <= api.body.opSteps; n++) {
      const step = (await request(app).get(`/api/captures/demo-10-files/steps/${n}?by=op`).expect(200)).body;
      if (step.event.type !== 'write') continue;
      const res = await request(app).get(`/captures/demo-10-files/steps/${n}?by=op`).expect(200);
      expect(res.text).toContain('<a href="/lessons/byte-stream">');
      return;
    }
    throw new Error('no write in demo-10-files');
  });
});

describe('links across the site', () => {
  it('all resolve, from the home page, the lesson pages and every page they link to', async () => {
    const seen = new Map<string, number>();
    const start = ['/', '/?lang=pt', '/lessons', '/lessons?lang=pt', ...lessons.map((l) => `/lessons/${l.slug}${l.lang === 'pt' ? '?lang=pt' : ''}`)];
    let frontier = start;
    for (let depth = 0; depth < 2 && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const url of frontier) {
        if (seen.has(url)) continue;
        const res = await request(app).get(url);
        seen.set(url, res.status);
        if (res.status !== 200 || !res.type.includes('html')) continue;
        for (const [, href] of res.text.matchAll(/href="(\/[^"#]*)/g)) {
          const clean = href!.replace(/&amp;/g, '&');
          if (!seen.has(clean) && !clean.startsWith('/static/')) next.push(clean);
        }
      }
      frontier = [...new Set(next)];
    }
    const broken = [...seen].filter(([, status]) => status !== 200);
    expect(broken).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
  });
});

describe('lesson format errors', () => {
  it('names the file and the key that is wrong', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-lessons-'));
    try {
      await writeFile(path.join(dir, 'x.en.md'), '---\ntitle: X\norder: one\nlang: en\n---\nbody\n');
      expect(() => loadLessons(dir)).toThrow(new LessonError('x.en.md: "order" is not a whole number'));
      await writeFile(path.join(dir, 'x.en.md'), '---\ntitle: X\norder: 1\nlang: pt\n---\nbody\n');
      expect(() => loadLessons(dir)).toThrow(/"lang" is not "en"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks a wirestep block', () => {
    expect(parseEmbed('capture: demo-10-files\nstep: 2\n', 'here')).toEqual({ capture: 'demo-10-files', by: 'field', n: 2 });
    expect(parseEmbed('capture: slow-link\nread: 3\n', 'here')).toEqual({ capture: 'slow-link', by: 'read', n: 3 });
    expect(() => parseEmbed('capture: x\nstep: 1\nread: 2\n', 'here')).toThrow(/exactly one of/);
    expect(() => parseEmbed('step: 1\n', 'here')).toThrow(/no "capture"/);
  });
});

describe('lessons on a site whose captures folder has no samples', () => {
  it('still show the bundled samples, and so do the step pages they link to, while the home page lists only that folder', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'wirestep-no-samples-'));
    const bare = createApp({ store: new CaptureStore([empty]) });
    try {
      const lesson = await request(bare).get('/lessons/byte-stream').expect(200);
      const steps = [...new Set([...lesson.text.matchAll(/href="(\/captures\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')))];
      expect(steps.length).toBeGreaterThan(0);
      for (const href of steps) await request(bare).get(href).expect(200);
      await request(bare).get('/captures/demo-10-files/steps/1?by=field').expect(200);
      const listed = await request(bare).get('/api/captures').expect(200);
      expect(listed.body.captures).toEqual([]);
    } finally {
      await bare.closeCaptures();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

const lesson = (slug: string, lang: 'en' | 'pt') => lessons.find((l) => l.slug === slug && l.lang === lang)!;
const both = (slug: string) => [lesson(slug, 'en'), lesson(slug, 'pt')] as const;
const answers = (body: string) => body.slice(body.indexOf('<details class="answers">'));

describe('the second edition’s corrections', () => {
  it('no lesson keeps a sentence that was found wrong or unidiomatic', () => {
    const wrong = [
      'vanish without notice', 'disappear without a word', 'somem sem aviso',
      'no byte can safely serve as a delimiter', 'no byte is safe to use as a delimiter', 'nenhum byte serve com segurança',
      'each byte is worth 256 times', 'cada byte vale 256 vezes',
      'an emoji 4', 'um emoji 4',
      'sai dos trilhos o fluxo', 'perder o passo', 'perdeu o passo', 'onde bem entende', 'são 0 arquivos', 'fazem ele aparecer',
      'Present in two minutes', 'Apresentem em dois minutos', 'one class period of about 100 minutes', 'Cabe numa aula de cerca de 100 minutos',
      'when it sees fit', 'quando achar melhor',
    ];
    for (const l of lessons) for (const phrase of wrong) expect(l.body, `${l.slug}.${l.lang}: ${phrase}`).not.toContain(phrase);
  });

  it('says which program made every read count it states: server.py, whose recv() calls the samples trace', () => {
    for (const l of lessons) {
      for (const sentence of l.body.split(/\.\s/)) {
        if (sentence.includes('.reads}}')) expect(sentence, `${l.slug}.${l.lang}`).toContain('server.py');
      }
    }
  });

  it('lessons 1 and 2 name server.py’s own recv() calls', () => {
    expect(lesson('sockets', 'en').body).toContain("`server.py`'s `recv(4)` for the count, then for each file its `recv(128)` for the name");
    expect(lesson('sockets', 'pt').body).toContain('o `recv(4)` do `server.py` para a quantidade e, para cada arquivo, um `recv(128)` para o nome');
    expect(lesson('byte-stream', 'en').body).toContain("`server.py`'s `recv(4)`");
    expect(lesson('byte-stream', 'pt').body).toContain('o `recv(4)` do `server.py`');
  });

  it('lesson 1 names the FIN that server.py never reads, and gives the Portuguese name of the handshake', () => {
    for (const l of both('sockets')) {
      expect(l.body).toContain('**FIN**');
      expect(l.body).toMatch(l.lang === 'en' ? /`server\.py` never sees it/ : /O `server\.py` nem fica sabendo/);
      expect(l.body).toContain(l.lang === 'en' ? "`recv()` returns `b''`" : "o `recv()` devolve `b''`");
    }
    expect(lesson('sockets', 'pt').body).toContain('apresentação de três vias');
  });

  it('lesson 2 says what cuts segments (MSS, Nagle, windows) and what cuts reads', () => {
    for (const l of both('byte-stream')) for (const word of ['MSS', 'Nagle', 'recv()']) expect(l.body).toContain(word);
  });

  it('lesson 3 compares five ways to frame in a table, in both languages, and knows HTTP lines end in CR LF', async () => {
    for (const l of both('framing')) {
      const res = await request(app).get(`/lessons/framing${l.lang === 'pt' ? '?lang=pt' : ''}`).expect(200);
      const tables = [...res.text.matchAll(/<table>[\s\S]*?<\/table>/g)].map((m) => m[0]);
      const comparison = tables.find((t) => t.includes('base64'));
      expect(comparison, `${l.lang}: the comparison table`).toBeDefined();
      const heads = l.lang === 'en'
        ? ['fixed size', 'length prefix', 'delimiter', 'closing the connection', 'chunks (HTTP/1.1)']
        : ['tamanho fixo', 'prefixo de tamanho', 'delimitador', 'fechar a conexão', 'blocos (HTTP/1.1)'];
      for (const h of heads) expect(comparison).toContain(`<th>${h}</th>`);
      expect((comparison!.match(/<tr>/g) ?? []).length).toBe(5);
      for (const word of ['byte stuffing', 'PPP', 'base64', 'HTTP/1.0', 'Transfer-Encoding: chunked', 'CR LF', '(`0D 0A`)']) expect(l.body).toContain(word);
    }
  });

  it('lessons 3 and 10 give the Windows stream length that client.py’s cp1252 and CR LF files make', () => {
    let total = 4;
    for (let n = 1; n <= 10; n++) total += 128 + 8 + `Este é o conteúdo do arquivo ${n}`.length + 2;
    expect(total).toBe(1685);
    for (const l of [...both('framing'), ...both('lab')]) {
      expect(l.body).toMatch(new RegExp(`\\b1[,.]?${String(total).slice(1)}\\b`));
      expect(l.body).toContain('cp1252');
    }
  });

  it('lesson 4 weighs positions, not bytes, and teaches htonl/ntohl and the escape sequence \\n', () => {
    for (const l of both('byte-order')) {
      for (const word of ['htonl()', 'ntohl()', 'RFC 1700', l.lang === 'en' ? 'control character' : 'caractere de controle']) expect(l.body).toContain(word);
      expect(l.body).toMatch(l.lang === 'en' ? /each position weighs 256 times/ : /cada posição tem peso 256 vezes/);
      expect(answers(l.body)).not.toMatch(/line-break character|caractere de quebra de linha/);
    }
  });

  it('lesson 5 gives the UTF-8 bytes of the emoji client.py prints exactly', () => {
    const hex = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    expect(hex('✅')).toBe('E2 9C 85');
    for (const l of both('text-in-fields')) {
      const quoted = [...l.body.matchAll(/`(✅|📤)`.*?`([0-9A-F]{2}(?: [0-9A-F]{2})+)`/gu)];
      expect(quoted.map((m) => m[1]).sort()).toEqual(['✅', '📤']);
      for (const [, ch, bytes] of quoted) expect(bytes, `${l.lang}: ${ch}`).toBe(hex(ch!));
    }
  });

  it('lesson 6’s exercise 3 is a hypothetical, and its offsets are demo-10-files’ own', async () => {
    const focus = async (n: number) => (await request(app).get(`/api/captures/demo-10-files/steps/${n}?by=field`).expect(200)).body.focus as { offset: number; length: number };
    const [name2, size2, contents2, name3] = [await focus(5), await focus(6), await focus(7), await focus(8)];
    const span = (f: { offset: number; length: number }) => `${f.offset} to ${f.offset + f.length - 1}`;
    const waiting = 400 - 140 + 1;
    for (const l of both('exact-reads')) {
      const body = l.body.replaceAll(' a ', ' to ');
      expect(l.body).toMatch(l.lang === 'en' ? /suppose a busier machine/ : /imagine uma máquina mais ocupada/);
      expect(l.body).not.toMatch(/in this recording, and where|nesta gravação, e de onde/);
      for (const f of [name2, size2, contents2]) expect(body).toContain(span(f));
      expect(body).toContain(`${name3.offset} to 400`);
      expect(body).toContain(`33 − ${waiting} = −${waiting - 33}`);
      const k = 400 - name3.offset + 1;
      expect(l.body).toContain(l.lang === 'en' ? `first ${k} bytes` : `${k} primeiros bytes`);
    }
  });

  it('lesson 7 teaches the RST Linux sends when server.py closes with unread bytes', () => {
    for (const l of both('broken-streams')) {
      for (const word of ['**RST**', 'ECONNRESET', 'ConnectionResetError', 'BrokenPipeError', '--lie-size 3', l.lang === 'en' ? 'On Linux' : 'No Linux']) expect(l.body).toContain(word);
    }
  });

  it('lesson 8 says its ASCII allow-list refuses relatório_ação.txt and gives a rule, run by Python here, that accepts it', () => {
    for (const l of both('trust')) {
      const rules = [...answers(l.body).matchAll(/re\.fullmatch\(r'([^']+)', (nome|unicodedata\.normalize\('NFC', nome\))\)/g)].map((m) => [m[1]!, m[2]!.startsWith('unicodedata')] as const);
      expect(rules.length, l.lang).toBe(2);
      const script = `import re, sys, unicodedata, json\nrules = json.loads(sys.argv[1])\nout = []\nfor rule, nfc in rules:\n    f = (lambda n: unicodedata.normalize('NFC', n)) if nfc else (lambda n: n)\n    out.append([bool(re.fullmatch(rule, f(n))) for n in ['relatório_ação.txt', 'relato\\u0301rio.txt', 'notas.txt', '.bashrc', '../x', 'a/b']])\nprint(json.dumps(out))`;
      const result = JSON.parse(execFileSync('python3', ['-c', script, JSON.stringify(rules)], { encoding: 'utf8' })) as boolean[][];
      expect(result).toEqual([[false, false, true, false, false, false], [true, true, true, false, false, false]]);
      expect(answers(l.body)).toContain('relatório_ação.txt');
      expect(l.body).toMatch(/NTFS/);
    }
  });

  it('the lab takes two class periods of 100 minutes with slack in each, and has a Wireshark part and PowerShell forms', () => {
    for (const l of both('lab')) {
      const minutes: Record<string, number> = {};
      let slack = 0;
      for (const [, period, part, m] of l.body.matchAll(/^\| ([12]) \| ([^|]+) \| (\d+) \|$/gm)) {
        minutes[period!] = (minutes[period!] ?? 0) + Number(m);
        if (/slack|folga/.test(part!)) slack++;
      }
      expect(minutes).toEqual({ 1: 100, 2: 100 });
      expect(slack).toBe(2);
      expect(l.body).toMatch(l.lang === 'en' ? /two class periods/ : /duas aulas/);
      for (const word of ['--pcapng', 'Wireshark', 'PowerShell', '$HOME\\trabalho\\server.py --out', 'os.listdir()']) expect(l.body).toContain(word);
      expect(l.body).not.toMatch(/mkdir -p ~\/servidor && cd/);
    }
  });

  it('lessons 3 and 10 give the Windows stream length of Python 3.15, UTF-8 by default with CR LF still', () => {
    let total = 4;
    for (let n = 1; n <= 10; n++) total += 128 + 8 + Buffer.byteLength(`Este é o conteúdo do arquivo ${n}\r\n`);
    expect(total).toBe(1705);
    for (const l of [...both('framing'), ...both('lab')]) {
      expect(l.body).toMatch(/\b1[,.]?705\b/);
      expect(l.body).toContain('Python 3.15');
    }
    for (const l of both('framing')) expect(l.body).toContain('PEP 686');
  });

  it('quotes the shipped client.py and server.py line for line, not the course copy’s older names', async () => {
    const client = await readFile(path.join(ROOT, 'assignment', 'client.py'), 'utf8');
    const server = await readFile(path.join(ROOT, 'assignment', 'server.py'), 'utf8');
    const quoted: readonly [string, string, string][] = [
      ['framing', 'restantes = tamanho', server],
      ['exact-reads', 'while restantes > 0:', server],
      ['exact-reads', 'chunk = client_socket.recv(min(PIECE, restantes))', server],
      ['exact-reads', 'destino.write(chunk)', server],
      ['exact-reads', 'restantes -= len(chunk)', server],
      ['trust', "with open(nome, 'wb') as destino:", server],
      ['text-in-fields', "s.send(nome.encode().ljust(NAME_FIELD, b' '))", client],
      ['byte-order', "struct.pack('!I', len(nomes))", client],
    ];
    for (const [slug, line, file] of quoted) {
      expect(file, line).toContain(line);
      for (const l of both(slug)) expect(l.body, `${slug}.${l.lang}`).toContain(line);
    }
    for (const l of lessons) for (const old of ['bytes_restantes', 'len(arquivos)', 'arquivo.encode', 'as f:']) expect(l.body, `${l.slug}.${l.lang}`).not.toContain(old);
  });

  it('lesson 1’s answer key quotes what wirestep send prints when nothing listens on the port', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-refused-'));
    try {
      await writeFile(path.join(dir, 'notes.txt'), 'hello\n');
      const port = await freePort();
      const main = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [main, 'send', '--port', String(port), '--no-capture', 'notes.txt'], { cwd: dir }, (_err, _out, err) => resolve({ code: child.exitCode, stderr: err }));
      });
      expect(code).toBe(1);
      const line = `wirestep: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`;
      expect(stderr).toContain(line);
      expect(answers(lesson('sockets', 'en').body)).toContain(`\`${line.replaceAll(String(port), '8181')}\` and exits with code 1`);
      expect(answers(lesson('sockets', 'pt').body)).toContain(`\`connect ECONNREFUSED 127.0.0.1:8181\`, e sai com código 1`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lesson 7’s answer keys quote the receiver’s and the sender’s own words for a silent sender and a reset', () => {
    const en = answers(lesson('broken-streams', 'en').body);
    expect(en).toContain(protocolText('en', 'cause.idle-timeout', { seconds: 10 }));
    expect(en).toContain(protocolText('en', 'cause.peer-closed'));
    expect(answers(lesson('broken-streams', 'pt').body)).toContain(protocolText('pt', 'cause.idle-timeout', { seconds: 10 }));
    for (const l of both('broken-streams')) expect(l.body).toContain(protocolText('en', 'cause.socket-error', { code: 'ECONNRESET' }));
  });
});

/** The write or read events of `side` in sample `id`, each with its call. */
async function dataCalls(id: string, side: Side): Promise<{ events: CaptureEvent[]; reader: CaptureReader }> {
  const reader = await CaptureReader.open(path.join(ROOT, 'samples', id));
  const events = (await reader.events(side, 0, reader.eventCount(side))).filter((e) => e.type === (side === 'sender' ? 'write' : 'read'));
  return { events, reader };
}

/** What each call asked and moved, as `recv(128)=32`. */
const shown = (events: readonly CaptureEvent[]): string[] => events.map((e) => `${e.call?.name}(${e.call?.asked})=${e.length}`);

/** The sizes server.py's recv_exact() and payload loop ask for, in order, when every call returns `got`. */
function serverAsks(fields: readonly number[], got: readonly number[]): number[] {
  const asks: number[] = [];
  let i = 0;
  for (const [n, size] of fields.entries()) {
    // Fields 0 (count) and then name and size of each file are read with recv_exact; payloads in pieces of 1024.
    const payload = n > 0 && n % 3 === 0;
    for (let left = size; left > 0; i++) {
      asks.push(payload ? Math.min(1024, left) : left);
      left -= got[i] ?? left;
    }
  }
  return asks;
}

describe('the samples the lessons count, traced from the assignment’s programs', () => {
  // These are the traced programs' own call sizes, the subject of the lessons: asserting them is right.
  const fieldsOf = (sizes: readonly number[]) => [4, ...sizes.flatMap((s) => [128, 8, s])];

  it('demo-10-files: client.py makes 31 send() calls and server.py 31 recv() calls, 4 then 128, 8 and the contents per file, each returning what it asked', async () => {
    const fields = fieldsOf(referenceFiles().map((f) => Buffer.byteLength(f.text)));
    expect(fields).toHaveLength(31);
    const sent = await dataCalls('demo-10-files', 'sender');
    const got = await dataCalls('demo-10-files', 'receiver');
    try {
      expect(sent.reader.meta.programs).toMatchObject({ sender: { name: 'client.py', via: 'trace' }, receiver: { name: 'server.py', via: 'trace' } });
      expect(shown(sent.events)).toEqual(fields.map((n) => `send(${n})=${n}`));
      expect(shown(got.events)).toEqual(fields.map((n) => `recv(${n})=${n}`));
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('binary-3mib: client.py sends 1024-byte pieces, and every recv() of server.py asks for what is missing of its field, at most 1024', async () => {
    const fields = fieldsOf([3 * 1024 * 1024]);
    const sent = await dataCalls('binary-3mib', 'sender');
    const got = await dataCalls('binary-3mib', 'receiver');
    try {
      expect(shown(sent.events)).toEqual([4, 128, 8, ...Array<number>(3072).fill(1024)].map((n) => `send(${n})=${n}`));
      const moved = got.events.map((e) => e.length);
      expect(got.events.map((e) => e.call?.asked)).toEqual(serverAsks(fields, moved));
      expect(got.events.every((e) => e.call?.name === 'recv' && e.length <= e.call.asked!)).toBe(true);
      expect(moved.reduce((a, b) => a + b, 0)).toBe(got.reader.streamLength);
      expect(got.events.length).toBeGreaterThanOrEqual(3075);
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('recut-write-per-field: client.py’s one send() per field and server.py’s one recv() per field, as lesson 2 says', async () => {
    const sent = await dataCalls('recut-write-per-field', 'sender');
    const got = await dataCalls('recut-write-per-field', 'receiver');
    try {
      expect(shown(sent.events)).toEqual(['send(4)=4', 'send(128)=128', 'send(8)=8', 'send(139)=139']);
      expect(shown(got.events)).toEqual(['recv(4)=4', 'recv(128)=128', 'recv(8)=8', 'recv(139)=139']);
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('recut-7-byte-writes: wirestep’s staged 7-byte writes, and server.py’s recv(128) taking the whole name, as lessons 2 and 6 say', async () => {
    const sent = await dataCalls('recut-7-byte-writes', 'sender');
    const got = await dataCalls('recut-7-byte-writes', 'receiver');
    try {
      expect(sent.reader.meta.programs).toMatchObject({ sender: { name: 'wirestep send', via: 'wirestep' }, receiver: { name: 'server.py', via: 'trace' } });
      expect(sent.reader.meta.options).toMatchObject({ chunk: 7 });
      expect(sent.events.every((e) => e.call?.name === 'socket.write' && e.length <= 7)).toBe(true);
      // The name: 18 writes of 7 bytes and one of 2, after the count's one write.
      expect(sent.events.slice(1, 20).map((e) => e.length)).toEqual([...Array<number>(18).fill(7), 2]);
      expect(shown(got.events)).toEqual(['recv(4)=4', 'recv(128)=128', 'recv(8)=8', 'recv(139)=139']);
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('slow-link: server.py’s recv(128) returns one 32-byte write and recv_exact() asks for the rest, as lessons 2 and 6 say', async () => {
    const sent = await dataCalls('slow-link', 'sender');
    const got = await dataCalls('slow-link', 'receiver');
    try {
      expect(sent.reader.meta.programs).toMatchObject({ sender: { name: 'wirestep send' }, receiver: { name: 'server.py', via: 'trace' } });
      expect(sent.events.map((e) => e.length)).toEqual([4, 32, 32, 32, 32, 8, 32, 32, 32, 32, 11]);
      expect(shown(got.events).slice(1, 5)).toEqual(['recv(128)=32', 'recv(96)=32', 'recv(64)=32', 'recv(32)=32']);
      expect(got.events.map((e) => e.call?.asked)).toEqual(serverAsks(fieldsOf([139]), got.events.map((e) => e.length)));
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('three-views: client.py’s 233 send() calls, the segments, and server.py’s recv() calls of the same bytes', async () => {
    const sent = await dataCalls('three-views', 'sender');
    const got = await dataCalls('three-views', 'receiver');
    try {
      expect(sent.reader.meta.programs).toMatchObject({ sender: { name: 'client.py', via: 'trace' }, receiver: { name: 'server.py', via: 'trace' } });
      expect(sent.events.filter((e) => e.call?.name === 'send')).toHaveLength(233);
      expect(sent.reader.eventCount('wire')).toBeGreaterThan(0);
      expect(got.events.every((e) => e.call?.name === 'recv' && e.length <= e.call.asked! && e.call.asked! <= 1024)).toBe(true);
      expect(got.events.reduce((n, e) => n + e.length, 0)).toBe(got.reader.streamLength);
    } finally {
      await Promise.all([sent.reader.close(), got.reader.close()]);
    }
  });

  it('names on each capture page the program that recorded each side', async () => {
    const demo = await request(app).get('/captures/demo-10-files').expect(200);
    for (const name of ['client.py', 'server.py']) expect(demo.text).toContain(name);
    const staged = await request(app).get('/captures/recut-7-byte-writes?lang=pt').expect(200);
    for (const name of ['wirestep send', 'server.py', 'Programas gravados']) expect(staged.text).toContain(name);
  });
});
