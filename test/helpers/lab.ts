import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { watchOutput } from '../../scripts/lib/harness.js';
import { freePort } from './net.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');

/** A `wirestep lab` child process on free ports. */
export interface Lab {
  readonly child: ChildProcess;
  readonly port: number;
  readonly web: number;
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Starts the built `wirestep lab` in `dir` (out/ and captures/ inside it) and resolves once it prints its live page. */
export async function startLab(dir: string): Promise<Lab> {
  const port = await freePort();
  const web = await freePort();
  const child = spawn(process.execPath, [MAIN, 'lab', '--port', String(port), '--web-port', String(web), '--out', path.join(dir, 'out'), '--captures', path.join(dir, 'captures')], { cwd: dir });
  const out = watchOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp): Promise<void> => {
    await out.waitFor(pattern, { ms: 60_000 });
  };
  await waitFor(/live page:/);
  return { child, port, web, output: () => out.text(), waitFor, exited };
}
