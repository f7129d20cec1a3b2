import { describe, expect, it } from 'vitest';
import type { FileOutcome } from '../../src/capture/index.js';
import { type HeldConnection, ReceiverSession, type SessionCommand, type SessionEvent, type SessionLimits, isTemporaryName, nextDisplaceableAt, pickDisplaced, pickWaitingEvicted } from '../../src/net/session.js';
import { type UnsafeReason, encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { cat, file, streamCase } from '../fixtures/streams.js';
import { concatBytes } from '../helpers/bytes.js';

const LIMITS: SessionLimits = { maxFileSize: 4n * 1024n ** 3n, maxFiles: 10_000, maxTotalBytes: 16n * 1024n ** 3n };
const te = new TextEncoder();

/**
 * Runs a session's commands on an in-memory disk, the way the receiver runs them on a real
 * one: files open, take writes, and are saved under the name the session commits them to.
 */
class Driver {
  readonly session: ReceiverSession;
  readonly commands: SessionCommand[] = [];
  readonly open = new Map<number, Uint8Array[]>();
  readonly saved = new Map<string, Uint8Array>();
  /** Files whose writes fail, as a full disk would make them. */
  readonly failing = new Set<number>();

  constructor(limits: Partial<SessionLimits> = {}, startMs = 0) {
    this.session = new ReceiverSession({ ...LIMITS, ...limits }, startMs);
  }

  feed(event: SessionEvent): SessionCommand[] {
    const out = this.session.handle(event);
    for (const c of out) {
      this.commands.push(c);
      if (c.type === 'open-file') this.open.set(c.file, []);
      else if (c.type === 'write') {
        const parts = this.open.get(c.file);
        if (!parts) continue;
        if (this.failing.has(c.file)) this.feed({ type: 'write-failed', file: c.file, reason: { kind: 'write-failed', code: 'ENOSPC' } });
        else parts.push(c.data.slice());
      } else if (c.type === 'commit') {
        const parts = this.open.get(c.file);
        if (!parts) continue;
        this.open.delete(c.file);
        this.saved.set(c.name, concatBytes(...parts));
        this.feed({ type: 'saved', file: c.file, savedAs: c.name });
      } else if (c.type === 'discard') this.open.delete(c.file);
    }
    return out;
  }

  /** Feeds `chunks` as reads, then the end of the stream and the close. */
  run(chunks: readonly Uint8Array[], between: SessionEvent[] = []): Extract<SessionCommand, { type: 'close' }> {
    for (const bytes of chunks) this.feed({ type: 'data', bytes });
    for (const e of between) this.feed(e);
    return this.close();
  }

  close(): Extract<SessionCommand, { type: 'close' }> {
    const close = this.feed({ type: 'closed' }).find((c) => c.type === 'close');
    if (close?.type !== 'close') throw new Error('no close command');
    return close;
  }

  get files(): FileOutcome[] {
    return this.session.files;
  }

  of<T extends SessionCommand['type']>(type: T): Extract<SessionCommand, { type: T }>[] {
    return this.commands.filter((c): c is Extract<SessionCommand, { type: T }> => c.type === type);
  }
}

const TWO_FILES = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }, { name: 'b.bin', data: new Uint8Array([0, 1, 2]) }]);

