import { type TcpRowView, segmentDetail } from './wire.js';
import { CALL_FLAGS, type CaptureEvent, type CaptureReader, type Dissection, type EventCall, type FieldEntry, LANES, type Lane, SEGMENT_FLAGS, isData } from '../capture/index.js';
import {
  type Field,
  type Lang,
  type Problem,
  countCharacters,
  describeProblem,
  describeReason,
  explainField,
  fieldId,
  fieldIndexAt,
  fieldTitle,
  formatInteger,
  hexBytes,
  LOCALES,
  nextField,
  parseFieldId,
  problemTitle,
  protocolText,
} from '../protocol/index.js';
import { BYTES_PER_ROW, type HexCell, hexRows } from './hexdump.js';
import { t, tn } from './i18n.js';

/** How a capture is stepped through: by protocol field or by socket operation. */
export type StepBy = 'field' | 'op';

/** A focus range up to this many bytes is shown whole. */
export const SHOW_WHOLE = 1024;
/** Bytes shown at the head and at the tail of a longer range. */
export const HEAD_TAIL = 256;
/** Bytes per page when paging through the middle of a long range. */
export const PAGE_SIZE = 4096;
/** How much of a long focus range one page shows, in bytes. */
export interface DumpLimits {
  /** A range up to this long is shown whole. */
  readonly showWhole: number;
  /** Bytes shown at the head and at the tail of a longer range. */
  readonly headTail: number;
  /** Bytes per page when paging through its middle. */
  readonly pageSize: number;
}

/** A laptop's screen: the sizes above. */
export const SCREEN_LIMITS: DumpLimits = { showWhole: SHOW_WHOLE, headTail: HEAD_TAIL, pageSize: PAGE_SIZE };

/**
 * A 1280x720 projector in presenter mode: about nine rows of 16 bytes fit above the fold beside
 * the explanation (a 128-byte name spans nine rows when it does not start a row).
 */
export const PRESENTER_LIMITS: DumpLimits = { showWhole: 144, headTail: 48, pageSize: 112 };

/** Characters of a text payload its card shows. */
export const TEXT_START_CHARACTERS = 80;
/** Bytes read for them: 4 a character at most in UTF-8. */
const TEXT_START_BYTES = 4 * TEXT_START_CHARACTERS;
/** Payloads up to this size are read to count their characters. */
const TEXT_SCAN_LIMIT = 64 * 1024;
/** Fields listed on an operation step at most. */
export const FIELDS_LISTED = 64;
/** Events listed as carrying a field. */
const CARRIERS_LISTED = 24;

/** A problem, ready to show. */
export interface ProblemView {
  readonly kind: Problem['kind'];
  /** The problem's name in words. */
  readonly title: string;
  readonly severity: Problem['severity'];
  readonly field: string;
  readonly offset: number;
  readonly length: number;
  readonly message: string;
}

/** A field, ready to show. */
export interface FieldView {
  readonly id: string;
  readonly kind: Field['kind'];
  readonly file?: number;
  readonly title: string;
  readonly offset: number;
  readonly length: number;
  /** Stream offset of the field's last byte (its offset when it has none). */
  readonly lastOffset: number;
  /** Length the format announced (decimal string: sizes are 64-bit). */
  readonly expected: string;
  readonly complete: boolean;
  /** The decoded value in words ("10", "“arquivo_1.txt”", "33"). */
  readonly value: string | null;
  /** The bytes in hex, for fields of up to 16 bytes. */
  readonly hex: string | null;
  /** What a little-endian reading would have given, for count and size. */
  readonly littleEndian: string | null;
  /** Padding spaces after a name. */
  readonly padding: number | null;
  /** The name the reference server would use, when it differs from the name on the wire. */
  readonly referenceName: string | null;
  readonly explanation: string;
  readonly problems: readonly ProblemView[];
  /**
   * For a payload that starts as UTF-8 text: its first {@link TEXT_START_CHARACTERS} characters,
   * line breaks shown as ↵, with `more` when the payload goes on; null for binary data.
   */
  readonly textStart: { readonly text: string; readonly more: boolean } | null;
  /** On an operation step, the part of the field this write or read moved, when not all of it. */
  readonly portion?: { readonly from: number; readonly to: number; readonly length: number };
}

/** One byte of a step's dump, with what it belongs to. */
export interface ByteView extends HexCell {
  /** Id and kind of the field holding the byte. */
  readonly field: string | null;
  readonly kind: Field['kind'] | null;
  /** Offset of the byte within its field (within its file, for payload bytes). */
  readonly fieldOffset: number;
  /** The field step (`?by=field`, from 1) of the field holding the byte; null outside any field. */
  readonly fieldStep: number | null;
  /**
   * What the text column shows where UTF-8 gives a character hexy's ASCII column cannot: the
   * character on the first byte of a two-byte sequence (é), '' on the second; null elsewhere.
   */
  readonly glyph: string | null;
  /** A space padding a name. */
  readonly padding: boolean;
  /** Part of what this step is about (the others are context on the same rows). */
  readonly inFocus: boolean;
  /** Covered by a problem. */
  readonly problem: boolean;
}

