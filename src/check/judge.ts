import { type DissectEvent, type Field, type Problem, escapeControls } from '../protocol/index.js';
import type { Finding } from './types.js';

/** A file the client was to send: its name as text and its bytes. */
export interface ExpectedFile {
  readonly name: string;
  readonly data: Uint8Array;
}

/** What a stream was judged: the first thing wrong, at a field and stream offset, or nothing. */
export interface Verdict {
  readonly finding: Finding;
  readonly field?: string;
  readonly offset?: number;
}

/** Where the judge finds the files a stream names. */
export type FileSource =
  /** The files of the folder the grader prepared: every one that fits must come, each once. */
  | { readonly kind: 'folder'; readonly files: readonly ExpectedFile[] }
  /** The client chose its own folder: a name is looked up, and nothing is owed. */
  | { readonly kind: 'lookup'; find(name: string): Promise<ExpectedFile | null> };

const NAME_FIELD = 128;
const SPACE = 0x20;
const encoder = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

const hexByte = (b: number | undefined): string => (b === undefined ? '(none)' : `0x${b.toString(16).padStart(2, '0')}`);

/** Code points in `data` read as UTF-8 (what Python's `len()` of the decoded text says), or null when it is not UTF-8. */
function characterCount(data: Uint8Array): number | null {
  try {
    return [...strict.decode(data)].length;
  } catch {
    return null;
  }
}

/** Whether a file of this name can be sent at all: its UTF-8 bytes fit the 128-byte name field. */
export function fitsNameField(name: string): boolean {
  return encoder.encode(name).length <= NAME_FIELD;
}

/**
 * Judges a client's stream against the files it was to send, field by field as the dissector
 * walks it, and stops at the first thing wrong: a field whose value is not the file's (a size in
 * little-endian, or counted in characters; a name not padded, or over 128 bytes and sent whole),
 * a payload byte that differs, or a problem the dissector reports. Each verdict names the field
 * and the stream offset. Feed it the dissector's events with {@link StreamJudge.take}; it needs
 * `read(offset, length)` to look at a name field's raw bytes. Never throws on bad bytes.
 */
export class StreamJudge {
  readonly #source: FileSource;
  readonly #read: (offset: number, length: number) => Promise<Uint8Array>;
  /** Files owed (folder mode), by name; removed once sent. */
  readonly #owed = new Map<string, ExpectedFile>();
  readonly #sent = new Set<string>();
  #current: ExpectedFile | null = null;
  #payloadAt = 0;
  #currentFile = 0;
  #verdict: Verdict | null = null;

  constructor(source: FileSource, read: (offset: number, length: number) => Promise<Uint8Array>) {
    this.#source = source;
    this.#read = read;
    if (source.kind === 'folder') for (const f of source.files) if (fitsNameField(f.name)) this.#owed.set(f.name, f);
  }

  /** The first thing found wrong so far, or null. */
  get verdict(): Verdict | null {
    return this.#verdict;
  }

