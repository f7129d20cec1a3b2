import { describe, expect, it } from 'vitest';
import { FRAME_KINDS, FrameDecoder, TraceArgumentError, TraceFrameError, TraceSession, parsePortMap, programName, splitCommandLine } from '../../src/trace/index.js';

/** One frame as the tracer writes it (little-endian header, then the payload). */
function frame(conn: number, kind: keyof typeof FRAME_KINDS, payload: Uint8Array | string, opts: { asked?: number; flags?: number; errno?: number; ns?: bigint } = {}): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(24 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 20 + body.length, true);
  v.setUint32(4, conn, true);
  v.setUint8(8, FRAME_KINDS[kind]);
  v.setUint8(9, opts.flags ?? 0);
  v.setUint16(10, opts.errno ?? 0, true);
  v.setUint32(12, opts.asked ?? 0xffffffff, true);
  v.setBigUint64(16, opts.ns ?? 1000n, true);
  out.set(body, 24);
  return out;
}

describe('FrameDecoder', () => {
  it('cuts frames out of the pipe however its bytes are split, down to one byte at a time', () => {
    const bytes = Buffer.concat([frame(1, 'connect', '{"local":["127.0.0.1",5000]}'), frame(1, 'send', 'abcd', { asked: 10 }), frame(1, 'close', '{}')]);
    for (const step of [1, 5, 23, 24, 25, bytes.length]) {
      const d = new FrameDecoder();
      const got = [];
      for (let at = 0; at < bytes.length; at += step) got.push(...d.push(bytes.subarray(at, at + step)));
      expect(got.map((f) => f.kind), `step ${step}`).toEqual(['connect', 'send', 'close']);
      expect(Buffer.from(got[1]!.payload).toString()).toBe('abcd');
      expect(got[1]!.asked).toBe(10);
      expect(d.leftover).toBe(0);
    }
  });

  it('keeps every byte of a thousand 1 KiB frames cut by 64 KiB reads, whatever frame a read ends in', () => {
    const frames = Array.from({ length: 1000 }, (_, i) => frame(3, 'recv', new Uint8Array(1024).fill(i & 0xff), { asked: 1024, ns: BigInt(i) }));
    const bytes = Buffer.concat(frames);
    for (const read of [65_536, 65_536 + 7, 1048 * 3]) {
      const d = new FrameDecoder();
      const got = [];
      for (let at = 0; at < bytes.length; at += read) got.push(...d.push(bytes.subarray(at, at + read)));
      expect(got, `reads of ${read}`).toHaveLength(1000);
      expect(got.every((f, i) => f.timeNs === BigInt(i) && f.payload.length === 1024 && f.payload.every((b) => b === (i & 0xff))), `reads of ${read}`).toBe(true);
      expect(d.leftover).toBe(0);
    }
  });

  it('refuses a length that cannot be a frame and a kind it does not know, with a TraceFrameError', () => {
    const short = frame(1, 'send', 'x');
    new DataView(short.buffer).setUint32(0, 3, true);
    expect(() => new FrameDecoder().push(short)).toThrow(TraceFrameError);
    const unknown = frame(1, 'send', 'x');
    unknown[8] = 99;
    expect(() => new FrameDecoder().push(unknown)).toThrow(/unknown kind 99/);
  });
});

describe('TraceSession', () => {
  it('records a connected socket’s sends as writes with what they asked, and marks a partial one', () => {
    const s = new TraceSession();
    expect(s.take(new FrameDecoder().push(frame(7, 'connect', '{"local":["127.0.0.1",5000],"peer":["127.0.0.1",8181]}'))[0]!)).toMatchObject([
      { type: 'open', side: 'sender', client: { address: '127.0.0.1', port: 5000 }, server: { address: '127.0.0.1', port: 8181 } },
    ]);
    const [partial] = s.take(new FrameDecoder().push(frame(7, 'send', 'ab', { asked: 1024 }))[0]!);
    expect(partial).toMatchObject({ type: 'record', event: 'write', offset: 0, length: 2, call: { name: 'send', asked: 1024, flags: 1 } });
    // A read on the sending side is not part of the stream it records.
    expect(s.take(new FrameDecoder().push(frame(7, 'recv', 'zz', { asked: 2 }))[0]!)).toEqual([]);
    const [failed] = s.take(new FrameDecoder().push(frame(7, 'send', '{"exception":"ConnectionResetError"}', { asked: 4, flags: 4, errno: 104 }))[0]!);
    expect(failed).toMatchObject({ type: 'error', offset: 2, reason: { kind: 'socket-error', code: 'ECONNRESET', exception: 'ConnectionResetError' }, call: { name: 'send', asked: 4, flags: 4 } });
  });

  it('records an accepted socket’s empty read as the end of the stream, and ignores frames of unknown connections', () => {
    const s = new TraceSession();
    s.take(new FrameDecoder().push(frame(2, 'accept', '{"local":["127.0.0.1",8181],"peer":["127.0.0.1",5000]}'))[0]!);
    expect(s.take(new FrameDecoder().push(frame(2, 'recv', 'abc', { asked: 4 }))[0]!)).toMatchObject([{ event: 'read', length: 3, call: { name: 'recv', asked: 4, flags: 2 } }]);
    expect(s.take(new FrameDecoder().push(frame(2, 'recv', '', { asked: 4 }))[0]!)).toMatchObject([{ event: 'end', offset: 3, call: { name: 'recv' } }]);
    expect(s.take(new FrameDecoder().push(frame(9, 'recv', 'abc', { asked: 4 }))[0]!)).toEqual([]);
    expect(s.take(new FrameDecoder().push(frame(2, 'close', '{}'))[0]!)).toMatchObject([{ type: 'close', offset: 3 }]);
    expect(s.open.size).toBe(0);
  });
});

describe('command lines', () => {
  it.each([
    ['python3 server.py --port 8181', ['python3', 'server.py', '--port', '8181']],
    ['  python3   "my server.py"\t--out \'a b\'  ', ['python3', 'my server.py', '--out', 'a b']],
    ['python3 a\\ b.py "say \\"hi\\" \\$HOME" $HOME', ['python3', 'a b.py', 'say "hi" $HOME', '$HOME']],
    ['python3 -c \'print("x")\' ""', ['python3', '-c', 'print("x")', '']],
  ])('splits %j like a shell, without one', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it('refuses an unclosed quote', () => {
    expect(() => splitCommandLine('python3 "server.py')).toThrow(TraceArgumentError);
    expect(() => splitCommandLine("python3 'server.py")).toThrow(/unclosed '/);
  });

  it('reads --port-map values, repeated or comma-separated, and refuses anything else', () => {
    expect([...parsePortMap(['8181=9000', '80=8080,443=8443'])]).toEqual([[8181, 9000], [80, 8080], [443, 8443]]);
    expect(() => parsePortMap(['8181'])).toThrow(/expected FROM=TO/);
    expect(() => parsePortMap(['8181=70000'])).toThrow(/70000 is not a port/);
    expect(() => parsePortMap(['8181=1', '8181=2'])).toThrow(/mapped twice/);
  });

  it('names a program by its script or module', () => {
    expect(programName(['/usr/bin/python3', '/home/aluno/client.py', '--port', '1'])).toBe('client.py');
    expect(programName(['python3', '-u', '-X', 'dev', 'server.py'])).toBe('server.py');
    expect(programName(['python3', '-m', 'http.server'])).toBe('python3 -m http.server');
    expect(programName(['./client'])).toBe('client');
  });
});
