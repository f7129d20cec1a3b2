import {
  COUNT_LENGTH,
  type DissectEvent,
  Dissector,
  type DissectorOptions,
  type Field,
  NAME_LENGTH,
  type Problem,
  SIZE_LENGTH,
  checkName,
  fieldId,
  sizeOverLimit,
} from '../protocol/index.js';

/** Problems a {@link Dissection} keeps in memory, in stream order; the rest are only counted. */
export const PROBLEMS_KEPT = 100;
/**
 * Where a {@link Dissection} keeps checkpoints: every `stride` files at first, `checkpoints` of
 * them at most (even); when full, every other one is dropped and the stride doubles.
 */
export interface CheckpointLayout {
  readonly stride: number;
  readonly checkpoints: number;
}

/** 64 files apart, 16,384 at most: 128 KiB a capture. */
const DEFAULT_LAYOUT: CheckpointLayout = { stride: 64, checkpoints: 16_384 };
/** Bytes read at a time: a window reads a few headers; a scan grows its reads while headers are dense. */
const WINDOW_BLOCK = 16 * 1024;
const SCAN_BLOCK_MAX = 1024 * 1024;
const HEADER = NAME_LENGTH + SIZE_LENGTH;
/** A size whose high 32 bits reach this is above 2^53, past the end of any stream. */
const UNSAFE_HIGH = 0x20_0000;

/** One field of a capture's stream, its position among the field steps (from 0) and its problems. */
export interface FieldEntry {
  readonly index: number;
  readonly field: Field;
  readonly problems: readonly Problem[];
}

/** Reads up to `length` stream bytes at `offset`. */
export type ReadStream = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * The dissection of a whole capture's stream in memory bounded by a constant, whatever its bytes
 * say: counts and the first {@link PROBLEMS_KEPT} problems from one scan, and the file
 * boundaries of every `stride`-th file (at most 16,384 of them), from which any field or byte
 * range is dissected again on demand, a bounded number of headers away.
 */
export class Dissection {
  /** Fields in the stream: the number of field steps. */
  fieldCount = 0;
  /** Files whose payload is complete. */
  files = 0;
  /** Files with a name field, whole or cut. */
  named = 0;
  /** Problems in all. */
  problemCount = 0;
  /** The first {@link PROBLEMS_KEPT} problems, in stream order. */
  readonly problems: Problem[] = [];
  /** The count field's value, once read. */
  count: number | null = null;
  /** The last field of the stream. */
  lastField: Field | null = null;
  readonly #endProblems: Problem[] = [];
  readonly #read: ReadStream;
  readonly #length: number;
  readonly #options: DissectorOptions;
  // offsets[j]: where file j * stride + 1 starts (j > 0); offsets[0] is the stream's start.
  readonly #offsets: Float64Array;
  #checkpoints = 1;
  #stride: number;

  private constructor(read: ReadStream, length: number, options: DissectorOptions, layout: CheckpointLayout) {
    this.#read = read;
    this.#length = length;
    this.#options = options;
    this.#offsets = new Float64Array(layout.checkpoints);
    this.#stride = layout.stride;
  }

  /**
   * Scans a stream of `length` bytes once: the count, every name and size header (payloads are
   * skipped), then what ends it. Repeated names are checked once, so a stream of millions of
   * identical headers costs its reads. Throws only what `read` throws.
   */
  static async scan(read: ReadStream, length: number, options: DissectorOptions = {}, layout: CheckpointLayout = DEFAULT_LAYOUT): Promise<Dissection> {
    if (!Number.isSafeInteger(layout.stride) || layout.stride < 1 || !Number.isSafeInteger(layout.checkpoints) || layout.checkpoints < 2 || layout.checkpoints % 2 !== 0) {
      throw new RangeError('a checkpoint layout needs a stride from 1 and an even number of checkpoints from 2');
    }
    const x = new Dissection(read, length, options, layout);
    await x.#scan();
    return x;
  }

  /** The field steps `from` to `from + limit - 1` (0-based), read again from the nearest checkpoint. */
  async fields(from: number, limit: number): Promise<FieldEntry[]> {
    const out: FieldEntry[] = [];
    if (!Number.isSafeInteger(from) || from < 0 || from >= this.fieldCount || limit <= 0) return out;
    const j = from === 0 ? 0 : Math.min(Math.floor(Math.floor((from - 1) / 3) / this.#stride), this.#checkpoints - 1);
    await this.#walk(j, (e) => {
      if (e.index >= from) out.push(e);
      return out.length < limit;
    });
    return out;
  }

  /** Field step `index` (0-based), or null. */
  async field(index: number): Promise<FieldEntry | null> {
    return (await this.fields(index, 1))[0] ?? null;
  }

