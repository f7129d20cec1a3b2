import type { FileOutcome, OutcomeStatus } from '../capture/format.js';
import {
  type DissectEvent,
  Dissector,
  type DissectorState,
  type Field,
  type Problem,
  type Reason,
  outcomeOf,
} from '../protocol/index.js';

/** The limits a receiver enforces on one connection. */
export interface SessionLimits {
  /** Largest size a file may declare; a larger one ends the connection. */
  readonly maxFileSize: bigint;
  /** Largest count a transfer may announce; a larger one ends the connection. */
  readonly maxFiles: number;
  /** Largest sum of the sizes one connection may announce; past it the connection ends. */
  readonly maxTotalBytes: bigint;
  /** Least average bytes per second once `rateGraceMs` has passed since the start; 0 or absent: none. */
  readonly minRate?: number;
  /** Time from the start before `minRate` applies, in ms. */
  readonly rateGraceMs?: number;
  /**
   * Time a file's header (the count, then its name and size fields) may take, in ms, from the
   * start or the end of the previous file's payload; 0 or absent: no deadline.
   */
  readonly headerTimeoutMs?: number;
}

/**
 * The receiver's temporary files, whatever their version: `.wirestep-<anything>.part`, in any
 * case (a case-insensitive disk takes `.WIRESTEP-….PART` for the same file).
 */
const TEMPORARY_NAME = /^\.wirestep-.*\.part$/is;

/** Whether `name` has the form of the receiver's temporary files; such a name is refused. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/** What happened to the connection, as the socket side saw it: the session's input. */
export type SessionEvent =
  /** Bytes read, in stream order, at `atMs` (the caller's clock; needed for the header deadline). */
  | { readonly type: 'data'; readonly bytes: Uint8Array; readonly atMs?: number }
  /**
   * The receiver began reading at `atMs`: the pacing rules count from here, not from the
   * accept, since the time before (making the capture) was the receiver's, not the sender's.
   */
  | { readonly type: 'start'; readonly atMs: number }
  /** The time is `atMs`: the session cuts the connection if a deadline of {@link ReceiverSession.deadline} passed. */
  | { readonly type: 'tick'; readonly atMs: number }
  /** The receiver is full and chose this connection to make room (see {@link pickDisplaced}). */
  | { readonly type: 'displaced'; readonly atMs: number; readonly graceMs: number }
  /** The sender ended the stream (its FIN): nothing more can come. */
  | { readonly type: 'end' }
  /** The sender was silent for this long (the idle timer fired). */
  | { readonly type: 'timeout'; readonly seconds: number }
  /** The receiver is being shut down. */
  | { readonly type: 'shutdown' }
  /**
   * The connection failed (a socket error), or the receiver did (an internal error: then
   * `byReceiver`, and the receiver is the one that closes the connection).
   */
  | { readonly type: 'error'; readonly reason: Reason; readonly byReceiver?: boolean }
  /** Writing, closing or naming file `file` failed; its temporary file is to go. */
  | { readonly type: 'write-failed'; readonly file: number; readonly reason: Reason }
  /** File `file` was committed and saved as `savedAs` (relative to the receiver's folder). */
  | { readonly type: 'saved'; readonly file: number; readonly savedAs: string }
  /** The socket is closed: the session gives its outcome. */
  | { readonly type: 'closed' };

