import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ConnectionResult, type Receiver, type ReceiverOptions, startReceiver } from '../../src/net/index.js';

// One copy for tests and scripts (scripts/lib/harness.ts); re-exported where tests look for them.
export { freePort, sendRaw } from '../../scripts/lib/harness.js';

/** A fresh temporary folder, removed after `fn` whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wirestep-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The folders a receiver under test uses. */
export interface ReceiverFixture {
  readonly receiver: Receiver;
  readonly port: number;
  readonly outDir: string;
  readonly capturesDir: string;
  readonly root: string;
  /** Resolves with the next connection's result. */
  nextResult(): Promise<ConnectionResult>;
}

/**
 * Runs `fn` against a real receiver on 127.0.0.1 port 0 writing into a temp folder;
 * closes the receiver and removes the folder in `finally` (got's with-server helper).
 */
export async function withReceiver<T>(fn: (r: ReceiverFixture) => Promise<T>, options: Partial<ReceiverOptions> = {}): Promise<T> {
  return withTempDir(async (root) => {
    // Two folders deep, so that a name climbing out with ../../ would still land inside `root`,
    // where the tests can see it.
    const outDir = path.join(root, 'srv', 'data', 'out');
    const capturesDir = path.join(root, 'captures');
    const results: ConnectionResult[] = [];
    const waiting: ((r: ConnectionResult) => void)[] = [];
    const receiver = await startReceiver({ host: '127.0.0.1', port: 0, outDir, capturesDir, ...options });
    receiver.on('result', (r: ConnectionResult) => {
      const w = waiting.shift();
      if (w) w(r);
      else results.push(r);
    });
    try {
      return await fn({
        receiver,
        port: receiver.address.port,
        outDir,
        capturesDir,
        root,
        nextResult: () => {
          const r = results.shift();
          return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve));
        },
      });
    } finally {
      await receiver.close();
    }
  });
}

/**
 * True unless `file` was written at or after `since` (ms since the epoch): where a refused name
 * would have landed outside the test's folder (an absolute /tmp/evil.txt), another program may
 * have left a file of the same name before; what matters is that nothing wrote it now.
 */
export function untouchedSince(file: string, since: number): boolean {
  try {
    return statSync(file).mtimeMs < since;
  } catch {
    return true;
  }
}
