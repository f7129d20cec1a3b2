import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ConnectionEvent, ConnectionTracker } from '../../src/wire/connections.js';
import { SEGMENT_FLAGS as F, TCP_FLAGS as T, type TcpSegment, type WireEndpoint } from '../../src/wire/types.js';

const te = new TextEncoder();
const td = new TextDecoder();

const C: WireEndpoint = { address: '10.0.0.1', port: 50000 };
const C2: WireEndpoint = { address: '10.0.0.1', port: 50001 };
const S: WireEndpoint = { address: '10.0.0.2', port: 8181 };

/** Builds segments with frame numbers and times in order (frame n at n ms). */
class Wire {
  readonly tracker = new ConnectionTracker();
  readonly events: ConnectionEvent[] = [];
  frame = 0;

  seg(src: WireEndpoint, dst: WireEndpoint, flags: number, seq: number, payload = '', cut = 0): TcpSegment {
    this.frame++;
    return { frame: this.frame, timeUs: this.frame * 1000, src, dst, seq, ack: 0, flags, window: 65535, payload: te.encode(payload), cut };
  }

  send(src: WireEndpoint, dst: WireEndpoint, flags: number, seq: number, payload = '', cut = 0): ConnectionEvent[] {
    const out = this.tracker.push(this.seg(src, dst, flags, seq, payload, cut));
    this.events.push(...out);
    return out;
  }

  end(): ConnectionEvent[] {
    const out = this.tracker.end();
    this.events.push(...out);
    return out;
  }

  /** The stream of connection `id`, as its data events spell it. */
  text(id: number): string {
    return this.events.map((e) => (e.type === 'data' && e.id === id ? td.decode(e.bytes) : '')).join('');
  }

  /** Events in short form: type, id and the one thing that matters for each. */
  brief(events: ConnectionEvent[] = this.events): string[] {
    // Detail events (every segment, both directions) have tests of their own.
    return events.filter((e) => e.type !== 'detail').map((e) => {
      switch (e.type) {
        case 'detail':
          return '';
        case 'open':
          return `open ${e.id} ${e.client.port}->${e.server.port}${e.handshake ? ' handshake' : ''} @${e.timeUs}`;
        case 'segment':
          return `segment ${e.id} ${e.segment.offset}+${e.segment.length} flags=${e.segment.flags}`;
        case 'data':
          return `data ${e.id} ${td.decode(e.bytes)}`;
        case 'problem':
          return `problem ${e.id} ${JSON.stringify(e.problem)}`;
        case 'close':
          return `close ${e.id} ${e.how} @${e.timeUs}`;
      }
    });
  }
}

/** A full transfer of `text` from `client`, handshake to both FINs, starting at sequence number `isn`. */
function transfer(w: Wire, client: WireEndpoint, isn: number, text: string): void {
  w.send(client, S, T.syn, isn);
  w.send(S, client, T.syn | T.ack, 9000);
  w.send(client, S, T.ack, isn + 1);
  w.send(client, S, T.ack | T.psh, isn + 1, text);
  w.send(client, S, T.fin | T.ack, isn + 1 + text.length);
  w.send(S, client, T.fin | T.ack, 9001);
}