describe('receiver session: outcomes', () => {
  it('saves every file of a well-formed transfer and comes out complete', () => {
    const d = new Driver();
    const close = d.run([TWO_FILES], [{ type: 'end' }]);
    expect(close).toEqual({ type: 'close', status: 'complete', errors: [], cutByReceiver: false });
    expect(d.files).toEqual([
      { file: 1, name: 'a.txt', size: '5', status: 'saved', savedAs: 'a.txt' },
      { file: 2, name: 'b.bin', size: '3', status: 'saved', savedAs: 'b.bin' },
    ]);
    expect(new TextDecoder().decode(d.saved.get('a.txt'))).toBe('hello');
    expect([...d.saved.get('b.bin')!]).toEqual([0, 1, 2]);
    expect(d.of('count')).toEqual([{ type: 'count', count: 2 }]);
  });

  it('comes out malformed when the stream ends where it should but holds an error (trailing bytes)', () => {
    const d = new Driver();
    const close = d.run([streamCase('trailing').bytes], [{ type: 'end' }]);
    expect(close.status).toBe('malformed');
    expect(close.errors.map((p) => p.kind)).toEqual(['trailing-bytes']);
    expect(d.of('trailing')).toEqual([{ type: 'trailing', length: 7 }]);
    expect(d.files).toEqual([{ file: 1, name: 'a.txt', size: '2', status: 'saved', savedAs: 'a.txt' }]);
  });

  it('comes out truncated when the stream ends inside a payload, and drops the partial file', () => {
    const d = new Driver();
    const close = d.run([streamCase('truncated-payload').bytes], [{ type: 'end' }]);
    expect(close.status).toBe('truncated');
    expect(close.errors.map((p) => p.kind)).toEqual(['truncated', 'fewer-files-than-count']);
    expect(d.files).toEqual([{ file: 1, name: 'big.bin', size: '100', status: 'incomplete', reason: { kind: 'stream-ended', offset: 180 } }]);
    expect(d.of('discard')).toEqual([{ type: 'discard', file: 1 }]);
    expect(d.saved.size).toBe(0);
  });

  it('comes out truncated when fewer files come than the count announced', () => {
    const d = new Driver();
    expect(d.run([streamCase('fewer-files').bytes]).status).toBe('truncated');
    expect(d.files.map((f) => f.status)).toEqual(['saved']);
  });

  it('cuts a silent sender on the idle timeout: aborted, by the receiver, the open file marked as cut by it', () => {
    const d = new Driver();
    d.feed({ type: 'data', bytes: cat(encodeCount(1), encodeName('slow.txt'), encodeSize(10), te.encode('abc')) });
    expect(d.feed({ type: 'timeout', seconds: 30 })).toEqual([{ type: 'abort', reason: { kind: 'idle-timeout', seconds: 30 } }]);
    // Bytes read before the socket went are not acted on.
    expect(d.feed({ type: 'data', bytes: te.encode('defghij') })).toEqual([]);
    const close = d.close();
    expect(close).toMatchObject({ status: 'aborted', reason: { kind: 'idle-timeout', seconds: 30 }, cutByReceiver: true });
    expect(d.files).toEqual([{ file: 1, name: 'slow.txt', size: '10', status: 'incomplete', reason: { kind: 'receiver-closed', offset: 143 } }]);
    expect(d.saved.size).toBe(0);
  });

  it('records a shutdown mid-transfer as interrupted', () => {
    const d = new Driver();
    d.feed({ type: 'data', bytes: encodeCount(3) });
    expect(d.feed({ type: 'shutdown' })).toEqual([{ type: 'abort', reason: { kind: 'shutdown' } }]);
    // A second cut changes nothing: the first reason stands.
    expect(d.feed({ type: 'timeout', seconds: 1 })).toEqual([]);
    expect(d.close()).toMatchObject({ status: 'interrupted', reason: { kind: 'shutdown' }, cutByReceiver: true });
  });

  it('records a socket error as aborted, not cut by the receiver, with its code', () => {
    const d = new Driver();
    d.feed({ type: 'data', bytes: encodeCount(1) });
    d.feed({ type: 'error', reason: { kind: 'socket-error', code: 'ECONNRESET' } });
    expect(d.close()).toMatchObject({ status: 'aborted', reason: { kind: 'socket-error', code: 'ECONNRESET' }, cutByReceiver: false });
  });

  it('fails one file whose writes fail, drops its bytes, and saves the next: the transfer is complete', () => {
    const d = new Driver();
    d.failing.add(1);
    const close = d.run([encodeTransfer([{ name: 'big.bin', data: new Uint8Array(50).fill(1) }, { name: 'small.txt', data: te.encode('ok') }])], [{ type: 'end' }]);
    expect(close.status).toBe('complete');
    expect(d.files).toEqual([
      { file: 1, name: 'big.bin', size: '50', status: 'failed', reason: { kind: 'write-failed', code: 'ENOSPC' } },
      { file: 2, name: 'small.txt', size: '2', status: 'saved', savedAs: 'small.txt' },
    ]);
    // The commit of file 1 came in the same batch as its writes; its file was discarded by then.
    expect(d.of('discard').map((c) => c.file)).toEqual([1]);
    expect([...d.saved.keys()]).toEqual(['small.txt']);
  });

  it('fails a file whose commit fails (no free name), after its bytes all came', () => {
    const d = new Driver();
    d.feed({ type: 'data', bytes: cat(encodeCount(1), file('a.txt', 'x')) });
    const commit = d.of('commit')[0]!;
    expect(d.feed({ type: 'write-failed', file: commit.file, reason: { kind: 'no-free-name' } })).toEqual([
      { type: 'discard', file: 1 },
      { type: 'file', outcome: { file: 1, name: 'a.txt', size: '1', status: 'failed', reason: { kind: 'no-free-name' } } },
    ]);
  });
});

