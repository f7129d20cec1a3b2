import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { absoluteFileArgs, startProgram, substitute } from '../../src/check/program.js';
import { withTempDir } from '../helpers/net.js';

describe('startProgram', () => {
  it('kills the whole process group at the time limit, a grandchild included', async () => {
    await withTempDir(async (dir) => {
      // The child starts a grandchild that writes its pid, then both sleep forever.
      const script = "const {spawn}=require('node:child_process');const g=spawn(process.execPath,['-e','setInterval(()=>{},1000)'],{stdio:'ignore'});require('node:fs').writeFileSync('grandchild.pid',String(g.pid));setInterval(()=>{},1000);";
      const run = startProgram({ argv: [process.execPath, '-e', script], cwd: dir, timeLimitMs: 1500 });
      const exit = await run.exited;
      expect(exit.timedOut).toBe(true);
      expect(exit.signal).toBe('SIGKILL');
      const pid = Number(await readFile(path.join(dir, 'grandchild.pid'), 'utf8'));
      // Killed: gone, or a zombie (state Z in /proc) waiting for whoever adopted it to reap it.
      const running = async (): Promise<boolean> => {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
        return stat !== null && !/^\d+ \(.*\) Z/s.test(stat);
      };
      let alive = await running();
      // SIGKILL is delivered at once, but the kernel may take a moment to mark the process dead.
      for (const end = Date.now() + 10_000; alive && Date.now() < end; alive = await running()) await new Promise((r) => setTimeout(r, 20));
      expect(alive).toBe(false);
    });
  });

  it('keeps the first bytes of its output up to the cap and says how many more were dropped', async () => {
    await withTempDir(async (dir) => {
      const run = startProgram({ argv: [process.execPath, '-e', "process.stdout.write('x'.repeat(5000))"], cwd: dir, outputCap: 1000 });
      const exit = await run.exited;
      expect(exit.code).toBe(0);
      // Output can still arrive between the exit and the end of the pipe.
      if (!run.child.stdout!.closed) await new Promise((r) => run.child.stdout!.once('close', r));
      const { stdout } = run.output();
      expect(stdout.startsWith('x'.repeat(1000))).toBe(true);
      expect(stdout).toContain('4000 more bytes not kept');
    });
  });

  it('replaces {port} and {folder} in every argument and leaves unknown keys alone', () => {
    expect(substitute(['--port', '{port}', '--out={folder}/x', '{other}'], { port: 8181, folder: '/tmp/a' })).toEqual(['--port', '8181', '--out=/tmp/a/x', '{other}']);
  });

  it('makes an argument that names an existing file absolute, and leaves folders, flags and names of nothing alone', async () => {
    await withTempDir(async (dir) => {
      await mkdir(path.join(dir, 'entregas', 'ana'), { recursive: true });
      await writeFile(path.join(dir, 'entregas', 'ana', 'client.py'), '');
      await mkdir(path.join(dir, 'recebidos'));
      const argv = ['python3', 'entregas/ana/client.py', '--out', 'recebidos', '--port', '{port}', 'nada.py', '/bin/sh'];
      expect(absoluteFileArgs(argv, dir)).toEqual(['python3', path.join(dir, 'entregas', 'ana', 'client.py'), '--out', 'recebidos', '--port', '{port}', 'nada.py', '/bin/sh']);
    });
  });
});
