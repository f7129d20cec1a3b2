import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToEnd } from '../../scripts/lib/harness.js';
import { argvLang } from '../../src/cli/help-words.js';
import { withReceiver, withTempDir } from '../helpers/net.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const env = (locale: string): NodeJS.ProcessEnv => ({ ...process.env, LANG: locale, LC_ALL: '', LC_MESSAGES: '', COLUMNS: '100' });
const BRAZIL = env('pt_BR.UTF-8');
const ENGLISH = env('C.UTF-8');
const COMMANDS = [[], ['receive'], ['send'], ['demo'], ['dump'], ['export'], ['import'], ['serve'], ['lab'], ['trace'], ['check'], ['check', 'server'], ['check', 'client'], ['assignment']];

/** Each option, argument or command of a help text, with the first line of its description. */
function itemsOf(help: string): Map<string, string> {
  const items = new Map<string, string>();
  for (const m of help.matchAll(/^ {2}(\S.*?) {2,}(\S.*)$/gm)) items.set(m[1]!, m[2]!);
  return items;
}

describe('wirestep --help in Portuguese', () => {
  it('reads --lang pt or --lang=pt before the command runs, up to --', () => {
    expect(argvLang(['send', '--lang', 'pt', 'a.txt'], 'en')).toBe('pt');
    expect(argvLang(['--lang=pt', 'dump'], 'en')).toBe('pt');
    expect(argvLang(['dump', '--lang', 'en'], 'pt')).toBe('en');
    expect(argvLang(['trace', '--', 'python3', 'x.py', '--lang', 'pt'], 'en')).toBe('en');
    expect(argvLang(['dump', '--lang', 'xx'], 'pt')).toBe('pt');
  });

  it('words every command, option and argument of every command in Portuguese under a pt_BR locale, and in English elsewhere', async () => {
    const left: string[] = [];
    for (const command of COMMANDS) {
      const en = await runToEnd(process.execPath, [MAIN, ...command, '--help'], { env: ENGLISH });
      const pt = await runToEnd(process.execPath, [MAIN, ...command, '--help'], { env: BRAZIL });
      expect(en.code, command.join(' ')).toBe(0);
      expect(pt.code, command.join(' ')).toBe(0);
      expect(en.stdout).toMatch(/^Usage: wirestep/);
      expect(pt.stdout).toMatch(/^Uso: wirestep/);
      expect(pt.stdout).not.toMatch(/^(Options|Arguments|Commands):/m);
      // The description under the usage line.
      const about = (text: string): string => text.split('\n')[2]!;
      if (about(en.stdout) === about(pt.stdout)) left.push(`${command.join(' ')}: ${about(en.stdout)}`);
      const ptItems = itemsOf(pt.stdout);
      const enItems = itemsOf(en.stdout);
      expect(enItems.size, command.join(' ')).toBeGreaterThan(1);
      for (const [item, words] of enItems) {
        // Every item is there in both, worded differently.
        if (ptItems.get(item) === words || !ptItems.has(item)) left.push(`${command.join(' ')} ${item}: ${words}`);
      }
      expect(pt.stdout).not.toContain('(default:');
    }
    expect(left).toEqual([]);
    // --lang pt under an English locale.
    const chosen = await runToEnd(process.execPath, [MAIN, 'send', '--help', '--lang', 'pt'], { env: ENGLISH });
    expect(chosen.stdout).toContain('envia arquivos ou pastas como o client.py de referência');
  }, 120_000);
});

describe('the log lines of send, demo, export and import in Portuguese', () => {
  it('send says what it sends and what it sent', async () => {
    await withReceiver(async ({ port, root }) => {
      const file = path.join(root, 'notas.txt');
      await writeFile(file, 'olá, turma\n');
      const sent = await runToEnd(process.execPath, [MAIN, 'send', '--port', String(port), '--captures', path.join(root, 'sent'), file], { cwd: root, env: BRAZIL });
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout).toMatch(/enviando 1 arquivo \(1\d\d bytes no fio\) para 127\.0\.0\.1:\d+\n/);
      expect(sent.stdout).toMatch(/1\. notas\.txt \(12 bytes\)/);
      expect(sent.stdout).toMatch(/enviados 1\d\d bytes em \d+ escritas; captura /);
      expect(sent.stdout).not.toMatch(/sending|sent /);
    });
  }, 60_000);

  it('demo, export and import speak Portuguese with --lang pt, the receiver’s lines too', async () => {
    await withTempDir(async (dir) => {
      const demo = await runToEnd(process.execPath, [MAIN, 'demo', '--lang', 'pt', '--captures', path.join(dir, 'caps'), '--id', 'aula'], { cwd: dir, env: ENGLISH });
      expect(demo.code, demo.stderr).toBe(0);
      expect(demo.stdout).toContain('contagem: 10 arquivos anunciados');
      expect(demo.stdout).toMatch(/captura aula: complete, 1\.695 bytes/);
      expect(demo.stdout).toContain('(os arquivos recebidos foram para uma pasta temporária');
      expect(demo.stdout).toMatch(/para ver: {2}npx wirestep dump .*aula --by field/);
      expect(demo.stdout).not.toMatch(/\bsaved in|view it|file 1:/);

      const pcap = path.join(dir, 'aula.pcapng');
      const exported = await runToEnd(process.execPath, [MAIN, 'export', 'aula', '--captures', path.join(dir, 'caps'), '--pcapng', pcap], { cwd: dir, env: BRAZIL });
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(/gravei .*aula\.pcapng: \d+ quadros, \d+ deles com dados, 1\.695 bytes do fluxo, um segmento por escrita do remetente \(MSS 1\.460\)/);
      expect(exported.stdout).toMatch(/para abrir: {2}wireshark /);

      const imported = await runToEnd(process.execPath, [MAIN, 'import', pcap, '--captures', path.join(dir, 'imported')], { cwd: dir, env: BRAZIL });
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toMatch(/aula\.pcapng: pcapng, \d+ pacotes, \d+ deles TCP/);
      expect(imported.stdout).toMatch(/→ .*: captura \S+, 1\.695 bytes, complete, \d+ segmentos com dados/);
      expect(imported.stdout).toMatch(/para ver: {2}npx wirestep serve --captures /);
      const none = await runToEnd(process.execPath, [MAIN, 'import', pcap, '--port', '9', '--captures', path.join(dir, 'none')], { cwd: dir, env: BRAZIL });
      expect(none.stdout).toContain('nenhuma conexão TCP para a porta 9 nele');
    });
  }, 120_000);
});
