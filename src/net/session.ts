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
}

/** What happened to the connection, as the socket side saw it: the session's input. */
export type SessionEvent =
  /** Bytes read, in stream order. */
  | { readonly type: 'data'; readonly bytes: Uint8Array }
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
  /** Start a temporary file for file `file`, whose name passed every check. */
  | { readonly type: 'open-file'; readonly file: number; readonly name: string; readonly size: bigint }
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

  constructor(limits: SessionLimits) {
    this.#limits = limits;
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
        break;
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
      this.#openFile(field.file!, v.size, problems, out);
    } else if (field.kind === 'payload' && field.complete) {
      const open = this.#open;
      this.#open = null;
      if (open?.writing) out.push({ type: 'commit', file: open.file, name: open.name, size: open.size });
    } else if (field.kind === 'trailing') {
      out.push({ type: 'trailing', length: field.length });
    }
  }

  #openFile(file: number, size: bigint, sizeProblems: readonly Problem[], out: SessionCommand[]): void {
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
    const refusal = nameRefusal(nameErrors);
    if (refusal) {
      this.#setFile(out, file, { status: 'refused', reason: refusal }, open);
      return;
    }
    open.writing = true;
    this.#writing.set(file, open);
    out.push({ type: 'open-file', file, name: open.name, size });
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
