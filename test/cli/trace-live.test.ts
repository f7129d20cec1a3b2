import { execFileSync } from 'node:child_process';
import { type IncomingMessage, get } from 'node:http';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV, runToEnd } from '../../scripts/lib/harness.js';
import { CaptureReader, LIVE_SOCKET } from '../../src/capture/index.js';
import { startLab } from '../helpers/lab.js';

const MAIN = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');
const PY = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

interface Row {
  readonly key: string;
  readonly status: string;
  readonly captureId: string | null;
  readonly bytes: number;
  readonly filesDone: number;
  readonly program: { name: string; side: string } | null;
}

/** Follows `/live/events`: the latest state of each row, as the page's script keeps it. */
function followLive(url: string): Promise<{ rows: () => Map<string, Row>; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const rows = new Map<string, Row>();
    let pending = '';
    const req = get(url, (res: IncomingMessage) => {
      res.setEncoding('utf8');
      res.on('error', () => {});
      res.on('data', (s: string) => {
        pending += s;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!data) continue;
          const parsed = JSON.parse(data) as Row | Row[];
          for (const r of Array.isArray(parsed) ? parsed : [parsed]) rows.set(r.key, r);
        }
      });
      resolve({ rows: () => rows, stop: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('wirestep trace beside a wirestep lab', () => {
  it('shows the traced server.py and client.py on the lab’s /live, each as its own row, both linking to the one capture they were joined into', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-trace-live-'));
    const lab = await startLab(dir);
    const feed = await followLive(`http://127.0.0.1:${lab.web}/live/events`);
    try {
      expect(lab.output()).toContain('programs traced into this lab\'s captures show on /live too');
      const captures = path.join(dir, 'captures');
      const r = await runToEnd(process.execPath, [
        MAIN, 'trace', '--captures', captures,
        '--server', `${PY} ${ASSIGNMENT.server} --port 0 --out ${path.join(dir, 'recebidos')}`,
        '--client', `${PY} ${ASSIGNMENT.client} --port {port} --folder ${path.join(dir, 'arquivos')}`,
      ], { cwd: dir, env: PY_ENV });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`wirestep: live on the /live page of the lab recording into ${captures}\n`);
      const joined = /wirestep: capture (\S+)\n/.exec(r.stderr)?.[1];
      expect(joined).toBeDefined();
      const id = path.basename(joined!);
      // The trace has ended; the lab shows both ends once their last events reach it.
      const done = () => [...feed.rows().values()].filter((x) => x.program && x.status !== 'receiving');
      await expect.poll(() => done().length, { timeout: 30_000 }).toBe(2);
      const rows = done().sort((a, b) => a.program!.name.localeCompare(b.program!.name));
      expect(rows.map((x) => [x.program, x.status, x.captureId, x.filesDone])).toEqual([
        [{ name: 'client.py', side: 'sender' }, 'complete', id, 10],
        [{ name: 'server.py', side: 'receiver' }, 'complete', id, 10],
      ]);
      expect(rows[0]!.bytes).toBe(rows[1]!.bytes);
      // The one capture both rows link to holds both ends.
      expect((await readdir(captures)).filter((n) => !n.startsWith('.'))).toEqual([id]);
      const reader = await CaptureReader.open(path.join(captures, id));
      try {
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        expect(reader.streamLength).toBe(rows[0]!.bytes);
      } finally {
        await reader.close();
      }
      // --no-live leaves the lab alone.
      const quiet = await runToEnd(process.execPath, [MAIN, 'trace', '--no-live', '--captures', captures, '--', PY, '-c', 'print("ok")'], { cwd: dir, env: PY_ENV });
      expect(quiet).toMatchObject({ code: 0, stdout: 'ok\n', stderr: '' });
    } finally {
      feed.stop();
      lab.child.kill('SIGTERM');
      await lab.exited;
    }
    // The lab took its socket with it.
    await expect(lstat(path.join(dir, 'captures', LIVE_SOCKET))).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(dir, { recursive: true, force: true });
  });
});