describe('receiver session: limits', () => {
  it('cuts a count over --max-files before any file opens', () => {
    const d = new Driver({ maxFiles: 2 });
    const close = d.run([encodeTransfer([{ name: 'a', data: te.encode('1') }, { name: 'b', data: te.encode('2') }, { name: 'c', data: te.encode('3') }])]);
    expect(close).toMatchObject({ status: 'aborted', reason: { kind: 'count-over-limit', count: 3, limit: 2 }, cutByReceiver: true });
    expect(d.of('open-file')).toEqual([]);
    expect(d.files).toEqual([]);
  });

  it('refuses a size over --max-file-size and cuts, blaming the file’s own limit first', () => {
    const d = new Driver({ maxFileSize: 1000n, maxTotalBytes: 500n });
    const close = d.run([streamCase('huge-size').bytes]);
    const reason = { kind: 'size-over-limit', file: 1, size: '18446744073709551615', limit: '1000' };
    expect(close).toMatchObject({ status: 'aborted', reason, cutByReceiver: true });
    expect(d.files).toEqual([{ file: 1, name: 'huge.bin', size: '18446744073709551615', status: 'refused', reason }]);
    expect(d.of('open-file')).toEqual([]);
  });

  it('keeps earlier files and refuses the one whose size takes the total over --max-total-bytes', () => {
    const d = new Driver({ maxTotalBytes: 1000n });
    const data = new Uint8Array(600).fill(0x61);
    const close = d.run([encodeTransfer([{ name: 'first.bin', data }, { name: 'second.bin', data }])]);
    const reason = { kind: 'total-over-limit', total: '1200', limit: '1000' };
    expect(close).toMatchObject({ status: 'aborted', reason, cutByReceiver: true });
    expect(d.files).toEqual([
      { file: 1, name: 'first.bin', size: '600', status: 'saved', savedAs: 'first.bin' },
      { file: 2, name: 'second.bin', size: '600', status: 'refused', reason },
    ]);
  });
});

describe('receiver session: names', () => {
  const cases: [string, readonly UnsafeReason[]][] = [
    ['empty-name', ['empty']],
    ['nul-in-name', ['nul']],
    ['control-in-name', ['control']],
    ['bidi', ['bidi']],
    ['absolute', ['absolute', 'separator']],
    ['drive', ['drive']],
    ['backslash', ['separator', 'dot-dot']],
    ['traversal', ['separator', 'dot-dot']],
    ['reserved', ['reserved']],
  ];
  it.each(cases)('refuses the %s name (%j), reads its payload and drops it, and goes on', (id, reasons) => {
    const d = new Driver();
    const close = d.run([streamCase(id).bytes]);
    expect(close.status).toBe('malformed');
    expect(d.files).toEqual([expect.objectContaining({ file: 1, status: 'refused', reason: { kind: 'name-unsafe', reasons } })]);
    expect(d.of('open-file')).toEqual([]);
    expect(d.of('write')).toEqual([]);
  });

  it('refuses the name that is only a dot, which names the folder itself', () => {
    const d = new Driver();
    d.run([cat(encodeCount(1), file('.', 'x'))]);
    expect(d.files[0]).toMatchObject({ status: 'refused', reason: { kind: 'name-unsafe', reasons: ['dot'] } });
  });

  it('refuses a name that is not UTF-8 and keeps its bytes as hex', () => {
    const d = new Driver();
    const close = d.run([streamCase('invalid-utf8').bytes]);
    expect(close.status).toBe('malformed');
    expect(d.files).toEqual([{ file: 1, name: 'a\ufffd\ufffd.t', nameHex: '61fffe2e74', size: '1', status: 'refused', reason: { kind: 'name-invalid-utf8' } }]);
  });

  it('saves a name of exactly 128 bytes: unpadded is a warning, not a refusal', () => {
    const d = new Driver();
    const close = d.run([streamCase('exact-128').bytes]);
    expect(close.status).toBe('complete');
    expect(d.files).toEqual([expect.objectContaining({ status: 'saved', savedAs: `${'e'.repeat(124)}.txt` })]);
  });

  it('reads a 140-byte name as the reference does: its rest becomes the size, over the limit, and the receiver cuts', () => {
    const d = new Driver();
    const close = d.run([streamCase('long-name').bytes]);
    expect(close).toMatchObject({ status: 'aborted', reason: { kind: 'size-over-limit', file: 1 }, cutByReceiver: true });
    expect(d.files).toEqual([expect.objectContaining({ name: 'n'.repeat(128), status: 'refused' })]);
  });
});

