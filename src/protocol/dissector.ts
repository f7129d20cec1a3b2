import {
  FIELD_TABLE,
  type FieldKind,
  NAME_LENGTH,
  NAME_PAD_BYTE,
  SIZE_LENGTH,
  fieldId,
} from './format.js';
import { PROBLEM_SEVERITY } from './explain.js';
import { type DecodedName, type UnsafeReason, decodeName, unsafeNameReasons } from './names.js';
import { BoundedReader } from './reader.js';

/** One field of the stream: which bytes it covers and what they mean. */
export interface Field {
  /** `count`, `file[N].name`, `file[N].size`, `file[N].payload` or `trailing`. */
  readonly id: string;
  readonly kind: FieldKind;
  /** 1-based file number for name, size and payload. */
  readonly file?: number;
  /** Stream offset of the field's first byte. */
  readonly offset: number;
  /** Bytes of the field present in the stream (less than `expected` when cut). */
  readonly length: number;
  /** Bytes the format says the field has: 4, 128, 8, the declared size, or for trailing its length. */
  readonly expected: bigint;
  /** False when the stream ended inside the field. */
  readonly complete: boolean;
  /** The decoded value of a complete count, name or size field. */
  readonly value?: FieldValue;
}

/** Decoded values by kind of field. */
export type FieldValue =
  | { readonly kind: 'count'; readonly count: number; readonly littleEndian: number }
  | { readonly kind: 'name'; readonly name: DecodedName }
  | { readonly kind: 'size'; readonly size: bigint; readonly littleEndian: bigint };

/** A problem with the bytes, attached to a byte range (Wireshark's expert info). */
export type Problem = ProblemBase &
  (
    | { readonly kind: 'truncated'; readonly needed: bigint; readonly available: number }
    | { readonly kind: 'fewer-files-than-count'; readonly declared: number; readonly received: number }
    | { readonly kind: 'name-invalid-utf8' }
    | { readonly kind: 'name-unsafe'; readonly name: string; readonly reasons: readonly UnsafeReason[] }
    | { readonly kind: 'name-unpadded' }
    | { readonly kind: 'size-over-limit'; readonly size: bigint; readonly limit: bigint }
    | { readonly kind: 'count-over-limit'; readonly count: number; readonly limit: number }
    | { readonly kind: 'trailing-bytes'; readonly count: number }
  );

interface ProblemBase {
  /** `error`: the transfer went wrong here; `warning`: legal but suspicious. */
  readonly severity: 'error' | 'warning';
  /** Id of the field the problem is about. */
  readonly field: string;
  /** Stream offset where the problem's bytes start. */
  readonly offset: number;
  /** How many bytes the problem covers (0 for "nothing came here"). */
  readonly length: number;
}