/** Consecutive bytes of one row that belong to the same field, for compact markup. */
export interface ByteRun {
  readonly field: string | null;
  /** The field's title in words ("Contents of file 1"). */
  readonly title: string | null;
  /** Where the run's bytes are, in the stream and in their field, in words (a tooltip). */
  readonly label: string;
  readonly kind: Field['kind'] | null;
  readonly inFocus: boolean;
  /** Stream offset of the run's first byte. */
  readonly offset: number;
  /** Offset of the run's first byte within its field. */
  readonly fieldOffset: number;
  /** The field step of the run's field, which a click on its bytes opens; null outside any field. */
  readonly step: number | null;
  readonly cells: readonly ByteView[];
}

/** One row of a step's dump. */
export interface DumpRow {
  readonly address: string;
  /** The address of the row's ninth byte (a phone shows 8 bytes a line), null when it has no ninth. */
  readonly halfAddress: string | null;
  readonly offset: number;
  readonly cells: readonly ByteView[];
  readonly runs: readonly ByteRun[];
  /** Empty columns after the last byte of a short row. */
  readonly pad: number;
}

/** Rows of a dump, possibly followed by a gap of bytes not shown. */
export interface DumpBlock {
  readonly rows: readonly DumpRow[];
  /** Bytes left out after this block (the middle of a long field). */
  readonly gapAfter: number;
}

/** A socket event or a segment, ready to show. */
export interface EventView {
  readonly side: Lane;
  readonly type: CaptureEvent['type'];
  readonly offset: number;
  readonly length: number;
  readonly timeUs: number;
  /** Milliseconds since the capture started, formatted. */
  readonly time: string;
  /** 1-based step number in `?by=op`; null for a segment where the steps are the sides' operations. */
  readonly step: number | null;
  readonly description: string;
  /** For a segment: what was odd about it and its TCP flags, in words (retransmission, FIN…). */
  readonly flags: readonly string[];
  /** The call that made the event, where the capture recorded calls (version 4 on); else null. */
  readonly call: CallView | null;
}

/** The call a program made for a write or read (or connect, close…), ready to show. */
export interface CallView {
  /** The program that made it (`client.py`, `wirestep send`), where the capture says. */
  readonly program: string | null;
  /** The call as the program wrote it: `send()`, `recv(128)`, `socket.write()`. */
  readonly call: string;
  /** The program and the call: `client.py: recv(128)`. */
  readonly label: string;
  /** What it moved, in words: `1,024 of 1,024 bytes`, `128 bytes`; null for calls that move nothing. */
  readonly result: string | null;
  /** The label and the result: `client.py: send() → 1,024 of 1,024 bytes`. */
  readonly text: string;
  /** A send that moved less than it was given. */
  readonly partial: boolean;
  /** A read that returned less than it asked for. */
  readonly short: boolean;
  /** Sentences about the call: a partial send or short read in words, or that Node may join wirestep's writes. */
  readonly notes: readonly string[];
  /** The last of `notes` says that Node may join wirestep's writes: general, so presenter mode leaves it out. */
  readonly joined: boolean;
}

const SEND_CALLS: ReadonlySet<string> = new Set(['send', 'sendall', 'sendto', 'sendfile']);
const RECV_CALLS: ReadonlySet<string> = new Set(['recv', 'recvfrom']);

/**
 * The call that made event `e`, in words, with the program named in the capture's `programs`;
 * null when the event has no call record (older captures, wirestep's own connect or end).
 */
export function callView(e: CaptureEvent, program: string | null, lang: Lang): CallView | null {
  const c: EventCall | undefined = e.call;
  if (!c) return null;
  const n = (v: number): string => formatInteger(v, lang);
  const asked = c.asked;
  const call = c.name === 'socket.read'
    ? t(lang, 'call.socketRead', { asked: n(asked ?? 0) })
    : c.name === 'socket.write'
      ? 'socket.write()'
      : RECV_CALLS.has(c.name) && asked !== null
        ? `${c.name}(${asked})`
        : c.name === 'recv_into' && asked !== null
          ? `recv_into(buffer, ${asked})`
          : `${c.name}()`;
  const label = program === null ? call : `${program}: ${call}`;
  const data = e.type === 'write' || e.type === 'read';
  const partial = data && (c.flags & CALL_FLAGS.partial) !== 0;
  const short = data && (c.flags & CALL_FLAGS.short) !== 0;
  let result: string | null = null;
  if (data) {
    // A send answers "how much of what I gave went?", so it always says of how much; a read only when short of what it asked.
    const of = SEND_CALLS.has(c.name) || ((RECV_CALLS.has(c.name) || c.name === 'recv_into') && asked !== e.length);
    result = of && asked !== null
      ? t(lang, 'call.resultOf', { n: n(e.length), asked: n(asked) })
      : tn(lang, 'bytes', e.length, { n: n(e.length) });
  }
  const notes: string[] = [];
  const rest = asked !== null ? asked - e.length : 0;
  if (partial) notes.push(t(lang, 'call.partial', { n: n(e.length), asked: n(asked ?? 0), rest: n(rest), program: program ?? t(lang, 'call.theProgram') }));
  if (short) notes.push(t(lang, 'call.short', { n: n(e.length), asked: n(asked ?? 0), call }));
  if (c.name === 'socket.write') notes.push(t(lang, 'call.joined'));
  return { program, call, label, result, text: result === null ? label : `${label} → ${result}`, partial, short, notes, joined: c.name === 'socket.write' };
}