describe('receiver session: reads cut anywhere', () => {
  const stream = cat(TWO_FILES, te.encode('!!'));
  const expected = (() => {
    const d = new Driver();
    const close = d.run([stream], [{ type: 'end' }]);
    return { close, files: d.files, saved: [...d.saved], kinds: d.commands.filter((c) => c.type !== 'write') };
  })();

  it('gives the same files, commands and outcome for every cut of the stream into two reads', () => {
    for (let at = 0; at <= stream.length; at++) {
      const d = new Driver();
      const close = d.run([stream.subarray(0, at), stream.subarray(at)], [{ type: 'end' }]);
      expect({ close, files: d.files, saved: [...d.saved], kinds: d.commands.filter((c) => c.type !== 'write') }, `cut at ${at}`).toEqual(expected);
    }
  });

  it('gives the same for reads of one byte each', () => {
    const d = new Driver();
    const close = d.run(Array.from(stream, (b) => Uint8Array.of(b)), [{ type: 'end' }]);
    expect({ close, files: d.files, saved: [...d.saved], kinds: d.commands.filter((c) => c.type !== 'write') }).toEqual(expected);
    expect(expected.close.status).toBe('malformed');
    expect(expected.files.map((f) => f.status)).toEqual(['saved', 'saved']);
  });
});