  /** The fields with bytes in `offset` to `end - 1`, the first `limit` of them, in stream order. */
  async fieldsIn(offset: number, end: number, limit = Infinity): Promise<FieldEntry[]> {
    const out: FieldEntry[] = [];
    if (end <= offset || limit <= 0) return out;
    // The last checkpoint at or before `offset`.
    let lo = 0;
    let hi = this.#checkpoints - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    await this.#walk(lo, (e) => {
      const f = e.field;
      if (f.offset >= end) return false;
      if (f.length > 0 && f.offset + f.length > offset) out.push(e);
      return out.length < limit;
    });
    return out;
  }

  /** Problems found only where the stream ended (files the count promised), of field `id`. */
  endProblemsOf(id: string): Problem[] {
    return this.#endProblems.filter((p) => p.field === id);
  }

  /** Problems found only where the stream ended. */
  get endProblems(): readonly Problem[] {
    return this.#endProblems;
  }

  #note(events: readonly DissectEvent[]): void {
    for (const e of events) {
      if (e.type === 'field') {
        this.fieldCount++;
        this.lastField = e.field;
        if (e.field.kind === 'name') this.named++;
        if (e.field.kind === 'payload' && e.field.complete) this.files++;
        if (e.field.kind === 'count' && e.field.value?.kind === 'count') this.count = e.field.value.count;
        for (const p of e.problems) this.#problem(p);
      } else if (e.type === 'problem') {
        this.#endProblems.push(e.problem);
        this.#problem(e.problem);
      }
    }
  }

  #problem(p: Problem): void {
    this.problemCount++;
    if (this.problems.length < PROBLEMS_KEPT) this.problems.push(p);
  }

  async #scan(): Promise<void> {
    const head = new Dissector(this.#options);
    this.#note(head.push(await this.#read(0, Math.min(COUNT_LENGTH, this.#length))));
    const count = this.count;
    if (count === null) {
      this.#note(head.end());
      return;
    }
    const limit = this.#options.maxFileSize;
    const sizeLimit = limit === undefined ? Infinity : limit > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(limit);
    let at = COUNT_LENGTH;
    let files = 0;
    let block: Buffer = Buffer.alloc(0);
    let view = new DataView(block.buffer);
    let blockAt = 0;
    let blockSize = WINDOW_BLOCK;
    let served = 0;
    let lastName: Uint8Array | null = null;
    let lastNameProblems = 0;
    let last: { at: number; size: number } | null = null;
    // Whole files, header and payload, read the fast way: the Dissector finishes what is left.
    while (files < count && at + HEADER <= this.#length) {
      if (at < blockAt || at + HEADER > blockAt + block.length) {
        // Headers close together: read more at a time; far apart (large payloads): less.
        blockSize = served > 1 ? Math.min(SCAN_BLOCK_MAX, blockSize * 2) : Math.max(WINDOW_BLOCK, blockSize / 4);
        served = 0;
        blockAt = at;
        const bytes = await this.#read(at, Math.min(blockSize, this.#length - at));
        block = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        view = new DataView(block.buffer, block.byteOffset, block.byteLength);
      }
      const p = at - blockAt;
      served++;
      const high = view.getUint32(p + NAME_LENGTH);
      if (high >= UNSAFE_HIGH) break;
      const size = high * 2 ** 32 + view.getUint32(p + NAME_LENGTH + 4);
      if (at + HEADER + size > this.#length) break;
      if (files > 0 && files % this.#stride === 0) this.#checkpoint(at, files);
      const file = files + 1;
      const same = lastName !== null && block.compare(lastName, 0, NAME_LENGTH, p, p + NAME_LENGTH) === 0;
      if (!same || (lastNameProblems > 0 && this.problems.length < PROBLEMS_KEPT)) {
        const { problems } = checkName(block.subarray(p, p + NAME_LENGTH), fieldId('name', file), at);
        for (const q of problems) this.#problem(q);
        lastName = block.slice(p, p + NAME_LENGTH);
        lastNameProblems = problems.length;
      } else {
        this.problemCount += lastNameProblems;
      }
      if (size > sizeLimit) this.#problem(sizeOverLimit(BigInt(size), limit!, fieldId('size', file), at + NAME_LENGTH));
      last = { at, size };
      files++;
      at += HEADER + size;
    }
    this.fieldCount += 3 * files;
    this.named += files;
    this.files += files;
    if (last) {
      const file = files;
      this.lastField = { id: fieldId('payload', file), kind: 'payload', file, offset: last.at + HEADER, length: last.size, expected: BigInt(last.size), complete: true };
    }
    const tail = new Dissector({ ...this.#options, resume: { offset: at, count, filesDone: files } });
    await this.#feed(tail, WINDOW_BLOCK, (events) => {
      this.#note(events);
      return true;
    });
  }

  #checkpoint(at: number, files: number): void {
    const max = this.#offsets.length;
    if (this.#checkpoints === max) {
      for (let i = 1; i < max / 2; i++) this.#offsets[i] = this.#offsets[2 * i]!;
      this.#checkpoints = max / 2;
      this.#stride *= 2;
      if (files % this.#stride !== 0) return;
    }
    this.#offsets[this.#checkpoints++] = at;
  }

  /** Dissects from checkpoint `j` on, handing each field to `visit` until it returns false. */
  async #walk(j: number, visit: (e: FieldEntry) => boolean): Promise<void> {
    const filesDone = j * this.#stride;
    const d = j === 0 ? new Dissector(this.#options) : new Dissector({ ...this.#options, resume: { offset: this.#offsets[j]!, count: this.count ?? 0, filesDone } });
    let index = j === 0 ? 0 : 1 + 3 * filesDone;
    await this.#feed(d, WINDOW_BLOCK, (events) => {
      for (const e of events) {
        if (e.type === 'field' && !visit({ index: index++, field: e.field, problems: e.problems })) return false;
      }
      return true;
    });
  }

  /** Feeds `d` the stream field by field from where it stands, skipping payloads, then ends it. */
  async #feed(d: Dissector, blockSize: number, take: (events: DissectEvent[]) => boolean): Promise<void> {
    let block: Uint8Array = new Uint8Array(0);
    let blockAt = 0;
    for (;;) {
      const st = d.state();
      if (st.offset >= this.#length) break;
      if (st.kind === 'payload' || st.kind === 'trailing') {
        if (!take(d.skip(this.#length - st.offset).events)) return;
        continue;
      }
      const want = Math.min(Number(st.needed), this.#length - st.offset);
      if (st.offset < blockAt || st.offset + want > blockAt + block.length) {
        blockAt = st.offset;
        block = await this.#read(blockAt, Math.max(blockSize, want));
      }
      if (!take(d.push(block.subarray(st.offset - blockAt, st.offset - blockAt + want)))) return;
    }
    take(d.end());
  }
}
