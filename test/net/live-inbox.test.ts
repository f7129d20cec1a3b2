import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON } from '../../scripts/lib/harness.js';
import { LIVE_SOCKET, type LiveEvent, parseLiveEvent } from '../../src/capture/index.js';
import { LiveInboxError, openLiveInbox } from '../../src/net/index.js';
import { connectLive } from '../../src/trace/index.js';
import { withTempDir } from '../helpers/net.js';

const OPEN = { type: 'open', key: 'k1', client: { address: '127.0.0.1', port: 4000 }, captureId: 'cap-1', program: { name: 'server.py', side: 'receiver' } } as const;

/** Collects what the inbox emits, and waits until `n` events came. */
function collect(inbox: NodeJS.EventEmitter): { events: LiveEvent[]; until: (n: number) => Promise<void> } {
  const events: LiveEvent[] = [];
  const waiters = new Set<() => void>();
  inbox.on('live', (e: LiveEvent) => {
    events.push(e);
    for (const w of waiters) w();
  });
  const until = (n: number) => new Promise<void>((resolve) => {
    const check = (): void => {
      if (events.length >= n) {
        waiters.delete(check);
        resolve();
      }
    };
    waiters.add(check);
    check();
  });
  return { events, until };
}

async function connect(where: string): Promise<net.Socket> {
  const s = net.connect({ path: where });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

describe('the live socket of a lab', () => {
  it('passes on the events a trace sends, under keys of its own, and ignores lines that are no event', async () => {
    await withTempDir(async (root) => {
      const inbox = await openLiveInbox(path.join(root, 'captures'));
      const got = collect(inbox);
      try {
        const a = await connect(inbox.path);
        const b = await connect(inbox.path);
        a.write([
          'not json',
          JSON.stringify({ type: 'progress', key: 'k1', bytes: 4, count: 1, filesDone: 0, field: 'file[1].name', kind: 'name', file: 1, name: null, have: 0, needed: '128' }),
          JSON.stringify({ ...OPEN, client: { address: '127.0.0.1', port: 70000 } }),
          JSON.stringify({ ...OPEN, captureId: '../../etc' }),
          JSON.stringify(OPEN),
          JSON.stringify({ type: 'progress', key: 'k1', bytes: -1, count: 1, filesDone: 0, field: null, kind: null, file: null, name: null, have: 0, needed: '0' }),
          JSON.stringify({ type: 'done', key: 'k1', status: 'aborted', reason: { kind: 'size-over-limit', file: 1, size: 'lots', limit: '5' }, bytes: 9, saved: null, files: 1, captureId: null }),
          JSON.stringify({ type: 'done', key: 'k1', status: 'complete', reason: null, bytes: 9, saved: null, files: 1, captureId: 'cap-2', replaces: ['cap-1'] }),
          '',
        ].join('\n'));
        // The same key from another trace is another row.
        b.write(`${JSON.stringify(OPEN)}\n`);
        await got.until(3);
        const fromA = got.events.filter((e) => e.key.startsWith(got.events.find((x) => x.type === 'done')!.key.split(':')[0]!));
        expect(fromA.map((e) => e.type)).toEqual(['open', 'done']);
        expect(fromA[1]).toMatchObject({ status: 'complete', captureId: 'cap-2', replaces: ['cap-1'] });
        const keys = new Set(got.events.filter((e) => e.type === 'open').map((e) => e.key));
        expect(keys.size).toBe(2);
        expect([...keys].every((k) => k.endsWith(':k1') && k !== 'k1')).toBe(true);
        a.destroy();
        b.destroy();
      } finally {
        await inbox.close();
      }
      // Closed, the lab leaves no socket behind.
      await expect(lstat(path.join(root, 'captures', LIVE_SOCKET))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  it('ends a trace’s open transfers as interrupted when the trace goes away, and cuts one that sends an endless line', async () => {
    await withTempDir(async (root) => {
      const inbox = await openLiveInbox(path.join(root, 'captures'));
      const got = collect(inbox);
      try {
        const s = await connect(inbox.path);
        s.write(`${JSON.stringify(OPEN)}\n${JSON.stringify({ type: 'progress', key: 'k1', bytes: 140, count: 2, filesDone: 0, field: 'file[1].payload', kind: 'payload', file: 1, name: 'a.txt', have: 0, needed: '9' })}\n`);
        await got.until(2);
        const closed = once(s, 'close');
        // 128 KiB with no end of line: more than any event, so the lab hangs up.
        s.write('x'.repeat(128 * 1024));
        await closed;
        await got.until(3);
        expect(got.events[2]).toEqual({ type: 'done', key: got.events[0]!.key, status: 'interrupted', reason: null, bytes: 140, saved: null, files: 2, captureId: 'cap-1' });
      } finally {
        await inbox.close();
      }
    });
  });

  it('hangs up on a trace that opens more than 256 transfers at once, and ends those it held as interrupted', async () => {
    await withTempDir(async (root) => {
      const inbox = await openLiveInbox(path.join(root, 'captures'));
      const got = collect(inbox);
      try {
        const s = await connect(inbox.path);
        const closed = once(s, 'close');
        s.write(Array.from({ length: 300 }, (_, i) => `${JSON.stringify({ ...OPEN, key: `k${i}` })}\n`).join(''));
        await closed;
        // 256 opened, then the 257th cut the publisher off: its 256 open transfers end.
        await got.until(512);
        expect(got.events.filter((e) => e.type === 'open')).toHaveLength(256);
        expect(got.events.filter((e) => e.type === 'done' && e.status === 'interrupted')).toHaveLength(256);
      } finally {
        await inbox.close();
      }
    });
  });

  it('takes the place of a socket a killed lab left, and leaves alone one another lab listens on or a file that is no socket', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const where = path.join(captures, LIVE_SOCKET);
      // A socket bound and never removed: what a lab killed with SIGKILL leaves.
      execFileSync(PYTHON, ['-c', 'import os, socket, sys; os.makedirs(sys.argv[1], exist_ok=True); socket.socket(socket.AF_UNIX).bind(sys.argv[2])', captures, where]);
      expect((await lstat(where)).isSocket()).toBe(true);
      const inbox = await openLiveInbox(captures);
      try {
        await expect(openLiveInbox(captures)).rejects.toThrow(LiveInboxError);
        // And a trace into that folder finds the lab that listens.
        const publisher = await connectLive(captures);
        expect(publisher).not.toBeNull();
        const got = collect(inbox);
        publisher!.send(OPEN);
        await got.until(1);
        await publisher!.close();
      } finally {
        await inbox.close();
      }
      expect(await connectLive(captures)).toBeNull();
      await writeFile(where, 'notes');
      await expect(openLiveInbox(captures)).rejects.toThrow(/is not a socket/);
      expect(await readFile(where, 'utf8')).toBe('notes');
    });
  });
});

describe('a live event from another process', () => {
  it('is taken only with every field of its type in range', () => {
    expect(parseLiveEvent(JSON.stringify(OPEN))).toEqual(OPEN);
    expect(parseLiveEvent(JSON.stringify({ ...OPEN, program: { name: 'x', side: 'both' } }))).toBeNull();
    expect(parseLiveEvent(JSON.stringify({ ...OPEN, key: '' }))).toBeNull();
    const done = { type: 'done', key: 'k', status: 'aborted', reason: { kind: 'socket-error', code: 'ECONNRESET', exception: 'ConnectionResetError' }, bytes: 4, saved: null, files: 0, captureId: null };
    expect(parseLiveEvent(JSON.stringify(done))).toEqual(done);
    expect(parseLiveEvent(JSON.stringify({ ...done, status: 'exploded' }))).toBeNull();
    expect(parseLiveEvent(JSON.stringify({ ...done, replaces: ['a', 'b', 'c', 'd', 'e'] }))).toBeNull();
    expect(parseLiveEvent(JSON.stringify({ type: 'progress', key: 'k', bytes: 1, count: null, filesDone: 0, field: 'count', kind: 'count', file: null, name: null, have: 1, needed: '3' }))).not.toBeNull();
    expect(parseLiveEvent(JSON.stringify({ type: 'progress', key: 'k', bytes: 1, count: null, filesDone: 0, field: 'count', kind: 'count', file: null, name: null, have: 1, needed: '-3' }))).toBeNull();
    expect(parseLiveEvent('[1,2]')).toBeNull();
    expect(parseLiveEvent('{"type":"open","key":"k","client":null}')).toBeNull();
  });
});