  /** Takes the dissector's next events; ignores them once a verdict is reached. */
  async take(events: readonly DissectEvent[]): Promise<void> {
    for (const e of events) {
      if (this.#verdict) return;
      if (e.type === 'payload') this.#payload(e.offset, e.data);
      else if (e.type === 'problem') this.#problem(e.problem);
      else {
        await this.#field(e.field);
        if (!this.#verdict && e.problems.length > 0) this.#problem(e.problems[0]!);
      }
    }
  }

  /** Call after the stream's last events: files still owed are missing. Returns the verdict. */
  finish(streamLength: number): Verdict | null {
    if (this.#verdict) return this.#verdict;
    if (streamLength === 0) return (this.#verdict = { finding: { kind: 'client-sent-nothing' }, field: 'count', offset: 0 });
    const missing = [...this.#owed.keys()].find((n) => !this.#sent.has(n));
    if (missing !== undefined) this.#verdict = { finding: { kind: 'file-missing', values: { name: escapeControls(missing) } }, offset: streamLength };
    return this.#verdict;
  }

  #fail(kind: string, field: Field | string, offset: number, values: Record<string, string | number> = {}): void {
    this.#verdict = { finding: { kind, values: { ...values, offset } }, field: typeof field === 'string' ? field : field.id, offset };
  }

  async #field(field: Field): Promise<void> {
    // A name field the stream ended inside may still be a name sent with no padding.
    if (field.kind === 'name' && !field.complete) return this.#unpadded(field, field.file ?? 0, await this.#read(field.offset, field.length));
    if (!field.complete || field.value === undefined) return;
    const v = field.value;
    if (v.kind === 'count') {
      if (this.#source.kind !== 'folder') return;
      const expected = this.#owed.size;
      // Counting a file it then leaves out is a count mismatch; counting one it sends whole is the derail, found at its name.
      if (v.count === expected || (v.count === this.#source.files.length && this.#source.files.length > expected)) return;
      if (v.littleEndian === expected) this.#fail('count-little-endian', field, field.offset, { expected, sent: v.count });
      else this.#fail('count-mismatch', field, field.offset, { expected, sent: v.count });
      return;
    }
    if (v.kind === 'name') {
      const file = field.file ?? 0;
      const text = v.name.validUtf8 ? v.name.text : null;
      const known = text === null ? null : this.#source.kind === 'folder' ? (this.#owed.get(text) ?? null) : await this.#source.find(text);
      if (known && this.#sent.has(known.name)) return this.#fail('name-repeated', field, field.offset, { file, name: escapeControls(known.name) });
      if (known) {
        this.#current = known;
        this.#currentFile = file;
        this.#payloadAt = 0;
        this.#sent.add(known.name);
        return;
      }
      await this.#unknownName(field, file, v.name.text);
      return;
    }
    // A size field: only judged against a file the name field matched.
    const cur = this.#current;
    if (!cur) return;
    const expected = BigInt(cur.data.length);
    if (v.size === expected) return;
    const file = field.file ?? 0;
    const values = { file, name: escapeControls(cur.name), expected: expected.toString(), sent: v.size.toString() };
    if (v.littleEndian === expected) this.#fail('size-little-endian', field, field.offset, values);
    else if (characterCount(cur.data) !== null && BigInt(characterCount(cur.data)!) === v.size) this.#fail('size-in-characters', field, field.offset, values);
    else this.#fail('size-mismatch', field, field.offset, values);
  }

  /** A name field that names no file to send: a derail, a missing pad, or a name of its own. */
  async #unknownName(field: Field, file: number, text: string): Promise<void> {
    const raw = await this.#read(field.offset, NAME_FIELD);
    const candidates = this.#source.kind === 'folder' ? this.#source.files : [];
    for (const f of candidates) {
      const name = encoder.encode(f.name);
      if (name.length > NAME_FIELD && Buffer.compare(name.subarray(0, NAME_FIELD), raw) === 0) {
        return this.#fail('name-over-128', field, field.offset, { file, name: escapeControls(f.name), bytes: name.length });
      }
    }
    this.#unpadded(field, file, raw);
    if (this.#verdict) return;
    if (this.#source.kind === 'lookup' && !/[\uFFFD]/.test(text) && text.length > 0) {
      return this.#fail('file-not-found', field, field.offset, { file, name: escapeControls(text) });
    }
    this.#fail('name-unknown', field, field.offset, { file, sent: escapeControls(text) });
  }

  /** Fails when `raw`, the bytes of a name field, start with a file's name and go on with a byte that is not padding. */
  #unpadded(field: Field, file: number, raw: Uint8Array): void {
    // Longest first: `arquivo_10.txt` sent unpadded also starts with `arquivo_1.txt`.
    const candidates = this.#source.kind === 'folder' ? [...this.#source.files].sort((a, b) => b.name.length - a.name.length) : [];
    for (const f of candidates) {
      const name = encoder.encode(f.name);
      if (name.length < raw.length && Buffer.compare(raw.subarray(0, name.length), name) === 0 && raw[name.length] !== SPACE) {
        return this.#fail('name-not-padded', field, field.offset, { file, name: escapeControls(f.name), bytes: name.length, found: hexByte(raw[name.length]) });
      }
    }
  }

  #payload(offset: number, data: Uint8Array): void {
    const cur = this.#current;
    if (!cur) return;
    const want = cur.data.subarray(this.#payloadAt, this.#payloadAt + data.length);
    if (want.length === data.length && Buffer.compare(want, data) === 0) {
      this.#payloadAt += data.length;
      return;
    }
    let i = 0;
    while (i < data.length && i < want.length && data[i] === want[i]) i++;
    const at = this.#payloadAt + i;
    this.#fail('payload-differs', `file[${this.#currentFile}].payload`, offset + i, { file: this.#currentFile, name: escapeControls(cur.name), at, expected: hexByte(cur.data[at]), sent: hexByte(data[i]) });
  }

  #problem(p: Problem): void {
    const values: Record<string, string | number> = { field: p.field };
    const file = /^file\[(\d+)\]/.exec(p.field);
    if (file) values.file = Number(file[1]);
    switch (p.kind) {
      case 'truncated':
        Object.assign(values, { needed: p.needed.toString(), available: p.available, end: p.offset + p.length });
        break;
      case 'fewer-files-than-count':
        Object.assign(values, { declared: p.declared, received: p.received });
        break;
      case 'trailing-bytes':
        values.count = p.count;
        break;
      case 'size-over-limit':
        values.size = p.size.toString();
        break;
      case 'count-over-limit':
        values.count = p.count;
        break;
      default:
        break;
    }
    this.#fail(`stream-${p.kind}`, p.field, p.offset, values);
  }
}
