import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, PY_ENV, watchOutput } from '../../scripts/lib/harness.js';
import { GraderConnection } from '../../src/check/connection.js';
import { withTempDir } from '../helpers/net.js';

/** A listener on 127.0.0.1 port 0 whose connections are never read from (held by the test). */
async function withDeafServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.pause();
    held.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn((server.address() as net.AddressInfo).port);
  } finally {
    for (const s of held) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('GraderConnection', () => {
  it('gives up a write the server never reads once the limit passes, and closes the connection', async () => {
    await withDeafServer(async (port) => {
      const conn = await GraderConnection.open('127.0.0.1', port, 5000, null);
      // Far more than any socket buffer: the last write is never taken.
      const piece = new Uint8Array(1024 * 1024);
      const pieces = Array.from({ length: 256 }, () => ({ piece, pauseMs: 0 }));
      expect(await conn.write(pieces, 500)).toBe(false);
      expect(conn.closed).toBe(true);
      await conn.finish();
    });
  });

  it('gives up connecting to a listener that never accepts, with ETIMEDOUT, after the limit', async () => {
    // listen(0) and no accept(): once one connection waits in the queue, the system drops further SYNs.
    const child = spawn(PYTHON, ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], { env: PY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = watchOutput(child, 'stdout');
    const held: net.Socket[] = [];
    try {
      const port = Number((await out.waitFor(/^(\d+)$/m))[1]);
      // Fill the queue with connections the test holds (the kernel lets backlog + 1 wait).
      for (let i = 0; i < 2; i++) {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        held.push(s);
      }
      // Whichever got in first fills the queue; the other's SYNs are dropped like the grader's.
      await Promise.race(held.map((s) => new Promise((resolve) => s.once('connect', resolve))));
      const t0 = Date.now();
      const err = await GraderConnection.open('127.0.0.1', port, 1000, null).then(
        (c) => { void c.finish(); return null; },
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err?.code).toBe('ETIMEDOUT');
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      for (const s of held) s.destroy();
      child.stdin.end();
      child.kill();
    }
  }, 40_000);

  it('closes the connection and throws the capture writer’s error when the captures folder cannot be made', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'a-file');
      await writeFile(file, 'not a folder');
      let accepted: net.Socket | null = null;
      const closed = new Promise<void>((resolve) => {
        const server = net.createServer((s) => {
          accepted = s;
          s.resume();
          s.once('close', () => {
            server.close();
            resolve();
          });
        });
        server.listen(0, '127.0.0.1', () => {
          const port = (server.address() as net.AddressInfo).port;
          void GraderConnection.open('127.0.0.1', port, 5000, path.join(file, 'captures')).then(
            () => expect.unreachable('a capture under a file cannot be made'),
            (e: NodeJS.ErrnoException) => expect(e.code).toMatch(/ENOTDIR|EEXIST/),
          );
        });
      });
      await closed;
      expect(accepted).not.toBeNull();
    });
  });
});
