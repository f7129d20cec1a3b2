import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMeta } from '../../src/capture/index.js';
import type { ConnectionResult, Receiver } from '../../src/net/index.js';
import { encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { cat } from '../fixtures/streams.js';
import { type ReceiverFixture, sendRaw, withReceiver } from '../helpers/net.js';

const te = new TextEncoder();

/** A log that tests can wait on: each new line wakes the waits. */
function watchLog(): { log: (line: string) => void; lines: string[]; waitFor: (re: RegExp, count?: number) => Promise<string> } {
  const lines: string[] = [];
  const waits = new Set<() => void>();
  return {
    lines,
    log: (line) => {
      lines.push(line);
      for (const w of waits) w();
    },
    waitFor: (re, count = 1) => new Promise((resolve) => {
      const check = (): void => {
        const hits = lines.filter((l) => re.test(l));
        if (hits.length >= count) {
          waits.delete(check);
          resolve(hits[0]!);
        }
      };
      waits.add(check);
      check();
    }),
  };
}

/** The first result, from now on, that `pick` accepts. */
function resultWhere(receiver: Receiver, pick: (r: ConnectionResult) => boolean): Promise<ConnectionResult> {
  return new Promise((resolve) => {
    const on = (r: ConnectionResult): void => {
      if (!pick(r)) return;
      receiver.off('result', on);
      resolve(r);
    };
    receiver.on('result', on);
  });
}

/** A connection from `from` (any 127/8 address is this machine, as another student's would be another). */
async function connect(port: number, from = '127.0.0.1'): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Proves the receiver still serves: a legitimate transfer arrives whole. */
async function provesAlive(rx: ReceiverFixture): Promise<void> {
  const data = randomBytes(50_000);
  const name = `alive-${data.readUInt32BE(0)}.bin`;
  const result = resultWhere(rx.receiver, (r) => r.files.some((f) => f.name === name));
  await sendRaw(rx.port, [encodeTransfer([{ name, data }])]);
  expect((await result).status).toBe('complete');
  expect((await readFile(path.join(rx.outDir, name))).equals(data)).toBe(true);
}

describe('fair room for senders', () => {
  it('lets a sender through 64 drip-feeders holding every place: the slowest open past --displace-after makes room, its files arrive whole', async () => {
    const { log, lines, waitFor } = watchLog();
    await withReceiver(async (rx) => {
      let accepted = 0;
      const all = new Promise<void>((resolve) => rx.receiver.on('connection', () => ++accepted === 64 && resolve()));
      const drips = await Promise.all(Array.from({ length: 64 }, () => connect(rx.port)));
      await all;
      // Each sends a real transfer one byte at a time: a trickle the idle timeout never sees.
      const stream = encodeTransfer([{ name: 'drip.txt', data: new Uint8Array(1000) }]);
      let at = 0;
      const trickle = setInterval(() => {
        for (const s of drips) if (!s.destroyed) s.write(stream.subarray(at, at + 1));
        at++;
      }, 200);
      try {
        const files = [{ name: 'notas.txt', data: randomBytes(200_000) }, { name: 'foto.jpg', data: randomBytes(1_500_000) }];
        const mine = resultWhere(rx.receiver, (r) => r.files.some((f) => f.name === 'notas.txt'));
        const displaced = resultWhere(rx.receiver, (r) => r.reason?.kind === 'displaced');
        const sent = sendRaw(rx.port, [encodeTransfer(files)]);
        await waitFor(/waiting: already 64 connections \(--max-connections 64\); the slowest open over 1\.5 s makes room/);
        const result = await mine;
        await sent;
        expect(result.status).toBe('complete');
        // Buffer.equals: a deep toEqual on megabytes takes seconds and starves the trickle.
        for (const f of files) expect((await readFile(path.join(rx.outDir, f.name))).equals(f.data)).toBe(true);
        const victim = await displaced;
        expect(victim.status).toBe('aborted');
        expect(victim.reason).toMatchObject({ kind: 'displaced', grace: 1.5 });
        expect((victim.reason as { seconds: number }).seconds).toBeGreaterThanOrEqual(1.5);
        expect(victim.message).toMatch(/^The receiver was full \(--max-connections\) and a new sender was waiting: this connection, open for [\d.]+ s with \d+ bytes received, was the slowest of those open longer than 1\.5 s \(--displace-after\)/);
        expect((await readMeta(victim.captureDir!)).outcome.reason).toEqual(victim.reason);
        // One sender waited: one drip-feeder made room, with a line saying for whom.
        expect(lines.filter((l) => / displaced for 127\.0\.0\.1:\d+, which was waiting: /.test(l))).toHaveLength(1);
      } finally {
        clearInterval(trickle);
      }
      const gone = Promise.all(drips.filter((s) => !s.destroyed).map((s) => once(s, 'close')));
      for (const s of drips) s.destroy();
      await gone;
      await provesAlive(rx);
    }, { maxConnections: 64, displaceAfterMs: 1500, minRate: 0, headerTimeoutMs: 0, log });
  }, 60_000);

  it('makes waiting senders wait, unread, for a freed place, and closes one past as many waiting at once', async () => {
    const { log, lines, waitFor } = watchLog();
    await withReceiver(async (rx) => {
      const first = await connect(rx.port);
      const second = await connect(rx.port);
      await waitFor(/\] connected/, 2);
      const third = await connect(rx.port);
      const fourth = await connect(rx.port);
      await waitFor(/waiting: already 2 connections/, 2);
      const refused = new Promise((r) => rx.receiver.once('refused', r));
      const fifth = await connect(rx.port);
      const ended = once(fifth, 'end');
      await refused;
      await ended;
      expect(lines.filter((l) => l.includes('waiting: already 2 connections (--max-connections 2)'))).toHaveLength(2);
      expect(lines.some((l) => l.includes('refused: already 2 connections (--max-connections 2) and 2 waiting'))).toBe(true);
      // Waiting ones send at once; their bytes wait until a place frees.
      third.end(encodeTransfer([{ name: 'three.txt', data: te.encode('3') }]));
      fourth.end(encodeTransfer([{ name: 'four.txt', data: te.encode('4') }]));
      first.end(encodeTransfer([{ name: 'one.txt', data: te.encode('1') }]));
      second.end(encodeTransfer([{ name: 'two.txt', data: te.encode('2') }]));
      const results = await Promise.all([rx.nextResult(), rx.nextResult(), rx.nextResult(), rx.nextResult()]);
      expect(results.map((r) => r.status)).toEqual(['complete', 'complete', 'complete', 'complete']);
      expect(results.map((r) => r.files[0]!.name).sort()).toEqual(['four.txt', 'one.txt', 'three.txt', 'two.txt']);
      expect(lines.some((l) => l.includes('displaced'))).toBe(false);
      await provesAlive(rx);
    }, { maxConnections: 2, displaceAfterMs: 0, log });
  });

  it('keeps a place in a full queue for another machine: the crowding address’s latest waiting connection gives way', async () => {
    const { log, lines, waitFor } = watchLog();
    await withReceiver(async (rx) => {
      const crowd = [await connect(rx.port), await connect(rx.port)];
      await waitFor(/\] connected/, 2);
      crowd.push(await connect(rx.port), await connect(rx.port));
      await waitFor(/waiting: already 2 connections/, 2);
      const givesWay = once(crowd[3]!, 'end');
      const student = await connect(rx.port, '127.0.0.2');
      await givesWay;
      await waitFor(/\[127\.0\.0\.2:\d+\] waiting/);
      expect(lines.some((l) => /^\[127\.0\.0\.1:\d+\] refused: .*; its address holds the most connections, so 127\.0\.0\.2:\d+ waits instead$/.test(l))).toBe(true);
      // One more from the crowd finds the queue full and no one to displace: refused.
      const late = await connect(rx.port);
      await once(late, 'end');
      // The crowd's open ones leave; the first waiting one and the student are served.
      const data = randomBytes(100_000);
      const mine = resultWhere(rx.receiver, (r) => r.client.address === '127.0.0.2');
      student.end(encodeTransfer([{ name: 'aluno.bin', data }]));
      for (const s of crowd.slice(0, 2)) s.destroy();
      const result = await mine;
      expect(result.status).toBe('complete');
      expect((await readFile(path.join(rx.outDir, 'aluno.bin'))).equals(data)).toBe(true);
      for (const s of [...crowd, late]) s.destroy();
      await provesAlive(rx);
    }, { maxConnections: 2, displaceAfterMs: 0, log });
  });

  it('cuts a connection whose average rate stays under --min-rate after the grace period, says so and stores why', async () => {
    const { log, waitFor } = watchLog();
    await withReceiver(async (rx) => {
      const s = await connect(rx.port);
      const stream = encodeTransfer([{ name: 'lento.txt', data: new Uint8Array(500) }]);
      let at = 0;
      const cut = rx.nextResult();
      // 1 byte every 50 ms is 20 bytes per second, under the 200 asked for.
      const trickle = setInterval(() => !s.destroyed && s.write(stream.subarray(at, ++at)), 50);
      try {
        const result = await cut;
        expect(result.status).toBe('aborted');
        expect(result.reason).toMatchObject({ kind: 'rate-too-low', minRate: 200 });
        expect((result.reason as { seconds: number }).seconds).toBeGreaterThanOrEqual(0.8);
        expect(result.message).toMatch(/^Only \d+ bytes came in [\d.]+ s, under the receiver’s minimum average of 200 bytes per second \(--min-rate\), so the receiver closed the connection\.$/);
        await waitFor(/closed by the receiver: aborted \(Only \d+ bytes came in/);
        const meta = await readMeta(result.captureDir!);
        expect(meta.outcome.reason).toEqual(result.reason);
        expect(meta.options).toMatchObject({ minRate: 200, rateGraceMs: 800 });
      } finally {
        clearInterval(trickle);
      }
      await provesAlive(rx);
    }, { minRate: 200, rateGraceMs: 800, headerTimeoutMs: 0, log });
  });

  it('cuts a header that takes longer than --header-timeout, keeps the files before it, and names the field', async () => {
    const { log, waitFor } = watchLog();
    await withReceiver(async (rx) => {
      const s = await connect(rx.port);
      // File 1 whole, then half of file 2's name, then nothing: the idle timeout (30 s) is far.
      s.write(cat(encodeCount(2), encodeName('primeiro.txt'), encodeSize(3), te.encode('abc'), encodeName('segundo.txt').subarray(0, 64)));
      const result = await rx.nextResult();
      expect(result.status).toBe('aborted');
      expect(result.reason).toEqual({ kind: 'header-timeout', field: 'file[2].name', seconds: 1 });
      expect(result.message).toBe('The header of a file (its count, name and size fields) must come whole within 1 s (--header-timeout), but the stream was still in “Name of file 2”, so the receiver closed the connection.');
      expect(result.files).toEqual([expect.objectContaining({ name: 'primeiro.txt', status: 'saved' })]);
      await waitFor(/closed by the receiver: aborted \(The header of a file/);
      expect((await readMeta(result.captureDir!)).outcome.reason).toEqual(result.reason);
      await provesAlive(rx);
    }, { headerTimeoutMs: 1000, minRate: 0, log });
  });
});