describe('ConnectionTracker', () => {
  it('opens on the client SYN, rebuilds the stream and closes on the second FIN', () => {
    const w = new Wire();
    transfer(w, C, 100, 'abc');
    expect(w.send(C, S, T.ack, 104)).toEqual([]);
    expect(w.brief()).toEqual([
      'open 1 50000->8181 handshake @1000',
      `segment 1 0+0 flags=${F.syn}`,
      'segment 1 0+3 flags=0',
      'data 1 abc',
      `segment 1 3+0 flags=${F.fin}`,
      'close 1 fin @6000',
    ]);
    expect(w.end()).toEqual([]);
  });

  it('closes on a RST from either side', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    w.send(C, S, T.ack, 101, 'ab');
    expect(w.brief(w.send(S, C, T.rst, 9001))).toEqual(['close 1 rst @3000']);
  });

  it('keeps two interleaved connections apart, numbered in order of first appearance', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    w.send(C2, S, T.syn, 5000);
    w.send(C2, S, T.ack, 5001, 'second');
    w.send(C, S, T.ack, 101, 'first');
    w.send(S, C2, T.ack, 1);
    w.send(C2, S, T.ack, 5007, '!');
    w.end();
    expect(w.text(1)).toBe('first');
    expect(w.text(2)).toBe('second!');
    expect(w.brief().filter((e) => e.startsWith('open') || e.startsWith('close'))).toEqual([
      'open 1 50000->8181 handshake @1000',
      'open 2 50001->8181 handshake @2000',
      'close 1 end-of-capture @4000',
      'close 2 end-of-capture @6000',
    ]);
  });

  it('opens a new connection for a new SYN on the tuple of a closed one, ignoring a late copy of the old SYN', () => {
    const w = new Wire();
    transfer(w, C, 100, 'one');
    expect(w.send(C, S, T.syn, 100)).toEqual([]);
    expect(w.send(C, S, T.ack, 104, 'late')).toEqual([]);
    const reuse = w.send(C, S, T.syn, 7000);
    expect(w.brief(reuse)).toEqual(['open 2 50000->8181 handshake @9000', `segment 2 0+0 flags=${F.syn}`]);
    w.send(C, S, T.ack, 7001, 'two');
    expect(w.text(1)).toBe('one');
    expect(w.text(2)).toBe('two');
  });

  it('closes a connection whose client sent FIN when a new SYN reuses its tuple', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    w.send(C, S, T.ack, 101, 'one');
    w.send(C, S, T.fin | T.ack, 104);
    expect(w.brief(w.send(C, S, T.syn, 7000))).toEqual([
      'close 1 fin @3000',
      'open 2 50000->8181 handshake @4000',
      `segment 2 0+0 flags=${F.syn}`,
    ]);
  });

  it('treats a repeated client SYN on an open connection as a retransmission', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    expect(w.brief(w.send(C, S, T.syn, 100))).toEqual([`segment 1 0+0 flags=${F.syn}`]);
  });

  it('reports payload the server sent, once, with the total, just before the close', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    w.send(S, C, T.syn | T.ack, 9000);
    w.send(S, C, T.ack, 9001, 'abc');
    w.send(S, C, T.ack, 9004, 'defg', 2);
    w.send(C, S, T.fin | T.ack, 101);
    const close = w.send(S, C, T.fin | T.ack, 9010);
    expect(w.brief(close)).toEqual(['problem 1 {"kind":"server-data","bytes":9}', 'close 1 fin @6000']);
    expect(w.events.filter((e) => e.type === 'problem')).toHaveLength(1);
  });

  it('takes the side that sent payload first as the client when no SYN was seen', () => {
    const w = new Wire();
    expect(w.send(S, C, T.ack, 9001)).toEqual([]);
    w.send(C, S, T.ack, 500);
    const data = w.send(C, S, T.ack | T.psh, 500, 'mid');
    expect(w.brief(data)).toEqual([
      'open 1 50000->8181 @1000',
      'problem 1 {"kind":"mid-stream","frame":2}',
      'segment 1 0+3 flags=0',
      'data 1 mid',
    ]);
  });

  it('takes the receiver of a SYN+ACK as the client when the client SYN was missed', () => {
    const w = new Wire();
    const open = w.send(S, C, T.syn | T.ack, 9000);
    expect(w.brief(open)).toEqual(['open 1 50000->8181 @1000']);
    w.send(C, S, T.ack, 101, 'x');
    expect(w.text(1)).toBe('x');
  });

  it('takes the side that sent first as the client when only ACKs were seen', () => {
    const w = new Wire();
    w.send(C, S, T.ack, 500);
    w.send(S, C, T.ack, 9001);
    w.send(S, C, T.ack, 9001);
    expect(w.brief(w.end())).toEqual(['open 1 50000->8181 @1000', 'problem 1 {"kind":"mid-stream","frame":1}', 'close 1 end-of-capture @3000']);
  });

  it('drops ACKs seen before a SYN on the same tuple and starts the connection at the SYN', () => {
    const w = new Wire();
    w.send(S, C, T.ack, 1);
    w.send(C, S, T.ack, 2);
    expect(w.brief(w.send(C, S, T.syn, 100))).toEqual(['open 1 50000->8181 handshake @3000', `segment 1 0+0 flags=${F.syn}`]);
  });

  it('reports the stream gap before closing at the end of the capture', () => {
    const w = new Wire();
    w.send(C, S, T.syn, 100);
    w.send(C, S, T.ack, 101, 'ab');
    w.send(C, S, T.ack, 105, 'ef');
    expect(w.brief(w.end())).toEqual(['problem 1 {"kind":"gap","offset":2,"missing":2,"held":2}', 'close 1 end-of-capture @3000']);
    expect(w.text(1)).toBe('ab');
  });

  it('survives a SYN flood: one open and one close per tuple, duplicate SYNs included', () => {
    const w = new Wire();
    for (let port = 1; port <= 200; port++) {
      const src = { address: '192.0.2.7', port };
      w.send(src, S, T.syn, port * 7919);
      w.send(src, S, T.syn, port * 7919);
    }
    w.end();
    expect(w.events.filter((e) => e.type === 'open')).toHaveLength(200);
    expect(w.events.filter((e) => e.type === 'close' && e.how === 'end-of-capture')).toHaveLength(200);
  });
});