/** Where the receiver stands after a read. */
export interface ReceiverState {
  readonly field: string | null;
  readonly title: string;
  /** Bytes of that field it has. */
  readonly have: number;
  /** Bytes it still needs for that field (decimal string). */
  readonly needed: string;
  readonly description: string;
}

/** Everything a step page (or `wirestep dump`) shows. */
export interface StepView {
  readonly captureId: string;
  readonly by: StepBy;
  /** 1-based step number. */
  readonly n: number;
  readonly total: number;
  /** The op steps are segments (an imported packet capture), not socket operations. */
  readonly segments: boolean;
  readonly title: string;
  /** The bytes the step is about. */
  readonly focus: { readonly offset: number; readonly length: number };
  readonly blocks: readonly DumpBlock[];
  /** Paging through the middle of a long focus range. */
  readonly paging: { readonly page: number; readonly pages: number } | null;
  /** The fields whose bytes are in focus, the first {@link FIELDS_LISTED} of them. */
  readonly fields: readonly FieldView[];
  /** More fields than those listed have bytes in focus (a large read of many small files). */
  readonly fieldsMore: boolean;
  /** For op steps: the event. */
  readonly event: EventView | null;
  /** For field steps: the writes and reads that carried the field. */
  /**
   * The step the other way of stepping lands on: for a field, the first write or read that
   * carried it (`?by=op`); for a write or read, the first field it carried. 1 when there is none.
   */
  readonly switchStep: number;
  readonly carriers: readonly { readonly side: Lane; readonly events: readonly EventView[]; readonly total: number; readonly moreCount: number }[];
  /** For receiver reads: its state after the read. */
  readonly stateAfter: ReceiverState | null;
  /** For a segment of a capture with wire detail: its TCP header in numbers, and the wire table page that lists it. */
  readonly tcp: { readonly row: TcpRowView; readonly page: number } | null;
  /** For a segment past a hole of its packet capture: why its last bytes are not shown. */
  readonly beyondStream: string | null;
  /** Where the step's bytes touch a payload file that is not as recorded: why they show as zeros. */
  readonly damaged: readonly string[];
  /** Problems of this step not already shown on one of its fields. */
  readonly problems: readonly ProblemView[];
}

/** Thrown for a step that does not exist. */
export class StepRangeError extends RangeError {
  override readonly name = 'StepRangeError';
}

/** Number of steps of a capture. */
export function stepCount(reader: CaptureReader, dissection: Dissection, by: StepBy): number {
  return by === 'field' ? dissection.fieldCount : reader.opCount;
}

/** A problem ready to show, in `lang`. */
export function problemView(p: Problem, lang: Lang): ProblemView {
  return { kind: p.kind, title: problemTitle(p.kind, lang), severity: p.severity, field: p.field, offset: p.offset, length: p.length, message: describeProblem(p, lang) };
}

/** The name carried by file `n`, if its name field was read: field step 3n - 1, dissected again. */
export async function fileName(d: Dissection, n: number): Promise<string | undefined> {
  if (n < 1 || n > d.named) return undefined;
  const f = (await d.field(3 * n - 2))?.field;
  return f?.kind === 'name' && f.value?.kind === 'name' ? f.value.name.text : undefined;
}

/**
 * Builds the view of one field with its problems (`own`, from its dissection), reading its bytes
 * where the explanation needs them.
 */
