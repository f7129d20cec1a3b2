import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../helpers/net.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const ASSIGNMENT = fileURLToPath(new URL('../../assignment/', import.meta.url));

/** Runs the built `wirestep …` to the end; never rejects, so failures can be asserted. */
async function wirestep(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('wirestep assignment', () => {
  it('prints the paths of the shipped client.py and server.py', async () => {
    const r = await wirestep(['assignment']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([path.join(ASSIGNMENT, 'client.py'), path.join(ASSIGNMENT, 'server.py')]);
  });

  it('copies client.py, server.py and README.md byte for byte into a new folder', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'turma', 'redes');
      const r = await wirestep(['assignment', '--copy', target]);
      expect(r.code, r.stderr).toBe(0);
      expect((await readdir(target)).sort()).toEqual(['README.md', 'client.py', 'server.py']);
      for (const f of ['client.py', 'server.py', 'README.md']) {
        expect(await readFile(path.join(target, f)), f).toEqual(await readFile(path.join(ASSIGNMENT, f)));
        expect(r.stdout).toContain(path.join(target, f));
      }
    });
  });

  it('refuses with exit 2 to overwrite a file already there, and copies nothing', async () => {
    await withTempDir(async (dir) => {
      await writeFile(path.join(dir, 'server.py'), 'the student’s own server\n');
      const r = await wirestep(['assignment', '--copy', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^wirestep: not overwriting .*server\.py/);
      expect(r.stderr).not.toMatch(/^ {4}at /m);
      expect(await readdir(dir)).toEqual(['server.py']);
      expect(await readFile(path.join(dir, 'server.py'), 'utf8')).toBe('the student’s own server\n');
    });
  });

  it('refuses with exit 2 a --copy target that is a file, and leaves it as it was', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'notes.txt');
      await writeFile(file, 'keep me\n');
      const r = await wirestep(['assignment', '--copy', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is not a folder');
      expect(await readFile(file, 'utf8')).toBe('keep me\n');
    });
  });

  it('exits 2 when --copy has no folder', async () => {
    const r = await wirestep(['assignment', '--copy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'--copy <dir>' argument missing");
  });
});
