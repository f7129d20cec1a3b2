import type { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import type { Endpoint, LiveEvent, LiveProgram, OutcomeStatus } from '../capture/index.js';
import { type Lang, type Reason, describeReason } from '../protocol/index.js';
import { t } from './i18n.js';
import { toJson } from './json.js';

type Progress = Omit<Extract<LiveEvent, { type: 'progress' }>, 'type'>;

/** A transfer as the live page shows it: where it stands now (its latest progress, then outcome). */
export interface LiveTransfer extends Progress {
  readonly client: Endpoint;
  readonly captureId: string | null;
  /** The traced program whose calls these are; null for wirestep's own receiver. */
  readonly program: LiveProgram | null;
  /** `receiving` until the connection ends, then its outcome. */
  readonly status: 'receiving' | OutcomeStatus;
  /** Why it ended so, when something cut it, as stored. */
  readonly reason: Reason | null;
  /** `reason` in the page's language. */
  readonly message: string | null;
  readonly saved: number | null;
  /** Milliseconds since the epoch when the connection was accepted. */
  readonly startedAt: number;
}

/** Transfers kept for a page opened late. */
const KEEP = 200;
const HEARTBEAT_MS = 15_000;

/** Limits of a {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** Event streams open at once; the next viewer gets a 503 page (default 100). */
  readonly maxViewers?: number;
  /**
   * Bytes a viewer may leave unread in this process (the response's and its socket's buffers)
   * before it is disconnected at the next event (default 256 KiB): it holds at most this plus one event. Its browser reconnects and gets a fresh snapshot.
   */
  readonly maxBuffered?: number;
}

/** What a {@link LiveFeed} holds now, for tests and the load script. */
export interface LiveFeedUsage {
  readonly viewers: number;
  /** Bytes written to viewers and not yet taken by the kernel, summed. */
  readonly buffered: number;
  /** Viewers disconnected for leaving too much unread, since the start. */
  readonly dropped: number;
  /** Viewers turned away because the feed was full, since the start. */
  readonly refused: number;
}

/**
 * Follows the `live` events of a receiver (and of traced programs, see {@link LiveFeed.follow})
 * and passes them to every open `/live` page as Server-Sent Events: a snapshot on connect, then
 * one `transfer` event per change.
 */
export class LiveFeed {
  readonly #transfers = new Map<string, LiveTransfer>();
  /** Captures joined into another (a traced connection's two ends), and the one they became. */
  readonly #movedTo = new Map<string, string | null>();
  /** Open event streams, with the language each page asked for. */
  readonly #clients = new Map<Response, Lang>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #maxViewers: number;
  readonly #maxBuffered: number;
  #dropped = 0;
  #refused = 0;

  constructor(receiver: EventEmitter, options: LiveFeedOptions = {}) {
    this.#maxViewers = options.maxViewers ?? 100;
    this.#maxBuffered = options.maxBuffered ?? 256 * 1024;
    this.follow(receiver);
    this.#heartbeat = setInterval(() => {
      for (const res of this.#clients.keys()) this.#send(res, ': keep-alive\n\n');
    }, HEARTBEAT_MS).unref();
  }

  /** Shows the `live` events of one more source too (the traced programs a lab hears of). */
  follow(source: EventEmitter): void {
    source.on('live', (e: LiveEvent) => this.#apply(e));
  }

  /** Viewers, the bytes they left unread, and how many were dropped or refused. */
  usage(): LiveFeedUsage {
    let buffered = 0;
    for (const res of this.#clients.keys()) buffered += res.writableLength;
    return { viewers: this.#clients.size, buffered, dropped: this.#dropped, refused: this.#refused };
  }

  /** The transfers, newest first, their reasons worded in `lang`. */
  snapshot(lang: Lang): LiveTransfer[] {
    return [...this.#transfers.values()].reverse().map((x) => worded(x, lang));
  }

  /** The `/live/events` handler: an event stream that stays open, worded in `lang`. */
  stream(_req: Request, res: Response, lang: Lang): void {
    if (this.#clients.size >= this.#maxViewers) {
      this.#refused++;
      // EventSource does not retry after a 503: the page says why instead of hammering the lab.
      res.status(503).set('Retry-After', '30').type('text/plain').send(`${t(lang, 'live.full', { max: this.#maxViewers })}\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.#clients.set(res, lang);
    res.on('close', () => this.#clients.delete(res));
    this.#send(res, `retry: 2000\nevent: snapshot\ndata: ${toJson(this.snapshot(lang))}\n\n`);
  }

  /** Ends every open stream (when the server stops). */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
  }

  #apply(e: LiveEvent): void {
    const old = this.#transfers.get(e.key);
    let next: LiveTransfer;
    if (e.type === 'open') {
      next = {
        key: e.key, client: e.client, captureId: e.captureId, program: e.program ?? null, status: 'receiving', reason: null, message: null, bytes: 0, count: null,
        filesDone: 0, field: 'count', kind: 'count', file: null, name: null, have: 0, needed: '4', saved: null, startedAt: Date.now(),
      };
    } else if (!old) {
      return;
    } else if (e.type === 'progress') {
      next = { ...old, bytes: e.bytes, count: e.count, filesDone: e.filesDone, field: e.field, kind: e.kind, file: e.file, name: e.name, have: e.have, needed: e.needed };
    } else {
      // The other end may have joined this capture into one before this end said it was done.
      const captureId = e.captureId !== null && this.#movedTo.has(e.captureId) ? this.#movedTo.get(e.captureId)! : e.captureId;
      next = { ...old, status: e.status, reason: e.reason, bytes: e.bytes, saved: e.saved, captureId };
    }
    this.#transfers.delete(e.key);
    this.#transfers.set(e.key, next);
    while (this.#transfers.size > KEEP) this.#transfers.delete(this.#transfers.keys().next().value!);
    this.#broadcast(next);
    if (e.type === 'done' && e.replaces) this.#relink(e.replaces, e.captureId);
  }

  /** Points the rows linking to a capture in `gone` at `id`, which took its place, and tells the viewers. */
  #relink(gone: readonly string[], id: string | null): void {
    for (const g of gone) this.#movedTo.set(g, id);
    while (this.#movedTo.size > 2 * KEEP) this.#movedTo.delete(this.#movedTo.keys().next().value!);
    for (const [key, x] of this.#transfers) {
      if (x.captureId === null || !gone.includes(x.captureId)) continue;
      const moved = { ...x, captureId: id };
      this.#transfers.set(key, moved);
      this.#broadcast(moved);
    }
  }

  #broadcast(x: LiveTransfer): void {
    const text = new Map<Lang, string>();
    for (const [res, lang] of this.#clients) {
      if (!text.has(lang)) text.set(lang, `event: transfer\ndata: ${toJson(worded(x, lang))}\n\n`);
      this.#send(res, text.get(lang)!);
    }
  }

  /** Writes to one viewer, or drops it when it has left more than its share unread. */
  #send(res: Response, chunk: string): void {
    if (!this.#clients.has(res)) return;
    // writableLength counts the response's buffer and its socket's: what this process holds for
    // it. Checked before writing, so that a snapshot larger than the limit still goes out whole.
    if (res.writableLength > this.#maxBuffered) {
      this.#clients.delete(res);
      this.#dropped++;
      res.destroy();
      return;
    }
    res.write(chunk);
  }
}

function worded(x: LiveTransfer, lang: Lang): LiveTransfer {
  return { ...x, message: x.reason ? describeReason(x.reason, lang) : null };
}
