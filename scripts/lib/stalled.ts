/**
 * Viewers of `/live/events` that connect and then never read: what a student's frozen laptop, or
 * a hostile one, does to the site. Python opens them, because Node cannot shrink a TCP socket's
 * receive buffer: with 1 KiB, the kernel holds almost nothing, so the site sees its own buffers grow.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PYTHON, PY_ENV, watchOutput } from './harness.js';

const SCRIPT = String.raw`
import socket, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
held = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(('127.0.0.1', port))
    s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n' % (path, port)).encode())
    held.append(s)
print('stalled %d' % n, flush=True)
sys.stdin.read()
`;

/** Viewers that stopped reading, held open until {@link StalledViewers.close}. */
export interface StalledViewers {
  readonly child: ChildProcess;
  /** Closes every one of them and waits for the end of the process holding them. */
  close(): Promise<void>;
}

/** Opens `n` connections to `path` on 127.0.0.1:`port` that never read; resolves once all are connected. */
export async function openStalledViewers(port: number, n: number, path = '/live/events'): Promise<StalledViewers> {
  const child = spawn(PYTHON, ['-c', SCRIPT, String(port), String(n), path], { env: PY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = watchOutput(child);
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGKILL');
    await closed;
  };
  try {
    await output.waitFor(`stalled ${n}`, { ms: 60_000 });
  } catch (err) {
    await close();
    throw err;
  }
  return { child, close };
}