/** What the socket side must do, in order: the session's output. */
export type SessionCommand =
  /** The count arrived (for the log). */
  | { readonly type: 'count'; readonly count: number }
  /** Start a temporary file for file `file`, whose name passed every check; its payload starts at stream offset `offset`. */
  | { readonly type: 'open-file'; readonly file: number; readonly name: string; readonly size: bigint; readonly offset: number }
  /** Append `data` (a view into the bytes given, not a copy) to file `file`. */
  | { readonly type: 'write'; readonly file: number; readonly data: Uint8Array }
  /**
   * File `file` came whole: save it under `name` or a free variant, then report `saved` or
   * `write-failed`. Commands come in batches: a file discarded earlier in the batch is skipped.
   */
  | { readonly type: 'commit'; readonly file: number; readonly name: string; readonly size: bigint }
  /** Drop file `file`'s temporary file, if any. */
  | { readonly type: 'discard'; readonly file: number }
  /** Record what became of a file (replacing an earlier record of the same file). */
  | { readonly type: 'file'; readonly outcome: FileOutcome }
  /** Bytes came after the last file (for the log). */
  | { readonly type: 'trailing'; readonly length: number }
  /** Close the connection now, for this reason (the receiver cuts it). */
  | { readonly type: 'abort'; readonly reason: Reason }
  /** The connection is over: its outcome, its problems of severity error, and whether the receiver cut it. */
  | {
      readonly type: 'close';
      readonly status: OutcomeStatus;
      readonly reason?: Reason;
      readonly errors: readonly Problem[];
      readonly cutByReceiver: boolean;
    };

interface OpenFile {
  readonly file: number;
  readonly name: string;
  readonly nameHex?: string;
  readonly size: bigint;
  /** False once refused or failed: its payload is read and dropped. */
  writing: boolean;
}

/**
 * The receiver's policy for one connection, with no I/O (h11's `Connection`, mitmproxy's
 * layers): events in ({@link SessionEvent}), commands out ({@link SessionCommand}). It feeds the
 * dissector, decides which names to refuse and when a limit ends the connection, and owns the
 * file outcomes and the connection's outcome. The receiver runs its commands on sockets and
 * disks; a grader can run it on captured bytes to learn what a correct receiver does.
 *
 * It does not choose the free name a file is saved under (`a (1).txt` when `a.txt` exists):
 * that depends on what the folder holds, so the receiver picks it (`candidateName` in receiver.ts) and
 * reports it back with a `saved` event.
 */
export class ReceiverSession {
  readonly #limits: SessionLimits;
  readonly #dissector: Dissector;
  readonly #problems: Problem[] = [];
  readonly #files = new Map<number, FileOutcome>();
  /** The name field of the file whose size comes next, with its problems. */
  #name: { field: Field; problems: readonly Problem[] } | null = null;
  #open: OpenFile | null = null;
  /** Files being written or committed, until they are saved or fail. */
  readonly #writing = new Map<number, OpenFile>();
  #announced = 0n;
  #cut: { status: OutcomeStatus; reason: Reason; byReceiver: boolean } | null = null;
  #ended = false;
  #closed = false;
  readonly #acceptedMs: number;
  /** When the pacing rules started counting. */
  #startMs: number;
  /** When the header being read began; null while a payload or trailing bytes are read. */
  #headerSince: number | null;

  /** `startMs`: when the connection was accepted, on the clock of the times given in events. */
  constructor(limits: SessionLimits, startMs = 0) {
    this.#limits = limits;
    this.#acceptedMs = startMs;
    this.#startMs = startMs;
    this.#headerSince = startMs;
    this.#dissector = new Dissector({ maxFileSize: limits.maxFileSize, maxFiles: limits.maxFiles });
  }

