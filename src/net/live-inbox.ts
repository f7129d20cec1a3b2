import { EventEmitter } from 'node:events';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { type LiveEvent, liveSocketPath, parseLiveEvent } from '../capture/index.js';

/** Longest line a publisher may send (one live event is a few hundred bytes). */
const MAX_LINE = 64 * 1024;
/** Transfers one trace may have open at once on the page; a publisher past it is disconnected. */
const MAX_OPEN_PER_TRACE = 256;

/** Limits of a {@link LiveInbox}. */
export interface LiveInboxOptions {
  /** Traces connected at once; the next is closed at once (default 32). */
  readonly maxPublishers?: number;
}

/**
 * The live events of programs traced into a lab's captures folder: `wirestep trace` finds the
 * socket there and sends each connection's events, and the inbox emits them as `live`, as a
 * receiver does. Keys are made its own per trace, so no trace can touch another's rows or the
 * receiver's; a trace that goes away with transfers open ends them as interrupted.
 */
export interface LiveInbox extends EventEmitter {
  /** The socket's path, as listened on. */
  readonly path: string;
  /** Stops listening, disconnects every trace and removes the socket. */
  close(): Promise<void>;
}

/** Why a lab cannot show traced programs live; carries the socket's path. */
export class LiveInboxError extends Error {}

/**
 * Listens on the live socket of `capturesDir` (`.wirestep-live.sock`, made if the folder is
 * missing). A socket left there by a lab that was killed is replaced; one another lab listens
 * on, or a file of another kind there, is left alone. Throws {@link LiveInboxError} then, or when
 * the folder's path is too long for a socket address.
 */
export async function openLiveInbox(capturesDir: string, options: LiveInboxOptions = {}): Promise<LiveInbox> {
  const where = liveSocketPath(capturesDir);
  if (where === null) throw new LiveInboxError(`the captures folder ${capturesDir} has too long a path for a socket`);
  await mkdir(capturesDir, { recursive: true });
  const found = await lstat(where).catch(() => null);
  if (found && !found.isSocket()) throw new LiveInboxError(`${where} is there and is not a socket: remove it to show traced programs live`);
  if (found) {
    if (await listening(where)) throw new LiveInboxError(`another lab shows the traced programs of ${capturesDir} (${where})`);
    await unlink(where);
  }
  const maxPublishers = options.maxPublishers ?? 32;
  const emitter = new EventEmitter() as LiveInbox;
  const publishers = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((socket) => {
    if (publishers.size >= maxPublishers) {
      socket.destroy();
      return;
    }
    publishers.add(socket);
    const prefix = `t${++next}:`;
    // Where each open transfer of this trace stood, to end it if the trace goes away.
    const open = new Map<string, { bytes: number; files: number; captureId: string | null }>();
    let pending = '';
    const take = (line: string): void => {
      const e = parseLiveEvent(line);
      if (!e || (e.type !== 'open' && !open.has(e.key))) return;
      const own: LiveEvent = { ...e, key: prefix + e.key };
      const was = open.get(e.key);
      if (e.type === 'open') {
        // One trace has few connections open at once; a publisher opening endlessly is cut off.
        if (open.size >= MAX_OPEN_PER_TRACE && !open.has(e.key)) {
          socket.destroy();
          return;
        }
        open.set(e.key, { bytes: 0, files: 0, captureId: e.captureId });
      }
      else if (e.type === 'progress') open.set(e.key, { ...was!, bytes: e.bytes, files: e.count ?? 0 });
      else open.delete(e.key);
      emitter.emit('live', own);
    };
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        take(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      if (pending.length > MAX_LINE) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      publishers.delete(socket);
      // The trace ended (or was killed) before its transfers did: they will say no more.
      for (const [key, { bytes, files, captureId }] of open) {
        emitter.emit('live', { type: 'done', key: prefix + key, status: 'interrupted', reason: null, bytes, saved: null, files, captureId } satisfies LiveEvent);
      }
      open.clear();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new LiveInboxError(`cannot listen on ${where}: ${err.message}`);
  });
  server.on('error', () => {});
  Object.defineProperty(emitter, 'path', { value: where, enumerable: true });
  emitter.close = async () => {
    for (const s of publishers) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Node removes the socket file on close; a copy left by a killed lab went above.
    await unlink(where).catch(() => {});
  };
  return emitter;
}

/** Whether something accepts connections on the socket at `where`. */
function listening(where: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: where });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