/** The kinds of problem, named after the broken rule. */
export type ProblemKind = Problem['kind'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A problem with the severity {@link PROBLEM_SEVERITY} declares for its kind (kind and severity first, as JSON shows them). */
function rated(problem: DistributiveOmit<Problem, 'severity'>): Problem {
  return Object.assign({ kind: problem.kind, severity: PROBLEM_SEVERITY[problem.kind] }, problem) as Problem;
}

/** What the dissector says after being fed bytes. */
export type DissectEvent =
  | { readonly type: 'field'; readonly field: Field; readonly problems: readonly Problem[] }
  | { readonly type: 'payload'; readonly file: number; readonly offset: number; readonly data: Uint8Array }
  | { readonly type: 'problem'; readonly problem: Problem };

/** Where the dissector is: which field it expects bytes for and how many it still needs. */
export interface DissectorState {
  /** Id of the field the next byte belongs to; `null` once the stream has ended. */
  readonly field: string | null;
  readonly kind: FieldKind | null;
  readonly file?: number;
  /** Stream offset where that field started (or will start). */
  readonly fieldOffset: number;
  /** Bytes of that field already seen. */
  readonly have: number;
  /** Bytes still needed to complete that field (0 for trailing bytes, which have no end). */
  readonly needed: bigint;
  /** Total bytes fed so far. */
  readonly offset: number;
  /** Files whose payload is complete. */
  readonly filesDone: number;
  /** The count, once read. */
  readonly count: number | null;
}

/** Options of a dissection. */
export interface DissectorOptions {
  /** Sizes above this are reported as `size-over-limit`. Default: no limit. */
  readonly maxFileSize?: bigint;
  /** Counts above this are reported as `count-over-limit`. Default: no limit. */
  readonly maxFiles?: number;
  /**
   * Start at a file boundary instead of the stream's first byte: `filesDone` files of a stream
   * whose count said `count` end at byte `offset` (a reader re-dissecting from a checkpoint).
   */
  readonly resume?: { readonly offset: number; readonly count: number; readonly filesDone: number };
}

/**
 * Incremental dissector of one client-to-server stream. Feed it slices of any size with
 * {@link Dissector.push} as TCP delivers them, then call {@link Dissector.end}. It never throws
 * on any bytes: malformed input becomes problems, and fields already read are kept.
 * The fields it emits tile the stream: no gaps, no overlaps.
 */
export class Dissector {
  readonly #maxFileSize: bigint | null;
  readonly #maxFiles: number | null;
  #offset = 0;
  #count: number | null = null;
  #file = 0;
  #filesDone = 0;
  #kind: FieldKind = 'count';
  #fieldOffset = 0;
  // Bytes of the fixed-size field being filled; payload bytes are never buffered.
  readonly #buf = new Uint8Array(NAME_LENGTH);
  #have = 0;
  #payloadRemaining = 0n;
  #declaredSize = 0n;
  #ended = false;

  constructor(options: DissectorOptions = {}) {
    this.#maxFileSize = options.maxFileSize ?? null;
    this.#maxFiles = options.maxFiles ?? null;
    const r = options.resume;
    if (r) {
      this.#offset = r.offset;
      this.#fieldOffset = r.offset;
      this.#count = r.count;
      this.#filesDone = r.filesDone;
      this.#file = r.filesDone;
      this.#startFile();
    }
  }

  /** Feeds the next slice of the stream; payload events are views into `chunk`, not copies. */
  push(chunk: Uint8Array): DissectEvent[] {
    return this.#consume(chunk, chunk.length);
  }

  /**
   * Advances over `n` bytes of payload or trailing bytes without looking at them, for readers
   * that jump over payloads by random access. Returns how many bytes it skipped: it stops at the
   * end of the current payload and skips nothing inside a count, name or size field.
   */
  skip(n: number): { skipped: number; events: DissectEvent[] } {
    if (this.#ended || (this.#kind !== 'payload' && this.#kind !== 'trailing')) return { skipped: 0, events: [] };
    let take = n;
    if (this.#kind === 'payload' && BigInt(take) > this.#payloadRemaining) take = Number(this.#payloadRemaining);
    const before = this.#offset;
    const events = this.#consume(null, take);
    return { skipped: this.#offset - before, events };
  }

  /** How the dissector stands now. */
  state(): DissectorState {
    const spec = FIELD_TABLE[this.#kind];
    const have = this.#kind === 'payload' || this.#kind === 'trailing' ? this.#offset - this.#fieldOffset : this.#have;
    let needed: bigint;
    if (this.#kind === 'payload') needed = this.#payloadRemaining;
    else if (this.#kind === 'trailing') needed = 0n;
    else needed = BigInt((spec.length ?? 0) - this.#have);
    const file = this.#kind === 'count' || this.#kind === 'trailing' ? undefined : this.#file;
    return {
      field: this.#ended ? null : fieldId(this.#kind, file),
      kind: this.#ended ? null : this.#kind,
      ...(file === undefined ? {} : { file }),
      fieldOffset: this.#fieldOffset,
      have,
      needed: this.#ended ? 0n : needed,
      offset: this.#offset,
      filesDone: this.#filesDone,
      count: this.#count,
    };
  }

  /** Ends the stream: closes a field cut short and reports what is missing. Idempotent. */
  end(): DissectEvent[] {
    if (this.#ended) return [];
    this.#ended = true;
    const events: DissectEvent[] = [];
    const at = this.#offset;
    if (this.#kind === 'trailing') {
      const length = at - this.#fieldOffset;
      if (length > 0) {
        const problem = rated({
          kind: 'trailing-bytes', field: 'trailing', offset: this.#fieldOffset, length, count: length,
        });
        events.push({
          type: 'field',
          field: { id: 'trailing', kind: 'trailing', offset: this.#fieldOffset, length, expected: BigInt(length), complete: true },
          problems: [problem],
        });
      }
      return events;
    }
    // A file boundary with files still owed: nothing was cut, files are missing.
    const atFileBoundary = this.#kind === 'name' && this.#have === 0;
    if (!atFileBoundary) {
      const length = at - this.#fieldOffset;
      const expected = this.#kind === 'payload' ? this.#declaredSize : BigInt(FIELD_TABLE[this.#kind].length ?? 0);
      const id = fieldId(this.#kind, this.#file);
      const problem = rated({
        kind: 'truncated', field: id, offset: this.#fieldOffset, length,
        needed: expected, available: length,
      });
      const field: Field = {
        id, kind: this.#kind, ...(this.#kind === 'count' ? {} : { file: this.#file }),
        offset: this.#fieldOffset, length, expected, complete: false,
      };
      events.push({ type: 'field', field, problems: [problem] });
    }
    if (this.#count !== null && this.#filesDone < this.#count) {
      events.push({
        type: 'problem',
        problem: rated({
          kind: 'fewer-files-than-count', field: 'count', offset: at, length: 0,
          declared: this.#count, received: this.#filesDone,
        }),
      });
    }
    return events;
  }

  // `chunk` null means: advance over `length` bytes not shown to us (skip).
  #consume(chunk: Uint8Array | null, length: number): DissectEvent[] {
    const events: DissectEvent[] = [];
    if (this.#ended) return events;
    let i = 0;
    while (i < length) {
      if (this.#kind === 'payload') {
        const take = BigInt(length - i) < this.#payloadRemaining ? length - i : Number(this.#payloadRemaining);
        if (chunk) events.push({ type: 'payload', file: this.#file, offset: this.#offset, data: chunk.subarray(i, i + take) });
        i += take;
        this.#offset += take;
        this.#payloadRemaining -= BigInt(take);
        if (this.#payloadRemaining === 0n) this.#completePayload(events);
        continue;
      }
      if (this.#kind === 'trailing') {
        this.#offset += length - i;
        i = length;
        continue;
      }
      if (!chunk) break;
      const want = FIELD_TABLE[this.#kind].length! - this.#have;
      const take = Math.min(want, length - i);
      this.#buf.set(chunk.subarray(i, i + take), this.#have);
      this.#have += take;
      this.#offset += take;
      i += take;
      if (take === want) this.#completeFixed(events);
    }
    return events;
  }

  #completeFixed(events: DissectEvent[]): void {
    const kind = this.#kind;
    const length = FIELD_TABLE[kind].length!;
    const bytes = this.#buf.subarray(0, length);
    const reader = new BoundedReader(bytes);
    const problems: Problem[] = [];
    const base = { offset: this.#fieldOffset, length, expected: BigInt(length), complete: true };
    let field: Field;
    if (kind === 'count') {
      const count = (reader.u32be(0) as { value: number }).value;
      const littleEndian = (reader.u32le(0) as { value: number }).value;
      field = { id: 'count', kind, ...base, value: { kind: 'count', count, littleEndian } };
      this.#count = count;
      if (this.#maxFiles !== null && count > this.#maxFiles) {
        problems.push(rated({ kind: 'count-over-limit', field: 'count', offset: 0, length, count, limit: this.#maxFiles }));
      }
    } else if (kind === 'name') {
      const id = fieldId('name', this.#file);
      const checked = checkName(bytes, id, this.#fieldOffset);
      field = { id, kind, file: this.#file, ...base, value: { kind: 'name', name: checked.name } };
      problems.push(...checked.problems);
    } else {
      const size = (reader.u64be(0) as { value: bigint }).value;
      const littleEndian = (reader.u64le(0) as { value: bigint }).value;
      const id = fieldId('size', this.#file);
      field = { id, kind, file: this.#file, ...base, value: { kind: 'size', size, littleEndian } };
      if (this.#maxFileSize !== null && size > this.#maxFileSize) problems.push(sizeOverLimit(size, this.#maxFileSize, id, this.#fieldOffset));
      this.#declaredSize = size;
      this.#payloadRemaining = size;
    }
    events.push({ type: 'field', field, problems });
    this.#have = 0;
    this.#fieldOffset = this.#offset;
    if (kind === 'count') {
      this.#startFile();
    } else if (kind === 'name') {
      this.#kind = 'size';
    } else {
      this.#kind = 'payload';
      if (this.#payloadRemaining === 0n) this.#completePayload(events);
    }
  }

  #completePayload(events: DissectEvent[]): void {
    const id = fieldId('payload', this.#file);
    const length = this.#offset - this.#fieldOffset;
    events.push({
      type: 'field',
      field: { id, kind: 'payload', file: this.#file, offset: this.#fieldOffset, length, expected: this.#declaredSize, complete: true },
      problems: [],
    });
    this.#filesDone++;
    this.#fieldOffset = this.#offset;
    this.#startFile();
  }

  #startFile(): void {
    if (this.#count !== null && this.#file < this.#count) {
      this.#file++;
      this.#kind = 'name';
    } else {
      this.#kind = 'trailing';
    }
  }
}

/** Decodes a complete 128-byte name field `id` at stream offset `offset`, with its problems. */
export function checkName(bytes: Uint8Array, id: string, offset: number): { name: DecodedName; problems: Problem[] } {
  const name = decodeName(bytes);
  const problems: Problem[] = [];
  const at = { field: id, offset, length: bytes.length };
  if (!name.validUtf8) problems.push(rated({ kind: 'name-invalid-utf8', ...at }));
  const reasons = unsafeNameReasons(name.text);
  if (reasons.length > 0) problems.push(rated({ kind: 'name-unsafe', ...at, name: name.text, reasons }));
  if (bytes[bytes.length - 1] !== NAME_PAD_BYTE) problems.push(rated({ kind: 'name-unpadded', ...at }));
  return { name, problems };
}

/** The problem of size field `id` at `offset` declaring `size`, above `limit`. */
export function sizeOverLimit(size: bigint, limit: bigint, id: string, offset: number): Problem {
  return rated({ kind: 'size-over-limit', field: id, offset, length: SIZE_LENGTH, size, limit });
}

/** Dissects a whole stream held in memory. */
export function dissect(bytes: Uint8Array, options: DissectorOptions = {}): DissectEvent[] {
  const d = new Dissector(options);
  return [...d.push(bytes), ...d.end()];
}

/** The fields and problems of a list of events, payload slices left out. */
export function collect(events: Iterable<DissectEvent>): { fields: Field[]; problems: Problem[] } {
  const fields: Field[] = [];
  const problems: Problem[] = [];
  for (const e of events) {
    if (e.type === 'field') {
      fields.push(e.field);
      problems.push(...e.problems);
    } else if (e.type === 'problem') {
      problems.push(e.problem);
    }
  }
  return { fields, problems };
}

/** What the receiver expects after a complete field: kind, file and length; `null` when done. */
export function nextField(field: Field, count: number | null): { kind: 'name' | 'size' | 'payload'; file: number; expected: bigint } | null {
  const file = field.file ?? 0;
  const name = (n: number) => (count !== null && n <= count ? { kind: 'name' as const, file: n, expected: BigInt(NAME_LENGTH) } : null);
  switch (field.kind) {
    case 'count':
      return name(1);
    case 'name':
      return { kind: 'size', file, expected: BigInt(SIZE_LENGTH) };
    case 'size':
      return field.value?.kind === 'size' ? { kind: 'payload', file, expected: field.value.size } : null;
    case 'payload':
      return name(file + 1);
    default:
      return null;
  }
}

/** Index of the field holding the byte at `offset` (zero-length fields hold none); -1 if none. */
export function fieldIndexAt(fields: readonly Field[], offset: number): number {
  let lo = 0;
  let hi = fields.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const f = fields[mid]!;
    if (f.offset + f.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  // Skip zero-length fields that sit at this offset.
  while (lo < fields.length && fields[lo]!.length === 0 && fields[lo]!.offset <= offset) lo++;
  const f = fields[lo];
  return f && f.offset <= offset && offset < f.offset + f.length ? lo : -1;
}