  /** Takes one event; returns what to do, in order. Never throws on any bytes. */
  handle(event: SessionEvent): SessionCommand[] {
    const out: SessionCommand[] = [];
    if (this.#closed) return out;
    switch (event.type) {
      case 'data':
        if (this.#cut) break;
        for (const e of this.#dissector.push(event.bytes)) {
          this.#onDissect(e, out);
          // The rest of a chunk after a cut is not acted on: the connection is going.
          if (this.#cut) break;
        }
        if (event.atMs !== undefined) this.#trackHeader(event.atMs);
        break;
      case 'start':
        if (this.#dissector.state().offset > 0) break;
        this.#startMs = event.atMs;
        this.#headerSince = event.atMs;
        break;
      case 'tick':
        this.#onTick(event.atMs, out);
        break;
      case 'displaced': {
        // A stream that ended is finishing on its own: nothing to cut.
        if (this.#ended) break;
        const seconds = (event.atMs - this.#acceptedMs) / 1000;
        this.#cutWith('aborted', { kind: 'displaced', bytes: this.#dissector.state().offset, seconds, grace: event.graceMs / 1000 }, true, out);
        break;
      }
      case 'end':
        this.#end(out);
        break;
      case 'timeout':
        this.#cutWith('aborted', { kind: 'idle-timeout', seconds: event.seconds }, true, out);
        break;
      case 'shutdown':
        this.#cutWith('interrupted', { kind: 'shutdown' }, true, out);
        break;
      case 'error':
        this.#cutWith('aborted', event.reason, event.byReceiver ?? false, out);
        break;
      case 'write-failed': {
        const known = this.#files.get(event.file);
        if (this.#open?.file === event.file) this.#open.writing = false;
        out.push({ type: 'discard', file: event.file });
        if (known?.status !== 'failed') this.#setFile(out, event.file, { status: 'failed', reason: event.reason });
        break;
      }
      case 'saved':
        this.#setFile(out, event.file, { status: 'saved', savedAs: event.savedAs });
        break;
      case 'closed': {
        this.#end(out);
        this.#closed = true;
        const cut = this.#cut;
        out.push({
          type: 'close',
          status: cut ? cut.status : outcomeOf(this.#problems),
          ...(cut ? { reason: cut.reason } : {}),
          errors: this.#problems.filter((p) => p.severity === 'error'),
          cutByReceiver: cut?.byReceiver ?? false,
        });
        break;
      }
    }
    return out;
  }

  /** What became of each announced file so far, by file number. */
  get files(): FileOutcome[] {
    return [...this.#files.values()].sort((a, b) => a.file - b.file);
  }

  /** Every problem the dissector reported so far, in order. */
  get problems(): readonly Problem[] {
    return this.#problems;
  }

  /** Where the dissection stands (for progress views). */
  state(): DissectorState {
    return this.#dissector.state();
  }

  /** The name of the file being received, once its name field came. */
  get currentName(): string | null {
    if (this.#open) return this.#open.name;
    const v = this.#name?.field.value;
    return v?.kind === 'name' ? v.name.text : null;
  }

  /** Whether the connection was cut (by the receiver or by an error) and is to close. */
  get cut(): boolean {
    return this.#cut !== null;
  }

  /**
   * The first time (on the events' clock) at which a pacing rule would cut this connection if
   * no more bytes came: the header deadline, or the moment the average rate falls under the
   * minimum. Null when no rule applies (none set, the stream ended, or already cut).
   */
  deadline(): number | null {
    if (this.#cut || this.#ended || this.#closed) return null;
    const l = this.#limits;
    let at = Infinity;
    if (l.headerTimeoutMs && this.#headerSince !== null) at = this.#headerSince + l.headerTimeoutMs;
    if (l.minRate) {
      // The average stays at or above the minimum until offset / minRate seconds have passed.
      const rateAt = Math.max(this.#startMs + (l.rateGraceMs ?? 0), this.#startMs + (this.#dissector.state().offset * 1000) / l.minRate);
      at = Math.min(at, rateAt);
    }
    return at === Infinity ? null : at;
  }

  #trackHeader(atMs: number): void {
    const kind = this.#dissector.state().kind;
    if (kind !== 'count' && kind !== 'name' && kind !== 'size') this.#headerSince = null;
    else this.#headerSince ??= atMs;
  }

  #onTick(atMs: number, out: SessionCommand[]): void {
    if (this.#cut || this.#ended) return;
    const l = this.#limits;
    const st = this.#dissector.state();
    if (l.headerTimeoutMs && this.#headerSince !== null && atMs - this.#headerSince >= l.headerTimeoutMs) {
      this.#cutWith('aborted', { kind: 'header-timeout', field: st.field ?? 'count', seconds: l.headerTimeoutMs / 1000 }, true, out);
      return;
    }
    const elapsed = atMs - this.#startMs;
    if (l.minRate && elapsed >= (l.rateGraceMs ?? 0) && st.offset * 1000 < l.minRate * elapsed) {
      this.#cutWith('aborted', { kind: 'rate-too-low', bytes: st.offset, seconds: elapsed / 1000, minRate: l.minRate }, true, out);
    }
  }

  #cutWith(status: OutcomeStatus, reason: Reason, byReceiver: boolean, out: SessionCommand[]): void {
    if (this.#cut) return;
    this.#cut = { status, reason, byReceiver };
    out.push({ type: 'abort', reason });
  }

  #end(out: SessionCommand[]): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const e of this.#dissector.end()) this.#onDissect(e, out);
    const open = this.#open;
    if (!open) return;
    this.#open = null;
    out.push({ type: 'discard', file: open.file });
    if (this.#files.has(open.file)) return;
    const offset = this.#dissector.state().offset;
    const reason: Reason = this.#cut?.byReceiver ? { kind: 'receiver-closed', offset } : { kind: 'stream-ended', offset };
    this.#setFile(out, open.file, { status: 'incomplete', reason }, open);
  }

  #onDissect(event: DissectEvent, out: SessionCommand[]): void {
    if (event.type === 'payload') {
      if (this.#open?.writing) out.push({ type: 'write', file: this.#open.file, data: event.data });
      return;
    }
    if (event.type === 'problem') {
      this.#problems.push(event.problem);
      return;
    }
    const { field, problems } = event;
    this.#problems.push(...problems);
    const v = field.value;
    if (v?.kind === 'count') {
      out.push({ type: 'count', count: v.count });
      const over = problems.find((p) => p.kind === 'count-over-limit');
      if (over?.kind === 'count-over-limit') this.#cutWith('aborted', { kind: 'count-over-limit', count: over.count, limit: over.limit }, true, out);
    } else if (v?.kind === 'name') {
      this.#name = { field, problems };
    } else if (v?.kind === 'size') {
      this.#openFile(field.file!, v.size, field.offset + field.length, problems, out);
    } else if (field.kind === 'payload' && field.complete) {
      const open = this.#open;
      this.#open = null;
      if (open?.writing) out.push({ type: 'commit', file: open.file, name: open.name, size: open.size });
    } else if (field.kind === 'trailing') {
      out.push({ type: 'trailing', length: field.length });
    }
  }

  #openFile(file: number, size: bigint, offset: number, sizeProblems: readonly Problem[], out: SessionCommand[]): void {
    const v = this.#name?.field.value;
    const decoded = v?.kind === 'name' ? v.name : null;
    const nameErrors = (this.#name?.problems ?? []).filter((p) => p.severity === 'error');
    this.#name = null;
    const open: OpenFile = { file, name: decoded?.text ?? '', ...(decoded?.hex ? { nameHex: decoded.hex } : {}), size, writing: false };
    this.#open = open;
    // The file's own limit first: a size of 2^64-1 is over --max-file-size, whatever came before.
    const over = sizeProblems.find((p) => p.kind === 'size-over-limit');
    if (over?.kind === 'size-over-limit') {
      const reason: Reason = { kind: 'size-over-limit', file, size: String(over.size), limit: String(over.limit) };
      this.#setFile(out, file, { status: 'refused', reason }, open);
      this.#cutWith('aborted', reason, true, out);
      return;
    }
    this.#announced += size;
    if (this.#announced > this.#limits.maxTotalBytes) {
      const reason: Reason = { kind: 'total-over-limit', total: String(this.#announced), limit: String(this.#limits.maxTotalBytes) };
      this.#setFile(out, file, { status: 'refused', reason }, open);
      this.#cutWith('aborted', reason, true, out);
      return;
    }
    const refusal = nameRefusal(nameErrors) ?? (isTemporaryName(open.name) ? { kind: 'name-temporary' } : null);
    if (refusal) {
      this.#setFile(out, file, { status: 'refused', reason: refusal }, open);
      return;
    }
    open.writing = true;
    this.#writing.set(file, open);
    out.push({ type: 'open-file', file, name: open.name, size, offset });
  }

  #setFile(out: SessionCommand[], file: number, what: Pick<FileOutcome, 'status' | 'savedAs' | 'reason'>, open?: OpenFile): void {
    const known = open ?? this.#writing.get(file) ?? this.#files.get(file);
    if (!known) return;
    this.#writing.delete(file);
    const outcome: FileOutcome = {
      file,
      name: known.name,
      ...(known.nameHex ? { nameHex: known.nameHex } : {}),
      size: String(known.size),
      status: what.status,
      ...(what.savedAs === undefined ? {} : { savedAs: what.savedAs }),
      ...(what.reason === undefined ? {} : { reason: what.reason }),
    };
    this.#files.set(file, outcome);
    out.push({ type: 'file', outcome });
  }
}

/** Why a name with these errors is refused: not text at all first, then unsafe as a path. */
function nameRefusal(errors: readonly Problem[]): Reason | null {
  if (errors.some((p) => p.kind === 'name-invalid-utf8')) return { kind: 'name-invalid-utf8' };
  const unsafe = errors.find((p) => p.kind === 'name-unsafe');
  if (unsafe?.kind === 'name-unsafe') return { kind: 'name-unsafe', reasons: unsafe.reasons };
  return null;
}

/** What the receiver knows of an open connection when it must make room. */
export interface HeldConnection {
  /** The caller's handle for it. */
  readonly id: number;
  /** The peer's address (no port): connections from one machine, or one NAT, share it. */
  readonly address: string;
  /** When it was accepted, on the caller's clock (ms). */
  readonly openedAtMs: number;
  /** Bytes received so far. */
  readonly bytes: number;
}

/**
 * Which connection to close so that a waiting one can be served, at `nowMs`: among those open
 * at least `graceMs`, the ones from the address holding the most connections first, then the
 * slowest (fewest bytes per second since accepted), then the oldest. Null when none is that old:
 * see {@link nextDisplaceableAt}. Connections are never capped per address: a class behind one
 * NAT shares one.
 */
export function pickDisplaced(open: readonly HeldConnection[], nowMs: number, graceMs: number): HeldConnection | null {
  const perAddress = new Map<string, number>();
  for (const c of open) perAddress.set(c.address, (perAddress.get(c.address) ?? 0) + 1);
  let best: HeldConnection | null = null;
  let bestKey: [number, number, number] | null = null;
  for (const c of open) {
    const age = nowMs - c.openedAtMs;
    if (age < graceMs) continue;
    // Smaller sorts first: more connections at the address, then a lower rate, then older.
    const key: [number, number, number] = [-perAddress.get(c.address)!, c.bytes / Math.max(age, 1), c.openedAtMs];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
      best = c;
      bestKey = key;
    }
  }
  return best;
}

/** When the first of `open` will have been open `graceMs` (ms, the caller's clock); null when none is open. */
export function nextDisplaceableAt(open: readonly HeldConnection[], graceMs: number): number | null {
  let at: number | null = null;
  for (const c of open) at = at === null ? c.openedAtMs + graceMs : Math.min(at, c.openedAtMs + graceMs);
  return at;
}

/**
 * When as many connections wait as may: which waiting one (by index in `waiting`, first come
 * first) a newcomer from `newcomer` takes the place of, or null to refuse the newcomer. Only an
 * address holding more connections (open and waiting, `openPerAddress` for the open ones) than
 * the newcomer's would with it loses one, its latest: one machine opening hundreds of connections
 * cannot keep the others out of the queue.
 */
export function pickWaitingEvicted(waiting: readonly string[], openPerAddress: ReadonlyMap<string, number>, newcomer: string): number | null {
  const held = new Map(openPerAddress);
  for (const a of waiting) held.set(a, (held.get(a) ?? 0) + 1);
  const mine = (held.get(newcomer) ?? 0) + 1;
  let evict: number | null = null;
  let most = mine;
  // From the back: the latest of the most crowded address goes.
  for (let i = waiting.length - 1; i >= 0; i--) {
    const n = held.get(waiting[i]!)!;
    if (n > most) {
      most = n;
      evict = i;
    }
  }
  return evict;
}