export async function fieldView(reader: CaptureReader, d: Dissection, field: Field, own: readonly Problem[], lang: Lang): Promise<FieldView> {
  const v = field.value;
  let bytes: Uint8Array | undefined;
  if (field.length <= 16) bytes = await reader.read(field.offset, field.length);
  let text: { characters: number; multiByte: number } | undefined;
  let textStart: FieldView['textStart'] = null;
  if (field.kind === 'payload' && field.length > 0) {
    const whole = field.complete && field.length <= TEXT_SCAN_LIMIT;
    const head = await reader.read(field.offset, whole ? field.length : Math.min(field.length, TEXT_START_BYTES));
    if (whole) text = textStats(head);
    textStart = startOfText(head.subarray(0, TEXT_START_BYTES), field.length);
  }
  const name = field.kind === 'name' && field.value?.kind === 'name' ? field.value.name.text : field.file !== undefined ? await fileName(d, field.file) : undefined;
  const count = d.count;
  const explanation = explainField(field, lang, {
    ...(bytes ? { bytes } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(count !== null ? { count } : {}),
    ...(text ? { text } : {}),
  });
  let value: string | null = null;
  let littleEndian: string | null = null;
  let padding: number | null = null;
  let referenceName: string | null = null;
  if (v?.kind === 'count') {
    value = formatInteger(v.count, lang);
    littleEndian = formatInteger(v.littleEndian, lang);
  } else if (v?.kind === 'size') {
    value = formatInteger(v.size, lang);
    littleEndian = formatInteger(v.littleEndian, lang);
  } else if (v?.kind === 'name') {
    value = `“${v.name.text}”`;
    padding = v.name.padding;
    if (v.name.reference !== v.name.text) referenceName = v.name.reference;
  } else if (field.kind === 'payload' || field.kind === 'trailing') {
    value = tn(lang, 'bytes', field.length, { n: formatInteger(field.length, lang) });
  }
  // Bytes that read the same both ways (00 00 … 00, or 78 78 … 78) teach nothing about byte order.
  if (littleEndian === value) littleEndian = null;
  // What is missing at the end of the stream is the count's problem too.
  const problems = [...own, ...d.endProblemsOf(field.id)].map((p) => problemView(p, lang));
  return {
    id: field.id,
    kind: field.kind,
    ...(field.file !== undefined ? { file: field.file } : {}),
    title: fieldTitle(field, lang),
    offset: field.offset,
    length: field.length,
    lastOffset: field.offset + Math.max(field.length, 1) - 1,
    expected: field.expected.toString(),
    complete: field.complete,
    value,
    hex: bytes && bytes.length > 0 ? hexBytes(bytes) : null,
    littleEndian,
    padding,
    referenceName,
    explanation,
    problems,
    textStart,
  };
}

/**
 * The first {@link TEXT_START_CHARACTERS} characters of `head`, the first bytes of a payload of
 * `length` bytes, when they are UTF-8 text (a character cut at the end of `head` is left out);
 * null when they are not text.
 */
export function startOfText(head: Uint8Array, length: number): FieldView['textStart'] {
  // Leave out a multi-byte sequence cut by the end of `head`: up to 3 continuation bytes back to its lead.
  let end = head.length;
  if (head.length < length) {
    let back = end - 1;
    while (back >= 0 && end - back <= 3 && (head[back]! & 0xc0) === 0x80) back--;
    if (back >= 0 && head[back]! >= 0xc0) end = back;
  }
  if (end === 0 || textStats(head.subarray(0, end)) === undefined) return null;
  const characters = [...new TextDecoder('utf-8').decode(head.subarray(0, end))];
  const shown = characters.slice(0, TEXT_START_CHARACTERS).join('').replace(/\r?\n/g, '↵');
  return { text: shown, more: characters.length > TEXT_START_CHARACTERS || end < length };
}

/** Character counts of bytes that are UTF-8 text (controls other than tab and newlines mean binary). */
export function textStats(bytes: Uint8Array): { characters: number; multiByte: number } | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex -- control bytes are what marks binary data
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) return undefined;
  const { characters, multiByte } = countCharacters(text);
  return { characters, multiByte };
}

async function dumpRange(
  reader: CaptureReader,
  d: Dissection,
  start: number,
  end: number,
  focus: { offset: number; length: number },
  lang: Lang,
): Promise<DumpBlock['rows']> {
  const from = Math.floor(start / BYTES_PER_ROW) * BYTES_PER_ROW;
  const to = Math.min(reader.streamLength, Math.ceil(end / BYTES_PER_ROW) * BYTES_PER_ROW);
  const bytes = await reader.read(from, to - from);
  // The fields of these rows only (a page is 4 KiB at most), dissected again from a checkpoint.
  const entries = await d.fieldsIn(from, Math.max(to, from + 1));
  const fields = entries.map((e) => e.field);
  const problemRanges = entries.flatMap((e) => e.problems).filter((p) => p.length > 0);
  const glyphs = utf8Glyphs(bytes);
  return hexRows(bytes, from).map((row) => withRuns(lang, {
    address: row.address,
    halfAddress: row.halfAddress,
    offset: row.offset,
    cells: row.cells.map((cell): ByteView => {
      const i = fieldIndexAt(fields, cell.offset);
      const f = i >= 0 ? fields[i]! : null;
      const within = f ? cell.offset - f.offset : 0;
      const nameValue = f?.value?.kind === 'name' ? f.value.name : null;
      // A character only inside a text field, both of its bytes in the field.
      let glyph = f && (f.kind === 'name' || f.kind === 'payload') ? glyphs[cell.offset - from] ?? null : null;
      if (glyph !== null && f && (glyph === '' ? cell.offset - 1 < f.offset : cell.offset + 1 >= f.offset + f.length)) glyph = null;
      return {
        ...cell,
        glyph,
        fieldStep: i >= 0 ? entries[i]!.index + 1 : null,
        field: f?.id ?? null,
        kind: f?.kind ?? null,
        fieldOffset: within,
        padding: nameValue !== null && within >= nameValue.byteLength,
        inFocus: cell.offset >= focus.offset && cell.offset < focus.offset + focus.length,
        problem: problemRanges.some((p) => cell.offset >= p.offset && cell.offset < p.offset + p.length),
      };
    }),
  }));
}

