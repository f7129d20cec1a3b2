import net from 'node:net';
import { type Endpoint, type LiveEvent, type OutcomeStatus, type Side, liveSocketPath } from '../capture/index.js';
import { Dissector, type Reason } from '../protocol/index.js';

/** Least time between two progress events of one connection, as the receiver's live events go. */
const PROGRESS_MS = 100;

interface Tracked {
  readonly dissector: Dissector;
  /** The name of the file whose size or payload is coming, once its name field came. */
  name: string | null;
  lastMs: number;
  trailing: NodeJS.Timeout | null;
}

/**
 * Turns a traced program's connections into live events, the ones wirestep's receiver emits
 * for the connections it accepts: `open` at the connect or accept, `progress` as the stream's
 * fields fill in (its own dissector; at most every 100 ms, and always the last), `done` with the
 * capture's outcome. Keys are `<prefix><connection>`.
 */
export class TraceLive {
  readonly #emit: (e: LiveEvent) => void;
  readonly #prefix: string;
  readonly #conns = new Map<number, Tracked>();

  constructor(emit: (e: LiveEvent) => void, prefix: string) {
    this.#emit = emit;
    this.#prefix = prefix;
  }

  /** A connection opened: `side` says whether the program's sends or its reads are the stream. */
  open(conn: number, side: Side, client: Endpoint | null, program: string, captureId: string | null): void {
    this.#conns.set(conn, { dissector: new Dissector(), name: null, lastMs: 0, trailing: null });
    // A socket that is not IP has no endpoint to show; the program's name says whose it is.
    this.#emit({ type: 'open', key: this.#prefix + conn, client: client ?? { address: '-', port: 0 }, captureId, program: { name: program, side } });
  }

  /** `bytes` of the stream moved by one call on connection `conn`. */
  data(conn: number, bytes: Uint8Array): void {
    const c = this.#conns.get(conn);
    if (!c) return;
    for (const e of c.dissector.push(bytes)) {
      if (e.type !== 'field') continue;
      if (e.field.value?.kind === 'name') c.name = e.field.value.name.text;
      else if (e.field.kind === 'payload') c.name = null;
    }
    this.#progress(conn, c, false);
  }

  /** The connection's capture is finished: its outcome, and the captures it took the place of. */
  done(conn: number, status: OutcomeStatus, reason: Reason | null, captureId: string | null, replaces: readonly string[] = []): void {
    const c = this.#conns.get(conn);
    if (!c) return;
    this.#progress(conn, c, true);
    this.#conns.delete(conn);
    const st = c.dissector.state();
    this.#emit({
      type: 'done', key: this.#prefix + conn, status, reason, bytes: st.offset, saved: null, files: st.count ?? 0, captureId,
      ...(replaces.length > 0 ? { replaces } : {}),
    });
  }

  #progress(conn: number, c: Tracked, now: boolean): void {
    const t = Date.now();
    if (!now && t - c.lastMs < PROGRESS_MS) {
      c.trailing ??= setTimeout(() => {
        c.trailing = null;
        if (this.#conns.get(conn) === c) this.#progress(conn, c, false);
      }, PROGRESS_MS - (t - c.lastMs)).unref();
      return;
    }
    if (c.trailing) clearTimeout(c.trailing);
    c.trailing = null;
    c.lastMs = t;
    const st = c.dissector.state();
    this.#emit({
      type: 'progress', key: this.#prefix + conn, bytes: st.offset, count: st.count, filesDone: st.filesDone, field: st.field, kind: st.kind,
      file: st.file ?? null, name: c.name, have: st.have, needed: st.needed.toString(),
    });
  }
}

/** Bytes of live events a lab may leave unread before progress events are dropped (open and done never are). */
const MAX_UNREAD = 1 << 20;

/** A connection to a lab's live socket, over which a trace tells the lab's `/live` page what its program does. */
export interface LivePublisher {
  /** The socket's path, as connected to. */
  readonly path: string;
  /** Sends one event as a JSON line; never blocks, never throws (a lab that went away is forgotten). */
  send(e: LiveEvent): void;
  /** Ends the connection once what was sent is written, or after 5 s if the lab reads nothing. */
  close(): Promise<void>;
}

/**
 * Connects to the live socket of a lab recording into `capturesDir` (`wirestep lab --captures`),
 * so traced transfers show on its `/live` page. Resolves null when no lab listens there.
 */
export async function connectLive(capturesDir: string): Promise<LivePublisher | null> {
  const where = liveSocketPath(capturesDir);
  if (where === null) return null;
  const socket = net.connect({ path: where });
  const connected = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
  });
  if (!connected) {
    socket.destroy();
    return null;
  }
  let gone = false;
  socket.on('error', () => {
    gone = true;
  });
  socket.on('close', () => {
    gone = true;
  });
  // Nothing comes back: the lab only listens.
  socket.resume();
  return {
    path: where,
    send(e) {
      if (gone || (e.type === 'progress' && socket.writableLength > MAX_UNREAD)) return;
      socket.write(`${JSON.stringify(e)}\n`);
    },
    async close() {
      if (gone) return;
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const limit = setTimeout(() => socket.destroy(), 5_000).unref();
      socket.end();
      await closed;
      clearTimeout(limit);
    },
  };
}