const endpoints: WireEndpoint[] = [C, C2, S, { address: '2001:db8::1', port: 8181 }];

const anySegment = fc
  .record({
    src: fc.constantFrom(...endpoints),
    dst: fc.constantFrom(...endpoints),
    flags: fc.constantFrom(T.syn, T.syn | T.ack, T.ack, T.ack | T.psh, T.fin | T.ack, T.rst, T.rst | T.ack, 0xff),
    seq: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 40 })),
    payload: fc.uint8Array({ maxLength: 12 }),
    cut: fc.oneof(fc.constant(0), fc.nat({ max: 5 })),
  })
  .filter((s) => s.src !== s.dst);

describe('ConnectionTracker, for any sequence of segments', () => {
  it('opens each connection once, before its other events, and closes it once, last; ids count from 1', () => {
    fc.assert(
      fc.property(fc.array(anySegment, { maxLength: 60 }), (segments) => {
        const tracker = new ConnectionTracker({ maxHeld: 16 });
        const events = segments.flatMap((s, i) => tracker.push({ ...s, frame: i + 1, timeUs: i, ack: 0, window: 0 }));
        events.push(...tracker.end());
        const opened: number[] = [];
        const closed = new Set<number>();
        for (const e of events) {
          if (e.type === 'open') {
            expect(e.id).toBe(opened.length + 1);
            opened.push(e.id);
          } else {
            expect(opened).toContain(e.id);
            expect(closed.has(e.id)).toBe(false);
            if (e.type === 'close') closed.add(e.id);
          }
        }
        expect([...closed].sort((a, b) => a - b)).toEqual(opened);
      }),
    );
  });

  it('rebuilds the client stream through the tracker, whatever the order of its segments', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const points = [...new Set([0, bytes.length, ...cuts.map((c) => c % bytes.length)])].sort((a, b) => a - b);
        const pieces = points.slice(1).map((e, i) => [points[i]!, e] as const);
        const w = new Wire();
        w.send(C, S, T.syn, 2 ** 32 - 100);
        for (const [s, e] of pieces.reverse()) {
          w.events.push(...w.tracker.push({ ...w.seg(C, S, T.ack, (2 ** 32 - 99 + s) % 2 ** 32), payload: bytes.subarray(s, e) }));
          w.send(S, C, T.ack, 1);
        }
        w.end();
        const stream = w.events.flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
        expect(stream).toEqual([...bytes]);
      }),
    );
  });
});