function withRuns(lang: Lang, row: { address: string; halfAddress: string | null; offset: number; cells: ByteView[] }): DumpRow {
  const grouped: ByteView[][] = [];
  for (const c of row.cells) {
    const last = grouped.at(-1);
    if (last && last[0]!.field === c.field && last[0]!.inFocus === c.inFocus) last.push(c);
    else grouped.push([c]);
  }
  const runs = grouped.map((cells): ByteRun => {
    const first = cells[0]!;
    const last = cells.at(-1)!;
    const parsed = first.field ? parseFieldId(first.field) : null;
    const title = parsed ? fieldTitle(parsed, lang) : null;
    const n = (v: number): string => formatInteger(v, lang);
    const label = t(lang, title ? 'step.runLabel' : 'step.runLabelNoField', {
      title: title ?? '',
      from: n(first.offset),
      to: n(last.offset),
      fieldFrom: n(first.fieldOffset),
      fieldTo: n(last.fieldOffset),
    });
    return { field: first.field, title, label, kind: first.kind, inFocus: first.inFocus, offset: first.offset, fieldOffset: first.fieldOffset, step: first.fieldStep, cells };
  });
  return { ...row, runs, pad: BYTES_PER_ROW - row.cells.length };
}

/**
 * The text-column character of each of `bytes` where UTF-8 has one and ASCII has not: a two-byte
 * sequence for a Latin, Greek or Cyrillic letter (U+00A0 to U+04FF, leaving out the soft hyphen
 * and U+0250 to U+036F, where the combining marks are) puts the character on its first byte and
 * '' on its second. Null for every other byte; longer sequences keep hexy's dots (one column a byte).
 */
export function utf8Glyphs(bytes: Uint8Array): (string | null)[] {
  const out: (string | null)[] = new Array<string | null>(bytes.length).fill(null);
  for (let i = 0; i + 1 < bytes.length; i++) {
    const lead = bytes[i]!;
    const next = bytes[i + 1]!;
    if (lead < 0xc2 || lead > 0xdf || (next & 0xc0) !== 0x80) continue;
    const cp = ((lead & 0x1f) << 6) | (next & 0x3f);
    if (cp < 0xa0 || cp === 0xad || cp > 0x4ff || (cp >= 0x250 && cp <= 0x36f)) continue;
    out[i] = String.fromCharCode(cp);
    out[i + 1] = '';
    i++;
  }
  return out;
}

/** The dump blocks of a focus range: whole, head and tail, or one page of the middle. */
async function dumpFocus(
  reader: CaptureReader,
  d: Dissection,
  focus: { offset: number; length: number },
  page: number | null,
  lang: Lang,
  limits: DumpLimits,
): Promise<{ blocks: DumpBlock[]; paging: StepView['paging'] }> {
  const end = focus.offset + focus.length;
  if (focus.length <= limits.showWhole) {
    return { blocks: [{ rows: await dumpRange(reader, d, focus.offset, Math.max(end, focus.offset + 1), focus, lang), gapAfter: 0 }], paging: null };
  }
  const pages = Math.ceil(focus.length / limits.pageSize);
  if (page !== null) {
    const p = Math.min(Math.max(1, page), pages);
    const from = focus.offset + (p - 1) * limits.pageSize;
    const to = Math.min(end, from + limits.pageSize);
    return { blocks: [{ rows: await dumpRange(reader, d, from, to, focus, lang), gapAfter: 0 }], paging: { page: p, pages } };
  }
  const headEnd = Math.ceil((focus.offset + limits.headTail) / BYTES_PER_ROW) * BYTES_PER_ROW;
  const tailStart = Math.floor((end - limits.headTail) / BYTES_PER_ROW) * BYTES_PER_ROW;
  return {
    blocks: [
      { rows: await dumpRange(reader, d, focus.offset, headEnd, focus, lang), gapAfter: tailStart - headEnd },
      { rows: await dumpRange(reader, d, tailStart, end, focus, lang), gapAfter: 0 },
    ],
    paging: { page: 0, pages },
  };
}

const FLAG_NAMES = Object.entries(SEGMENT_FLAGS) as [keyof typeof SEGMENT_FLAGS, number][];

