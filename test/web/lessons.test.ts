import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
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
  it('are the ten the course needs, in English and Portuguese alike, in the same order', () => {
    expect(slugs('en')).toEqual(['sockets', 'byte-stream', 'framing', 'byte-order', 'text-in-fields', 'exact-reads', 'broken-streams', 'trust', 'scale', 'lab']);
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

  it('says which program made every read count it states: wirestep’s receiver, not TCP or server.py', () => {
    for (const l of lessons) {
      for (const sentence of l.body.split(/\.\s/)) {
        if (sentence.includes('.reads}}')) expect(sentence, `${l.slug}.${l.lang}`).toContain('wirestep');
      }
    }
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
});
