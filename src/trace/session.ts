import { constants } from 'node:os';
import { CALL_FLAGS, type CallName, type Endpoint, type EventType, type Side, unmapped } from '../capture/format.js';
import type { Reason } from '../protocol/index.js';
import { FRAME_ASKED_NONE, FRAME_EXCEPTION, type TraceFrame, frameJson } from './frames.js';

/** The call that made an event, as a capture stores it. */
export interface TraceCall {
  readonly name: CallName;
  readonly asked: number | null;
  readonly flags: number;
}

/** What the traced process says of itself in its first frame. */
export interface TracedProcess {
  readonly pid?: number;
  readonly argv?: readonly string[];
  readonly cwd?: string;
  readonly runtime?: string;
}

/** What to do with a frame: open a capture, record into one, finish one, or note the process. */
export type TraceCommand =
  | { readonly type: 'hello'; readonly process: TracedProcess }
  | { readonly type: 'listen'; readonly local: Endpoint | null }
  | { readonly type: 'open'; readonly conn: number; readonly side: Side; readonly timeNs: bigint; readonly client: Endpoint | null; readonly server: Endpoint | null; readonly call: TraceCall }
  | { readonly type: 'record'; readonly conn: number; readonly side: Side; readonly event: EventType; readonly offset: number; readonly length: number; readonly timeNs: bigint; readonly bytes?: Uint8Array; readonly call: TraceCall }
  | { readonly type: 'error'; readonly conn: number; readonly side: Side; readonly offset: number; readonly timeNs: bigint; readonly reason: Reason; readonly call: TraceCall }
  | { readonly type: 'close'; readonly conn: number; readonly side: Side; readonly offset: number; readonly timeNs: bigint; readonly call: TraceCall };

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const SENDS = new Set(['send', 'sendall', 'sendto', 'sendfile']);
const RECVS = new Set(['recv', 'recv_into', 'recvfrom']);

function endpointOf(v: unknown): Endpoint | null {
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number') return null;
  return { address: unmapped(v[0]), port: v[1] };
}

/**
 * Turns a traced program's frames into capture commands, one connection at a time: a socket it
 * connected records side `sender` (its sends are the stream), one it accepted side `receiver`
 * (its reads are). Reads of a sender and sends of a receiver are left out: the protocol is
 * one-way and a capture's stream is one direction. No I/O: frames in, commands out.
 */
export class TraceSession {
  readonly #conns = new Map<number, { side: Side; offset: number }>();

  /** The connections opened and not closed yet, with their side and stream offset. */
  get open(): ReadonlyMap<number, { readonly side: Side; readonly offset: number }> {
    return this.#conns;
  }

  /** The commands one frame makes. */
  take(frame: TraceFrame): TraceCommand[] {
    const failed = (frame.flags & FRAME_EXCEPTION) !== 0;
    const asked = frame.asked === FRAME_ASKED_NONE ? null : frame.asked;
    const call = (name: CallName, flags = 0): TraceCall => ({ name, asked, flags: flags | (failed ? CALL_FLAGS.exception : 0) });
    switch (frame.kind) {
      case 'hello': {
        const j = frameJson(frame);
        const argv = Array.isArray(j.argv) && j.argv.every((a) => typeof a === 'string') ? (j.argv as string[]) : undefined;
        return [{
          type: 'hello',
          process: {
            ...(typeof j.pid === 'number' ? { pid: j.pid } : {}),
            ...(argv ? { argv } : {}),
            ...(typeof j.cwd === 'string' ? { cwd: j.cwd } : {}),
            ...(typeof j.runtime === 'string' ? { runtime: j.runtime } : {}),
          },
        }];
      }
      case 'listen':
        return [{ type: 'listen', local: endpointOf(frameJson(frame).local) }];
      case 'connect':
      case 'connect_ex':
      case 'accept': {
        // A connect that failed made no connection: there is no stream to record.
        if (failed || this.#conns.has(frame.conn)) return [];
        const j = frameJson(frame);
        const side: Side = frame.kind === 'accept' ? 'receiver' : 'sender';
        this.#conns.set(frame.conn, { side, offset: 0 });
        const local = endpointOf(j.local);
        const peer = endpointOf(j.peer);
        return [{ type: 'open', conn: frame.conn, side, timeNs: frame.timeNs, client: side === 'sender' ? local : peer, server: side === 'sender' ? peer : local, call: { name: frame.kind, asked: null, flags: 0 } }];
      }
      case 'shutdown':
      case 'close': {
        const c = this.#conns.get(frame.conn);
        if (!c) return [];
        if (frame.kind === 'close') {
          this.#conns.delete(frame.conn);
          return [{ type: 'close', conn: frame.conn, side: c.side, offset: c.offset, timeNs: frame.timeNs, call: call('close') }];
        }
        const how = frameJson(frame).how;
        // SHUT_WR (1) or SHUT_RDWR (2) sends the FIN: the sender's end of the stream.
        if (c.side !== 'sender' || (how !== 1 && how !== 2)) return [];
        return [{ type: 'record', conn: frame.conn, side: c.side, event: 'end', offset: c.offset, length: 0, timeNs: frame.timeNs, call: call('shutdown') }];
      }
      default: {
        const c = this.#conns.get(frame.conn);
        if (!c) return [];
        const name = frame.kind as CallName;
        if (failed) {
          const j = frameJson(frame);
          const exception = typeof j.exception === 'string' ? j.exception : 'OSError';
          const code = ERRNO_NAMES.get(frame.errno) ?? exception;
          return [{ type: 'error', conn: frame.conn, side: c.side, offset: c.offset, timeNs: frame.timeNs, reason: { kind: 'socket-error', code, exception }, call: call(name) }];
        }
        const moved = frame.payload.length;
        const own = c.side === 'sender' ? SENDS.has(name) : RECVS.has(name);
        if (!own) return [];
        const at = c.offset;
        c.offset += moved;
        if (c.side === 'receiver' && moved === 0 && asked !== 0) {
          // An empty read is the peer's FIN.
          return [{ type: 'record', conn: frame.conn, side: c.side, event: 'end', offset: at, length: 0, timeNs: frame.timeNs, call: call(name, CALL_FLAGS.short) }];
        }
        const short = asked !== null && moved < asked ? (c.side === 'sender' ? CALL_FLAGS.partial : CALL_FLAGS.short) : 0;
        return [{ type: 'record', conn: frame.conn, side: c.side, event: c.side === 'sender' ? 'write' : 'read', offset: at, length: moved, timeNs: frame.timeNs, bytes: frame.payload, call: call(name, short) }];
      }
    }
  }
}