/** The names of the {@link SEGMENT_FLAGS} set in `flags`. */
export function segmentFlags(flags: number): (keyof typeof SEGMENT_FLAGS)[] {
  return FLAG_NAMES.filter(([, bit]) => flags & bit).map(([name]) => name);
}

function eventView(e: CaptureEvent, step: number | null, lang: Lang, reader: CaptureReader): EventView {
  const note = e.type === 'error' ? reader.meta.errors[e.length] : undefined;
  const error = note ? describeReason(note.reason, lang) : '';
  const flags = e.type === 'segment' ? segmentFlags(e.flags).map((name) => t(lang, `segment.${name}`)) : [];
  const program = e.side === 'wire' ? undefined : reader.meta.programs?.[e.side]?.name;
  return {
    side: e.side,
    type: e.type,
    offset: e.offset,
    length: e.length,
    timeUs: e.timeUs,
    time: formatMs(e.timeUs, lang),
    step,
    description: t(lang, e.type === 'segment' && e.length === 0 ? 'event.wire.bare' : `event.${e.side}.${e.type}`, {
      n: formatInteger(e.length, lang),
      from: formatInteger(e.offset, lang),
      to: formatInteger(e.offset + e.length - 1, lang),
      at: formatInteger(e.offset, lang),
      message: error,
    }),
    flags,
    call: callView(e, program ?? null, lang),
  };
}

/** The lanes of `reader` that can carry bytes, in the order they are drawn: writes, segments, reads. */
export function dataLanes(reader: CaptureReader): Lane[] {
  return LANES.filter((l) => (l === 'wire' ? reader.hasWire : reader.meta.sides.includes(l)));
}

/** How many events of `lanes` carried bytes `offset` to `offset + length - 1`, and the first few. */
async function carriersOf(reader: CaptureReader, lanes: readonly Lane[], offset: number, length: number, lang: Lang): Promise<StepView['carriers']> {
  const carriers = [];
  for (const side of lanes) {
    const { events, total: count } = await reader.eventsCovering(side, offset, length, CARRIERS_LISTED);
    // A segment is a step of its own only in a capture stepped through by segment.
    const steps = side !== 'wire' || reader.meta.sides.length === 0;
    const views = [];
    for (const e of events) views.push(eventView(e, steps ? (await reader.opIndex(e)) + 1 : null, lang, reader));
    carriers.push({ side, events: views, total: count, moreCount: count - views.length });
  }
  return carriers;
}

const MS_FORMATS: Readonly<Record<Lang, Intl.NumberFormat>> = {
  en: new Intl.NumberFormat(LOCALES.en, { minimumFractionDigits: 3, maximumFractionDigits: 3 }),
  pt: new Intl.NumberFormat(LOCALES.pt, { minimumFractionDigits: 3, maximumFractionDigits: 3 }),
};

/** Microseconds as milliseconds with three decimals: "12.345 ms". */
export function formatMs(us: number, lang: Lang): string {
  const ms = MS_FORMATS[lang].format(us / 1000);
  return `${ms} ms`;
}

async function receiverState(d: Dissection, end: number, streamLength: number, lang: Lang): Promise<ReceiverState> {
  const holding = end < streamLength ? (await d.fieldsIn(end, end + 1, 1))[0]?.field : undefined;
  let field: { id: string; kind: Field['kind']; file?: number } | null = null;
  let have = 0;
  let needed = 0n;
  if (holding) {
    const f = holding;
    field = f;
    have = end - f.offset;
    needed = f.expected - BigInt(have);
  } else if (end >= streamLength && d.lastField) {
    const last = d.lastField;
    if (!last.complete) {
      field = last;
      have = end - last.offset;
      needed = last.expected - BigInt(have);
    } else {
      const next = nextField(last, d.count);
      if (next) {
        field = { id: fieldId(next.kind, next.file), kind: next.kind, file: next.file };
        needed = next.expected;
      }
    }
  }
  if (!field) {
    return { field: null, title: '', have: 0, needed: '0', description: t(lang, 'state.done') };
  }
  const title = fieldTitle(field, lang);
  const key = field.kind === 'trailing' ? 'state.trailing' : have === 0 ? 'state.next' : 'state.in';
  return {
    field: field.id,
    title,
    have,
    needed: needed.toString(),
    description: t(lang, key, { title, have: formatInteger(have, lang), needed: formatInteger(needed, lang) }),
  };
}

/**
 * One step of capture `captureId` (its folder name, which links use), `n` from 1. Reads only the bytes and events the step shows.
 * `context` bytes before a field are shown too (a quiz); `limits` says how much of a long range one page shows.
 * Throws StepRangeError when there is no such step.
 */
