import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAssignmentClient, runToEnd, watchOutput } from '../../scripts/lib/harness.js';
import { envLang } from '../../src/cli/words.js';
import { withTempDir } from '../helpers/net.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');
/** An environment with the locale `locale` (LANG) and, when given, LC_ALL over it. */
const env = (locale: string, all = ''): NodeJS.ProcessEnv => ({ ...process.env, LANG: locale, LC_ALL: all, LC_MESSAGES: '' });
const BRAZIL = env('pt_BR.UTF-8');

describe('which language the command line speaks', () => {
  it('follows LC_ALL, then LC_MESSAGES, then LANG: pt_* is Portuguese, anything else English', () => {
    expect(envLang({ LANG: 'pt_BR.UTF-8' })).toBe('pt');
    expect(envLang({ LANG: 'pt_PT' })).toBe('pt');
    expect(envLang({ LANG: 'pt' })).toBe('pt');
    expect(envLang({ LANG: 'en_US.UTF-8', LC_ALL: 'pt_BR.UTF-8' })).toBe('pt');
    expect(envLang({ LANG: 'pt_BR.UTF-8', LC_ALL: 'C' })).toBe('en');
    expect(envLang({ LANG: 'pt_BR.UTF-8', LC_ALL: '', LC_MESSAGES: 'en_GB' })).toBe('en');
    expect(envLang({ LANG: 'C.UTF-8' })).toBe('en');
    expect(envLang({ LANG: 'ptx' })).toBe('en');
    expect(envLang({})).toBe('en');
  });
});

describe('wirestep in Portuguese', () => {
  it('receive --lang pt says each file of the assignment’s client.py in Portuguese', async () => {
    await withTempDir(async (dir) => {
      const child = spawn(process.execPath, [MAIN, 'receive', '--lang', 'pt', '--port', '0', '--out', path.join(dir, 'out'), '--captures', path.join(dir, 'captures')], { cwd: dir, env: env('C.UTF-8'), stdio: ['ignore', 'pipe', 'pipe'] });
      const out = watchOutput(child);
      const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
      try {
        const port = Number((await out.waitFor(/escutando em 127\.0\.0\.1:(\d+); os arquivos vão para/, { ms: 60_000 }))[1]);
        await runAssignmentClient(port, path.join(dir, 'arquivos'));
        await out.waitFor(/fechou: complete; 10 arquivos salvos/);
        const text = out.text();
        expect(text).toMatch(/contagem: 10 arquivos anunciados/);
        expect(text).toMatch(/arquivo 1: "arquivo_\d+\.txt", 3\d bytes anunciados/);
        expect(text).toMatch(/arquivo 10: salvo em .*arquivo_\d+\.txt, 3\d bytes/);
        expect(text).not.toMatch(/\bfile \d+:|announced|saved/);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await closed).toBe(0);
      expect(out.text()).toMatch(/SIGTERM: fechando; .*\n.*fechado, todas as capturas gravadas/);
    });
  }, 90_000);

  it('lab under a pt_BR locale prints both addresses in Portuguese, and --lang en overrides the locale', async () => {
    await withTempDir(async (dir) => {
      for (const [extra, words] of [[[], /página ao vivo: http:.*\n.*endereço dos alunos: http:\S+\n.*professor \(só neste terminal[^)]*\): http:\S+\?token=/], [['--lang', 'en'], /live page: http:.*\n.*students open: http:\S+\n.*teacher \(this terminal only[^)]*\): http:\S+\?token=/]] as const) {
        const child = spawn(process.execPath, [MAIN, 'lab', '--port', '0', '--web-port', '0', '--out', path.join(dir, 'out'), '--captures', path.join(dir, 'captures'), ...extra], { cwd: dir, env: BRAZIL, stdio: ['ignore', 'pipe', 'pipe'] });
        const out = watchOutput(child);
        const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
        try {
          await out.waitFor(words, { ms: 60_000 });
        } finally {
          child.kill('SIGTERM');
        }
        expect(await closed).toBe(0);
      }
    });
  }, 120_000);

  it('says the errors of receive, serve, trace and check in Portuguese, with their usual exit codes', async () => {
    await withTempDir(async (dir) => {
      // A port the test holds, so that the receiver cannot listen there.
      const held = net.createServer();
      await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
      const port = (held.address() as net.AddressInfo).port;
      try {
        const receive = await runToEnd(process.execPath, [MAIN, 'receive', '--port', String(port), '--out', 'out'], { cwd: dir, env: BRAZIL });
        expect(receive.code).toBe(1);
        expect(receive.stderr).toMatch(/^wirestep: não consegui escutar em 127\.0\.0\.1:\d+: .*EADDRINUSE/);
        const serve = await runToEnd(process.execPath, [MAIN, 'serve', '--port', String(port)], { cwd: dir, env: env('en_US.UTF-8', 'pt_BR.UTF-8') });
        expect(serve.code).toBe(1);
        expect(serve.stderr).toMatch(/^wirestep: não consegui escutar em/);
      } finally {
        held.close();
      }
      const trace = await runToEnd(process.execPath, [MAIN, 'trace'], { cwd: dir, env: BRAZIL });
      expect(trace.code).toBe(2);
      expect(trace.stderr).toContain('nada para rastrear: wirestep trace -- python3 client.py');
      const pair = await runToEnd(process.execPath, [MAIN, 'trace', '--server', 'python3 server.py'], { cwd: dir, env: BRAZIL });
      expect(pair.stderr).toContain('--server e --client andam juntos');
      const check = await runToEnd(process.execPath, [MAIN, 'check', 'server'], { cwd: dir, env: BRAZIL });
      expect(check.code).toBe(2);
      expect(check.stderr).toContain('nada para verificar');
      const each = await runToEnd(process.execPath, [MAIN, 'check', 'client', '--each', '*.py', '--', 'python3', 'client.py'], { cwd: dir, env: BRAZIL });
      expect(each.code).toBe(2);
      expect(each.stderr).toContain('com --each, ponha {file} no comando');
      // And in English under any other locale.
      const english = await runToEnd(process.execPath, [MAIN, 'trace'], { cwd: dir, env: env('C.UTF-8') });
      expect(english.stderr).toContain('nothing to trace');
    });
  }, 120_000);
});
