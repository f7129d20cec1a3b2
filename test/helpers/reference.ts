import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The reference scripts live beside the repository (see ../shared/seed/README.md). */
export const SEED = process.env.WIRESTEP_SEED ?? fileURLToPath(new URL('../../../shared/seed/', import.meta.url));
export const PYTHON = process.env.PYTHON ?? 'python3';
export const PY_ENV = { ...process.env, PYTHONUTF8: '1', PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1' };

/** Replaces every occurrence of `from`, failing loudly unless there are exactly `times`. */
export function replaceExactly(source: string, from: string, to: string, times: number): string {
  const found = source.split(from).length - 1;
  if (found !== times) throw new Error(`the seed script has ${found} occurrence(s) of ${JSON.stringify(from)}, expected ${times}: has it changed?`);
  return source.split(from).join(to);
}

/** A copy of the reference client.py in `dir` with only its port and folder changed; returns its path. */
export async function writeReferenceClient(dir: string, port: number, folder: string): Promise<string> {
  let script = await readFile(path.join(SEED, 'client.py'), 'utf8');
  script = replaceExactly(script, "host='127.0.0.1'", "host='127.0.0.1'", 1);
  script = replaceExactly(script, 'port=8181', `port=${port}`, 1);
  script = replaceExactly(script, '"/home/ALUNO/arquivos_para_enviar"', JSON.stringify(folder), 2);
  const file = path.join(dir, 'client.py');
  await writeFile(file, script);
  return file;
}

/** Runs a copy of the reference client.py to the end (30 s at most). */
export async function runReferenceClient(dir: string, port: number, folder: string): Promise<void> {
  const file = await writeReferenceClient(dir, port, folder);
  await promisify(execFile)(PYTHON, [file], { cwd: dir, env: PY_ENV, timeout: 30_000 });
}