/** The payload problems of the ranges `focus` touches, in words: those bytes are not shown as recorded. */
function damagedNotes(reader: CaptureReader, focus: { offset: number; length: number }, lang: Lang): string[] {
  return reader.payloadProblems
    .filter((p) => p.offset < focus.offset + focus.length && focus.offset < p.offset + p.length)
    .map((p) => protocolText(lang, `payloadProblem.${p.kind}`, { offset: formatInteger(p.offset, lang), length: formatInteger(p.length, lang) }));
}

export async function loadStep(
  captureId: string,
  reader: CaptureReader,
  d: Dissection,
  by: StepBy,
  n: number,
  lang: Lang,
  page: number | null = null,
  context = 0,
  limits: DumpLimits = SCREEN_LIMITS,
): Promise<StepView> {
  const total = stepCount(reader, d, by);
  if (!Number.isInteger(n) || n < 1 || n > total) throw new StepRangeError(`step ${n} of ${total}`);
  const base = { captureId, by, n, total, segments: reader.meta.sides.length === 0 };
  if (by === 'field') {
    const { field, problems: own } = (await d.field(n - 1))!;
    const view = await fieldView(reader, d, field, own, lang);
    const focus = { offset: field.offset, length: field.length };
    const { blocks, paging } = context > 0 && field.length <= limits.showWhole
      // A quiz shows bytes before the field too, so its start has to be found.
      ? { blocks: [{ rows: await dumpRange(reader, d, Math.max(0, field.offset - context), field.offset + Math.max(field.length, 1), focus, lang), gapAfter: 0 }], paging: null }
      : await dumpFocus(reader, d, focus, page, lang, limits);
    // An empty field has no bytes, so no write or read carried it.
    const carriers = field.length > 0 ? await carriersOf(reader, dataLanes(reader), field.offset, field.length, lang) : [];
    return {
      ...base,
      title: view.title,
      focus,
      blocks,
      paging,
      fields: [view],
      fieldsMore: false,
      event: null,
      carriers,
      // The first write or read of the sides (not a segment, which has no step) that carried the field.
      switchStep: carriers.flatMap((c) => c.events).find((e) => e.step !== null)?.step ?? 1,
      tcp: null,
      stateAfter: null,
      beyondStream: null,
      damaged: damagedNotes(reader, focus, lang),
      problems: [],
    };
  }
  const e = await reader.op(n - 1);
  const event = eventView(e, n, lang, reader);
  // A segment after a hole the packet capture missed carries bytes the stream, which stops at
  // the hole, does not hold.
  const inStream = isData(e) ? Math.max(0, Math.min(e.length, reader.streamLength - e.offset)) : 0;
  const moved = inStream > 0;
  const focus = { offset: e.offset, length: inStream };
  const beyond = isData(e) ? e.length - inStream : 0;
  const beyondStream = beyond > 0
    ? t(lang, 'step.beyondStream', { n: formatInteger(beyond, lang), at: formatInteger(reader.streamLength, lang) })
    : null;
  const fields: FieldView[] = [];
  let blocks: DumpBlock[] = [];
  let paging: StepView['paging'] = null;
  let fieldsMore = false;
  // One more than listed tells whether there are more.
  const carried = moved ? await d.fieldsIn(e.offset, e.offset + inStream, FIELDS_LISTED + 1) : [];
  if (carried.length > FIELDS_LISTED) {
    carried.pop();
    fieldsMore = true;
  }
  if (moved) {
    for (const { field: f, problems: own } of carried) {
      const view = await fieldView(reader, d, f, own, lang);
      const from = Math.max(f.offset, e.offset);
      const to = Math.min(f.offset + f.length, e.offset + inStream) - 1;
      const whole = from === f.offset && to === f.offset + f.length - 1;
      fields.push(whole ? view : { ...view, portion: { from, to, length: to - from + 1 } });
    }
    ({ blocks, paging } = await dumpFocus(reader, d, focus, page, lang, limits));
  }
  const stateAfter = e.side === 'receiver' && moved ? await receiverState(d, e.offset + inStream, reader.streamLength, lang) : null;
  // Beside a write or a read, the segments that carried its bytes; beside a segment, the writes and reads.
  const others = dataLanes(reader).filter((l) => (e.side === 'wire' ? l !== 'wire' : l === 'wire'));
  const carriers = moved ? await carriersOf(reader, others, e.offset, inStream, lang) : [];
  const onFields = new Set(fields.flatMap((f) => f.problems.map((p) => `${p.kind}@${p.offset}`)));
  const inRange = (p: Problem): boolean => p.offset < e.offset + inStream && e.offset <= p.offset + p.length && !onFields.has(`${p.kind}@${p.offset}`);
  const problems = moved
    ? [...carried.flatMap((c) => c.problems), ...d.endProblems].filter(inRange).map((p) => problemView(p, lang))
    : e.type === 'close' || e.type === 'end'
      // What is missing shows where the stream stopped: zero-length problems at its end.
      ? [...((await d.field(d.fieldCount - 1))?.problems ?? []), ...d.endProblems]
          .filter((p) => p.length === 0 && p.offset >= e.offset)
          .map((p) => problemView(p, lang))
      : [];
  return {
    ...base,
    title: event.description,
    focus,
    blocks,
    paging,
    fields,
    fieldsMore,
    event,
    carriers,
    switchStep: carried.length > 0 ? carried[0]!.index + 1 : 1,
    tcp: e.side === 'wire' ? await segmentDetail(reader, e.index, lang) : null,
    stateAfter,
    beyondStream,
    damaged: damagedNotes(reader, focus, lang),
    problems,
  };
}