describe('receiver session: pacing, with explicit times', () => {
  const HEADER = { headerTimeoutMs: 10_000 };
  const RATE = { minRate: 100, rateGraceMs: 30_000 };

  it('cuts a header that takes longer than --header-timeout, naming the field it stalled in', () => {
    const d = new Driver(HEADER, 1_000);
    expect(d.session.deadline()).toBe(11_000);
    d.feed({ type: 'data', bytes: cat(encodeCount(2), encodeName('a.txt').subarray(0, 60)), atMs: 5_000 });
    // The header began at the accept: bytes of it do not move the deadline.
    expect(d.session.deadline()).toBe(11_000);
    expect(d.feed({ type: 'tick', atMs: 10_999 })).toEqual([]);
    expect(d.feed({ type: 'tick', atMs: 11_000 })).toEqual([{ type: 'abort', reason: { kind: 'header-timeout', field: 'file[1].name', seconds: 10 } }]);
    expect(d.close()).toMatchObject({ status: 'aborted', reason: { kind: 'header-timeout', field: 'file[1].name', seconds: 10 }, cutByReceiver: true });
  });

  it('gives each file’s header its own deadline from the end of the previous payload, and none during a payload', () => {
    const d = new Driver(HEADER, 0);
    d.feed({ type: 'data', bytes: cat(encodeCount(2), encodeName('a.txt'), encodeSize(4), te.encode('ab')), atMs: 9_000 });
    expect(d.session.deadline()).toBeNull();
    expect(d.feed({ type: 'tick', atMs: 50_000 })).toEqual([]);
    d.feed({ type: 'data', bytes: cat(te.encode('cd'), encodeName('b.txt').subarray(0, 1)), atMs: 60_000 });
    expect(d.session.deadline()).toBe(70_000);
    expect(d.feed({ type: 'tick', atMs: 70_000 })).toEqual([{ type: 'abort', reason: { kind: 'header-timeout', field: 'file[2].name', seconds: 10 } }]);
    expect(d.files).toEqual([{ file: 1, name: 'a.txt', size: '4', status: 'saved', savedAs: 'a.txt' }]);
  });

  it('has no header deadline after the last file, nor after the stream ended', () => {
    const d = new Driver(HEADER, 0);
    d.feed({ type: 'data', bytes: encodeTransfer([{ name: 'a.txt', data: te.encode('x') }]), atMs: 1 });
    expect(d.session.deadline()).toBeNull();
    const e = new Driver(HEADER, 0);
    e.feed({ type: 'data', bytes: encodeCount(1), atMs: 1 });
    e.feed({ type: 'end' });
    expect(e.session.deadline()).toBeNull();
    expect(e.feed({ type: 'tick', atMs: 99_000 })).toEqual([]);
  });

  it('cuts an average under --min-rate only once the grace period has passed', () => {
    const d = new Driver(RATE, 0);
    // 1 byte every 2 s, as the drip-feeder of issue 20 sends.
    for (let t = 0; t <= 28_000; t += 2_000) d.feed({ type: 'data', bytes: new Uint8Array([0]), atMs: t });
    expect(d.session.deadline()).toBe(30_000);
    expect(d.feed({ type: 'tick', atMs: 29_999 })).toEqual([]);
    expect(d.feed({ type: 'tick', atMs: 30_000 })).toEqual([{ type: 'abort', reason: { kind: 'rate-too-low', bytes: 15, seconds: 30, minRate: 100 } }]);
  });

  it('moves the rate deadline as bytes come, and never cuts a sender at or above the minimum', () => {
    const d = new Driver(RATE, 0);
    d.feed({ type: 'data', bytes: cat(encodeCount(1), encodeName('a.txt'), encodeSize(10_000), new Uint8Array(4_860)), atMs: 1_000 });
    // 5,000 bytes at 100 bytes/s last until second 50.
    expect(d.session.deadline()).toBe(50_000);
    expect(d.feed({ type: 'tick', atMs: 49_999 })).toEqual([]);
    expect(d.feed({ type: 'tick', atMs: 50_001 })).toEqual([{ type: 'abort', reason: { kind: 'rate-too-low', bytes: 5_000, seconds: 50.001, minRate: 100 } }]);
  });

  it('counts from when the receiver began reading, not from the accept; a late start changes nothing', () => {
    const d = new Driver({ ...HEADER, ...RATE }, 1_000);
    d.feed({ type: 'start', atMs: 4_000 });
    expect(d.session.deadline()).toBe(14_000);
    d.feed({ type: 'data', bytes: encodeCount(1), atMs: 4_500 });
    d.feed({ type: 'start', atMs: 9_000 });
    expect(d.session.deadline()).toBe(14_000);
  });

  it('applies no pacing rule unless set', () => {
    const d = new Driver({}, 0);
    d.feed({ type: 'data', bytes: encodeCount(1), atMs: 1 });
    expect(d.session.deadline()).toBeNull();
    expect(d.feed({ type: 'tick', atMs: 1e9 })).toEqual([]);
  });

  it('records a displacement with the connection’s age and bytes, unless its stream already ended', () => {
    const d = new Driver({}, 1_000);
    d.feed({ type: 'data', bytes: cat(encodeCount(1), encodeName('a.txt')) });
    expect(d.feed({ type: 'displaced', atMs: 13_500, graceMs: 10_000 })).toEqual([{ type: 'abort', reason: { kind: 'displaced', bytes: 132, seconds: 12.5, grace: 10 } }]);
    expect(d.close()).toMatchObject({ status: 'aborted', reason: { kind: 'displaced' }, cutByReceiver: true });
    const e = new Driver({}, 0);
    e.feed({ type: 'data', bytes: encodeTransfer([]) });
    e.feed({ type: 'end' });
    expect(e.feed({ type: 'displaced', atMs: 20_000, graceMs: 10_000 })).toEqual([]);
    expect(e.close().status).toBe('complete');
  });
});

