import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON } from '../../scripts/lib/harness.js';
import { checkServer } from '../../src/check/server.js';
import { withTempDir } from '../helpers/net.js';

const LIMITS = { serveLimitMs: 3000, stallLimitMs: 6000, caseLimitMs: 8000 };
const ONE = ['correct.empty-file'];

/** A listener on 127.0.0.1 port 0 that accepts and reads everything, held by the test. */
async function withListener<T>(fn: (port: number, accepted: Promise<void>) => Promise<T>): Promise<T> {
  const sockets: net.Socket[] = [];
  let accept!: () => void;
  const accepted = new Promise<void>((resolve) => (accept = resolve));
  const server = net.createServer((s) => {
    sockets.push(s);
    s.resume();
    accept();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn((server.address() as net.AddressInfo).port, accepted);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('check server: starting and stopping the server under test', () => {
  it('says not-listening, not no-connection, for a server that runs but never listens (traced or not)', async () => {
    for (const command of [
      [PYTHON, '-c', 'import time; time.sleep(600)', '{port}'],
      ['/bin/sh', '-c', 'exec sleep 600', 'sh', '{port}'],
    ]) {
      const r = await checkServer({ command, only: ONE, startLimitMs: 1500, ...LIMITS });
      expect(r.checks.map((c) => [c.id, c.status, c.finding?.kind])).toEqual([['correct.empty-file', 'fail', 'not-listening']]);
    }
  }, 60_000);

  it('says server-down, not "tried again", for the checks after the one retry', async () => {
    const r = await checkServer({ command: ['/bin/sh', '-c', 'exec sleep 600', 'sh', '{port}'], only: ['correct.zero-files', 'correct.empty-file', 'correct.accented-name'], startLimitMs: 1000, ...LIMITS });
    expect(r.checks.map((c) => c.finding?.kind)).toEqual(['not-listening', 'server-down', 'server-down']);
  }, 60_000);

  it('refuses to grade whatever already listens on a fixed port: every check is a grader error, port busy', async () => {
    await withListener(async (port) => {
      const r = await checkServer({ command: ['/bin/sh', '-c', 'exec sleep 600'], port, only: [...ONE, 'correct.zero-files'], startLimitMs: 1500, ...LIMITS });
      expect(r.checks.map((c) => c.status)).toEqual(['error', 'error']);
      expect(String(r.checks[0]!.finding!.values!.message)).toContain(`port ${port} is busy`);
    });
  }, 30_000);

  it('blames itself, not the server, when it cannot write the report’s captures', async () => {
    await withTempDir(async (dir) => {
      const reportDir = path.join(dir, 'a-file');
      await writeFile(reportDir, 'not a folder');
      const r = await checkServer({ command: [PYTHON, ASSIGNMENT.server, '--port', '{port}', '--out', '{folder}'], reportDir, only: ONE, ...LIMITS });
      expect(r.checks.map((c) => [c.status, c.finding?.kind])).toEqual([['error', 'grader-error']]);
    });
  }, 60_000);

  it('does not start the server again after an abort in the middle of a case', async () => {
    await withTempDir(async (dir) => {
      await withListener(async (notifyPort, notified) => {
        // A server that notes each start and tells the test when it accepts a connection.
        const script = path.join(dir, 'srv.py');
        const starts = path.join(dir, 'starts.txt');
        await writeFile(
          script,
          [
            'import socket, sys',
            'port, starts, notify = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])',
            'open(starts, "a").write("start\\n")',
            's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
            's.bind(("127.0.0.1", port)); s.listen(5)',
            'while True:',
            '    c, _ = s.accept()',
            '    socket.create_connection(("127.0.0.1", notify)).close()',
            '    while c.recv(65536): pass',
            '    c.close()',
          ].join('\n'),
        );
        const ac = new AbortController();
        void notified.then(() => ac.abort());
        // Under sh, so that it is not traced: the notifying connect is the test's, not the grader's.
        const r = await checkServer({ command: ['/bin/sh', '-c', 'exec "$0" "$@"', PYTHON, script, '{port}', starts, String(notifyPort)], only: ['correct.ten-files', ...ONE], signal: ac.signal, ...LIMITS });
        expect(ac.signal.aborted).toBe(true);
        expect(r.checks.map((c) => c.id)).not.toContain('correct.empty-file');
        expect((await readFile(starts, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
      });
    });
  }, 60_000);

  it('leaves a folder name in the command as it is: the server resolves it in its own folder', async () => {
    await withTempDir(async (dir) => {
      const cwd = process.cwd();
      // A folder called `recebidos` here must not become an absolute path to the teacher's folder.
      await mkdir(path.join(dir, 'recebidos'));
      process.chdir(dir);
      try {
        const r = await checkServer({ command: [PYTHON, ASSIGNMENT.server, '--port', '{port}', '--out', 'recebidos'], only: ONE, ...LIMITS });
        expect(r.checks.map((c) => c.id)).toEqual(ONE);
        // The server saved into its own `recebidos`, never into the teacher's.
        expect(await readdir(path.join(dir, 'recebidos'))).toEqual([]);
      } finally {
        process.chdir(cwd);
      }
    });
  }, 60_000);
});