/** Files listed on each side of the current one in a {@link FieldTree}; the others are counted. */
export const TREE_FILES_AROUND = 3;

/** One field of a {@link FieldTree}: a link to its field step. */
export interface TreeField {
  readonly id: string;
  readonly kind: Field['kind'];
  /** Its field step (`?by=field`), from 1. */
  readonly step: number;
  /** Its value in a few words (`10`, `“a.txt”`, `33 bytes`); null when it was cut before one. */
  readonly value: string | null;
  /** The field the page is about. */
  readonly current: boolean;
}

/** The fields of one file in a {@link FieldTree}, those the stream has (a cut stream may stop in a file). */
export interface TreeFile {
  readonly file: number;
  readonly fields: readonly TreeField[];
}

/**
 * The field tree of a whole transfer, as Wireshark's packet details pane lists it: the count, the
 * files around the current field (name, size, payload), then the trailing bytes. Bounded whatever
 * the capture: at most 2 × {@link TREE_FILES_AROUND} + 1 files, the others counted, with links
 * to the first and the last file.
 */
export interface FieldTree {
  /** Field steps of the capture. */
  readonly total: number;
  /** Files with a name field in the stream. */
  readonly files: number;
  readonly count: TreeField | null;
  /** Files 1 to `to` left out before the listed ones, and the step of the first file's name (null when none are left out). */
  readonly before: { readonly files: number; readonly to: number; readonly firstStep: number } | null;
  readonly listed: readonly TreeFile[];
  /** Files `from` to the last left out after the listed ones, and the step of the last file's name. */
  readonly after: { readonly files: number; readonly from: number; readonly lastStep: number } | null;
  readonly trailing: TreeField | null;
}

/** A field of the tree, its value in few words. */
function treeField(e: FieldEntry, current: number | null, lang: Lang): TreeField {
  const f = e.field;
  const v = f.value;
  const value = v?.kind === 'count' ? formatInteger(v.count, lang)
    : v?.kind === 'size' ? formatInteger(v.size, lang)
      : v?.kind === 'name' ? `“${v.name.text}”`
        : f.kind === 'payload' || f.kind === 'trailing' ? tn(lang, 'bytes', f.length, { n: formatInteger(f.length, lang) })
          : null;
  return { id: f.id, kind: f.kind, step: e.index + 1, value, current: e.index === current };
}

/**
 * The field tree of capture dissection `d` around field step `current` (0-based; null when the
 * page is about no field, which centres the tree on the first files). Dissects again only the
 * listed files' headers, from the nearest checkpoint: a 1 GiB capture costs a few reads.
 */
export async function loadFieldTree(d: Dissection, current: number | null, lang: Lang): Promise<FieldTree> {
  const total = d.fieldCount;
  const files = d.named;
  const at = current === null ? null : await d.field(current);
  const last = total > 0 ? await d.field(total - 1) : null;
  // The file the current field belongs to: the count centres on the first, trailing bytes on the last.
  const centre = at?.field.file ?? (at?.field.kind === 'trailing' ? files : 1);
  let lo = Math.max(1, centre - TREE_FILES_AROUND);
  const hi = Math.min(files, lo + 2 * TREE_FILES_AROUND);
  lo = Math.max(1, hi - 2 * TREE_FILES_AROUND);
  const listed: { file: number; fields: TreeField[] }[] = [];
  if (files > 0) {
    // File k's name is field step 3k - 1 (index 3k - 2): the count comes first.
    for (const e of await d.fields(3 * lo - 2, 3 * (hi - lo + 1))) {
      const file = e.field.file;
      if (e.field.kind === 'trailing' || file === undefined || file > hi) break;
      if (listed.at(-1)?.file !== file) listed.push({ file, fields: [] });
      listed.at(-1)!.fields.push(treeField(e, current, lang));
    }
  }
  const first = total > 0 ? await d.field(0) : null;
  return {
    total,
    files,
    count: first && first.field.kind === 'count' ? treeField(first, current, lang) : null,
    before: lo > 1 ? { files: lo - 1, to: lo - 1, firstStep: 2 } : null,
    listed,
    after: hi < files ? { files: files - hi, from: hi + 1, lastStep: 3 * files - 1 } : null,
    trailing: last && last.field.kind === 'trailing' ? treeField(last, current, lang) : null,
  };
}
