import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PYTHON, watchOutput } from '../../scripts/lib/harness.js';
import { withTempDir } from '../helpers/net.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Whether the process with this pid still runs: not gone, and not a zombie waiting to be reaped. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat);
}

/** Resolves once `pid` no longer runs; a SIGKILLed process dies when it is next scheduled. */
async function gone(pid: number): Promise<void> {
  while (await running(pid)) await new Promise((r) => setTimeout(r, 20));
}

describe('wirestep check, interrupted', () => {
  it('on SIGINT stops the hand-in’s whole process group, writes no report and exits 130', async () => {
    await withTempDir(async (dir) => {
      const pidFile = path.join(dir, 'pids');
      const server = path.join(dir, 'slow_server.py');
      // A server that starts a helper of its own, then accepts and never reads: every check waits on it.
      await writeFile(server, [
        'import os, socket, subprocess, sys, time',
        'helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])',
        's = socket.create_server(("127.0.0.1", int(sys.argv[1])))',
        `open(${JSON.stringify(pidFile)}, "w").write(f"{os.getpid()} {helper.pid}\\n")`,
        'print("ready", file=sys.stderr, flush=True)',
        'while True:',
        '    c, _ = s.accept()',
        '    time.sleep(600)',
      ].join('\n'));
      const report = path.join(dir, 'rel');
      const child = spawn(process.execPath, [MAIN, 'check', 'server', '--report', report, '--', PYTHON, server, '{port}'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = watchOutput(child);
      const ended = once(child, 'exit');
      // The grader keeps the hand-in's output; the pid file says it is up.
      const pids = await (async () => {
        for (;;) {
          const text = await readFile(pidFile, 'utf8').catch(() => '');
          if (text.endsWith('\n')) return text.trim().split(' ').map(Number);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      child.kill('SIGINT');
      const [code] = await ended;
      expect(code).toBe(130);
      await out.waitFor('interrupted: stopping the hand-in; no report will be written');
      // Never resolves, and the test times out, if the group was not killed.
      for (const pid of pids) await gone(pid);
      expect(await readFile(path.join(report, 'report.json'), 'utf8').catch(() => null)).toBeNull();
    });
  }, 60_000);
});
