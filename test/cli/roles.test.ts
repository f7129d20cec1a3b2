import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchOutput } from '../../scripts/lib/harness.js';
import { writeReportDir } from '../../src/check/report/index.js';
import { makeReportFolder } from '../check/report-fixture.js';
import { launchChromium } from '../helpers/browser.js';
import { freePort, withTempDir } from '../helpers/net.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const ENGLISH = { ...process.env, LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '' };

/** A `wirestep …` site started from the built CLI, with what it printed and the two addresses it gave. */
interface Site {
  readonly child: ChildProcess;
  readonly students: string;
  readonly teacher: string;
  readonly token: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `wirestep <args>` and waits for its teacher's line, the last of the addresses it prints. */
async function startSite(args: readonly string[], cwd: string): Promise<Site> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: ENGLISH, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = watchOutput(child);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await closed;
  };
  try {
    const students = (await out.waitFor(/students open: (http:\S+)/, { ms: 60_000 }))[1]!;
    const teacher = (await out.waitFor(/teacher \(this terminal only[^)]*\): (http:\S+)/))[1]!;
    const token = new URL(teacher).searchParams.get('token')!;
    return { child, students, teacher, token, output: () => out.text(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The cookie a sign-in response sets, as a browser would send it back. */
function cookieOf(res: request.Response): string {
  const set = res.headers['set-cookie'] as unknown as string[] | undefined;
  expect(set, 'a Set-Cookie header').toBeDefined();
  return set!.map((c) => c.split(';')[0]).join('; ');
}

describe('wirestep lab --host 127.0.0.1: a teacher and students', () => {
  let site: Site;
  let root: string;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'wirestep-roles-'));
    site = await startSite(['lab', '--host', '127.0.0.1', '--port', String(await freePort()), '--web-port', String(await freePort()), '--out', path.join(root, 'out'), '--captures', path.join(root, 'captures')], root);
    http = request(new URL(site.students).origin);
  }, 90_000);

  afterAll(async () => {
    await site?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('prints the students’ address without a token and the teacher’s with one, once', () => {
    expect(new URL(site.students).search).toBe('');
    expect(site.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(site.output().split(site.token).length - 1).toBe(1);
  });

  it('shows a student the lessons without the teacher’s answers, and the quiz without its answer', async () => {
    const lesson = await http.get('/lessons/framing').expect(200);
    expect(lesson.text).toContain('<h1>');
    expect(lesson.text).not.toContain('class="answers"');
    expect(lesson.text).not.toContain('Answers for the teacher');
    const pt = await http.get('/lessons/framing?lang=pt').expect(200);
    expect(pt.text).not.toContain('class="answers"');
    const quiz = await http.get('/captures/demo-10-files/steps/6?by=field&quiz=1').expect(200);
    expect(quiz.text).not.toMatch(/data-answer|data-field|class="cards?"[^>]*>\s*<section/);
    // Asked, the server says it.
    const verdict = await http.get('/api/captures/demo-10-files/steps/6/quiz?at=300').expect(200);
    expect(verdict.body).toEqual({ chosen: 300, answer: 301, right: false });
    await http.get('/live').expect(200);
  });

  it('signs the teacher in with the token: a cookie no script can read, and the same address without it', async () => {
    const signIn = await http.get(`/lessons/framing?lang=pt&token=${encodeURIComponent(site.token)}`).expect(303);
    expect(signIn.headers.location).toBe('/lessons/framing?lang=pt');
    const setCookie = (signIn.headers['set-cookie'] as unknown as string[]).join('\n');
    // The cookie's name carries the site's port: another wirestep site on this host keeps its own.
    const webPort = new URL(site.students).port;
    expect(setCookie).toMatch(new RegExp(`wirestep-teacher-${webPort}=[^;]+;.*HttpOnly`));
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(site.token);
    const cookie = cookieOf(signIn);
    const lesson = await http.get('/lessons/framing').set('Cookie', cookie).expect(200);
    expect(lesson.text).toContain('class="answers"');
    // The language chosen with the token's address sticks too.
    expect(lesson.text).toContain('Respostas para o professor');
    // The page's links and text never carry the token.
    expect(lesson.text).not.toContain(site.token);
  });

  it('refuses a wrong token and a forged cookie with a plain 403 page in the reader’s language', async () => {
    const wrong = await http.get(`/?token=${'x'.repeat(43)}`).expect(403);
    expect(wrong.text).toContain('Error 403');
    expect(wrong.text).not.toMatch(/ {4}at |Error: /);
    const teacherCookie = `wirestep-teacher-${new URL(site.students).port}`;
    const forged = await http.get('/lessons/framing').set('Cookie', `${teacherCookie}=forged-value-of-43-characters-aaaaaaaaaaaaaa`).set('Accept-Language', 'pt-BR,pt;q=0.9').expect(403);
    expect(forged.text).toContain('Erro 403');
    expect(forged.text).toContain('Este acesso de professor está errado');
    expect(forged.text).not.toContain('class="answers"');
    // The bad cookie is dropped: the next page is a student's.
    expect((forged.headers['set-cookie'] as unknown as string[]).join('\n')).toMatch(new RegExp(`${teacherCookie}=;.*Expires=Thu, 01 Jan 1970`));
    const token = await http.get('/?token=').expect(403);
    expect(token.text).not.toContain(site.token);
  });

  it('in Chromium, the teacher’s address leaves no token in the address bar or history, and the cookie survives the redirect', async () => {
    const browser = await launchChromium();
    try {
      const teacher = await browser.newContext();
      const page = await teacher.newPage();
      await page.goto(site.teacher.replace(/\/\?/, '/lessons/framing?'));
      expect(page.url()).toBe(`${new URL(site.students).origin}/lessons/framing`);
      expect(await page.locator('details.answers').count()).toBe(1);
      expect(await page.evaluate(() => document.cookie)).not.toContain('wirestep-teacher');
      await page.goBack();
      expect(page.url()).not.toContain(site.token);
      // Another browser, a student's, on the same page: no answers.
      const student = await browser.newContext();
      const theirs = await student.newPage();
      await theirs.goto(`${new URL(site.students).origin}/lessons/framing`);
      expect(await theirs.locator('h1').count()).toBe(1);
      expect(await theirs.locator('details.answers').count()).toBe(0);
    } finally {
      await browser.close();
    }
  });

  it('never puts the token in a student’s page, a link or a redirect', async () => {
    const pages = ['/', '/live', '/lessons', '/lessons/framing', '/lessons/lab?lang=pt', '/captures/demo-10-files', '/captures/demo-10-files/steps/2?by=field', '/captures/demo-10-files/steps/2?by=op&present=1', '/nowhere'];
    for (const p of pages) {
      const res = await http.get(p);
      expect(res.status, p).toBeLessThan(500);
      expect(res.text, p).not.toContain(site.token);
      expect(res.headers.location ?? '', p).not.toContain(site.token);
    }
    expect(site.output().split(site.token).length - 1).toBe(1);
  });
});

describe('wirestep serve and its report', () => {
  it('without --host everyone is the teacher; with --host only the teacher’s browser opens /report', async () => {
    await withTempDir(async (dir) => {
      const report = await makeReportFolder(dir);
      await writeReportDir(dir, report, 'en');
      // Without --host: one person's tool, no token printed, /report open.
      const local = spawn(process.execPath, [MAIN, 'serve', '--port', String(await freePort()), '--report', dir, '--no-samples'], { cwd: dir, env: ENGLISH, stdio: ['ignore', 'pipe', 'pipe'] });
      const localClosed = new Promise<void>((resolve) => local.once('close', () => resolve()));
      try {
        const url = (await watchOutput(local).waitFor(/open (http:\S+)/, { ms: 60_000 }))[1]!;
        expect(url).toMatch(/\/report$/);
        const page = await request(new URL(url).origin).get('/report').expect(200);
        expect(page.text).toContain('Grading report');
      } finally {
        local.kill('SIGTERM');
        await localClosed;
      }
      // With --host: two roles.
      const site = await startSite(['serve', '--host', '127.0.0.1', '--port', String(await freePort()), '--report', dir, '--no-samples'], dir);
      try {
        const http = request(new URL(site.students).origin);
        const student = await http.get('/report').expect(403);
        expect(student.text).toContain('Only the teacher’s browser sees it');
        expect(student.text).not.toContain('Grading report');
        expect(new URL(site.teacher).pathname).toBe('/report');
        const signIn = await http.get(`/report?token=${site.token}`).expect(303);
        expect(signIn.headers.location).toBe('/report');
        const teacher = await http.get('/report').set('Cookie', cookieOf(signIn)).expect(200);
        expect(teacher.text).toContain('Grading report');
        expect(teacher.text).not.toContain(site.token);
      } finally {
        await site.stop();
      }
    });
  }, 120_000);
});
