import type { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import type { Endpoint, LiveEvent, OutcomeStatus } from '../capture/index.js';
import { type Lang, type Reason, describeReason } from '../protocol/index.js';
import { toJson } from './json.js';

type Progress = Omit<Extract<LiveEvent, { type: 'progress' }>, 'type'>;

/** A transfer as the live page shows it: where it stands now (its latest progress, then outcome). */
export interface LiveTransfer extends Progress {
  readonly client: Endpoint;
  readonly captureId: string | null;
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

/**
 * Follows a receiver's `live` events and passes them to every open `/live` page as Server-Sent
 * Events: a snapshot on connect, then one `transfer` event per change.
 */
export class LiveFeed {
  readonly #transfers = new Map<string, LiveTransfer>();
  /** Open event streams, with the language each page asked for. */
  readonly #clients = new Map<Response, Lang>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(receiver: EventEmitter) {
    receiver.on('live', (e: LiveEvent) => this.#apply(e));
    this.#heartbeat = setInterval(() => {
      for (const res of this.#clients.keys()) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS).unref();
  }

  /** The transfers, newest first, their reasons worded in `lang`. */
  snapshot(lang: Lang): LiveTransfer[] {
    return [...this.#transfers.values()].reverse().map((x) => worded(x, lang));
  }

  /** The `/live/events` handler: an event stream that stays open, worded in `lang`. */
  stream(req: Request, res: Response, lang: Lang): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\nevent: snapshot\ndata: ${toJson(this.snapshot(lang))}\n\n`);
    this.#clients.set(res, lang);
    req.on('close', () => this.#clients.delete(res));
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
        key: e.key, client: e.client, captureId: e.captureId, status: 'receiving', reason: null, message: null, bytes: 0, count: null,
        filesDone: 0, field: 'count', kind: 'count', file: null, name: null, have: 0, needed: '4', saved: null, startedAt: Date.now(),
      };
    } else if (!old) {
      return;
    } else if (e.type === 'progress') {
      next = { ...old, bytes: e.bytes, count: e.count, filesDone: e.filesDone, field: e.field, kind: e.kind, file: e.file, name: e.name, have: e.have, needed: e.needed };
    } else {
      next = { ...old, status: e.status, reason: e.reason, bytes: e.bytes, saved: e.saved, captureId: e.captureId };
    }
    this.#transfers.delete(e.key);
    this.#transfers.set(e.key, next);
    while (this.#transfers.size > KEEP) this.#transfers.delete(this.#transfers.keys().next().value!);
    for (const [res, lang] of this.#clients) res.write(`event: transfer\ndata: ${toJson(worded(next, lang))}\n\n`);
  }
}

function worded(x: LiveTransfer, lang: Lang): LiveTransfer {
  return { ...x, message: x.reason ? describeReason(x.reason, lang) : null };
}