describe('making room: which connection is displaced', () => {
  const c = (id: number, address: string, openedAtMs: number, bytes: number): HeldConnection => ({ id, address, openedAtMs, bytes });

  it('picks none younger than the grace period, and says when the first one comes of age', () => {
    const open = [c(1, 'a', 5_000, 0), c(2, 'a', 3_000, 0)];
    expect(pickDisplaced(open, 12_999, 10_000)).toBeNull();
    expect(nextDisplaceableAt(open, 10_000)).toBe(13_000);
    expect(pickDisplaced(open, 13_000, 10_000)?.id).toBe(2);
    expect(nextDisplaceableAt([], 10_000)).toBeNull();
  });

  it('picks the slowest by average rate, not the one with fewest bytes', () => {
    // At 20 s: 1 has 100 B in 20 s (5 B/s), 2 has 60 B in 10 s (6 B/s), 3 is fast.
    const open = [c(1, 'x', 0, 100), c(2, 'x', 10_000, 60), c(3, 'x', 0, 1e6)];
    expect(pickDisplaced(open, 20_000, 10_000)?.id).toBe(1);
  });

  it('takes from the address holding the most connections first, even if another is slower', () => {
    const open = [c(1, 'lone', 0, 0), c(2, 'crowd', 0, 500), c(3, 'crowd', 0, 400), c(4, 'crowd', 0, 900)];
    expect(pickDisplaced(open, 20_000, 10_000)?.id).toBe(3);
    // The crowd's connections still in their grace period do not shield the lone one.
    const young = [c(1, 'lone', 0, 0), c(2, 'crowd', 15_000, 0), c(3, 'crowd', 15_000, 0)];
    expect(pickDisplaced(young, 20_000, 10_000)?.id).toBe(1);
  });

  it('breaks a tie of rates by age: the oldest goes first', () => {
    expect(pickDisplaced([c(1, 'a', 2_000, 0), c(2, 'a', 1_000, 0)], 20_000, 10_000)?.id).toBe(2);
  });
});

describe('making room in a full queue: which waiting connection gives way', () => {
  it('gives way the latest waiting one of an address holding more than the newcomer’s would', () => {
    const open = new Map([['crowd', 3], ['b', 1]]);
    expect(pickWaitingEvicted(['crowd', 'b', 'crowd', 'c'], open, 'd')).toBe(2);
    // Counting open ones too: b holds 1 + 1, under the crowd's 3 + 2.
    expect(pickWaitingEvicted(['b', 'crowd'], open, 'b')).toBe(1);
  });

  it('refuses the newcomer when its address would hold as many as any other, or more', () => {
    expect(pickWaitingEvicted(['a', 'a'], new Map(), 'a')).toBeNull();
    expect(pickWaitingEvicted(['a', 'b'], new Map([['c', 1]]), 'c')).toBeNull();
    expect(pickWaitingEvicted(['a', 'b'], new Map([['a', 1]]), 'c')).toBe(0);
  });
});

describe('receiver session: its own temporary names', () => {
  it('refuses a name shaped like its temporary files, old or new, in any case, and reads its bytes', () => {
    for (const name of ['.wirestep-0a1b2c3d-2.part', '.wirestep-00112233445566778899aabbccddeeff.part', '.WIRESTEP-x.PART']) {
      expect(isTemporaryName(name)).toBe(true);
      const d = new Driver();
      const close = d.run([encodeTransfer([{ name, data: te.encode('evil') }, { name: 'ok.txt', data: te.encode('fine') }])], [{ type: 'end' }]);
      expect(d.files[0]).toEqual({ file: 1, name, size: '4', status: 'refused', reason: { kind: 'name-temporary' } });
      expect(d.files[1]).toMatchObject({ name: 'ok.txt', status: 'saved' });
      expect(close.status).toBe('complete');
    }
    for (const name of ['wirestep-1.part', '.wirestep.part', 'a.wirestep-1.part', '.wirestep-1.part.txt']) expect(isTemporaryName(name)).toBe(false);
  });
});
