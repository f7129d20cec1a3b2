import { describe, expect, it } from 'vitest';
import type { FileOutcome } from '../../src/capture/index.js';
import { ReceiverSession, type SessionCommand, type SessionEvent, type SessionLimits } from '../../src/net/session.js';
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

  constructor(limits: Partial<SessionLimits> = {}) {
    this.session = new ReceiverSession({ ...LIMITS, ...limits });
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
