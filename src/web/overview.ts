import { type CaptureEntry, type CaptureEvent, type CaptureMeta, type CaptureReader, type Dissection, SAMPLE_CATEGORIES, SIDES, type SampleCategory, type Side, type Lane, type WireProblem, isData, opBefore, senderFlags } from '../capture/index.js';
import { type Field, LOCALES, type Lang, describeReason, fieldTitle, formatInteger, protocolText } from '../protocol/index.js';
import { t } from './i18n.js';
import { type ProblemView, dataLanes, formatMs, problemView, segmentFlags } from './steps.js';

/** An ISO time as the language writes it, in UTC: "Nov 23, 2026, 11:44:47 PM" or "23 de nov. de 2026, 23:44:47". */
export function formatDate(iso: string, lang: Lang): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' }).format(date);
}

/** One capture in the home page's list. */
export interface CaptureSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly sides: string;
  readonly files: number | null;
  readonly bytes: string;
  readonly duration: string;
  readonly status: string;
  readonly problems: number | null;
  readonly description: string | null;
  readonly error: string | null;
  /** The sample group, for bundled samples. */
  readonly category: SampleCategory | null;
}

/** Captures in the order and groups the home page shows: recorded ones first, then samples by category. */
export function groupCaptures(list: readonly CaptureSummary[]): { key: 'recorded' | SampleCategory; captures: CaptureSummary[] }[] {
  const groups = [
    { key: 'recorded' as const, captures: list.filter((c) => c.category === null) },
    ...SAMPLE_CATEGORIES.map((key) => ({ key, captures: list.filter((c) => c.category === key).sort((a, b) => a.id.localeCompare(b.id)) })),
  ];
  return groups.filter((g) => g.captures.length > 0);
}

/** The home page's line for a capture, from its index entry, in `lang`. */
export function summarize(e: CaptureEntry, lang: Lang): CaptureSummary {
  if (e.error !== null) {
    return { id: e.id, createdAt: '', sides: '', files: null, bytes: '', duration: '', status: 'damaged', problems: null, description: null, error: e.error, category: null };
  }
  return {
    id: e.id,
    createdAt: e.createdAt,
    sides: e.sides.join(' + '),
    files: e.files,
    bytes: formatInteger(e.streamBytes, lang),
    duration: formatMs(e.durationUs, lang),
    status: e.status,
    problems: e.problems,
    description: e.description?.[lang] ?? e.description?.en ?? null,
    error: null,
    category: categoryOf(e),
  };
}

function categoryOf(e: CaptureEntry): SampleCategory | null {
  return SAMPLE_CATEGORIES.includes(e.category as SampleCategory) ? (e.category as SampleCategory) : null;
}

/**
 * Index entries in the home page's order: recorded captures newest first (as `entries` come),
 * then the samples by group and id, so that a page of the list is a slice of it.
 */
export function homeOrder(entries: readonly CaptureEntry[]): CaptureEntry[] {
  const rank = (e: CaptureEntry): number => {
    const c = categoryOf(e);
    return c === null ? -1 : SAMPLE_CATEGORIES.indexOf(c);
  };
  return entries
    .map((e, i) => ({ e, i, r: rank(e) }))
    .sort((a, b) => a.r - b.r || (a.r === -1 ? a.i - b.i : a.e.id.localeCompare(b.e.id)))
    .map((x) => x.e);
}

/** A file of the capture as the overview lists it. */
export interface FileRow {
  readonly n: number;
  readonly name: string | null;
  readonly size: string | null;
  readonly status: string | null;
  readonly savedAs: string | null;
  readonly reason: string | null;
  /** Field step of its name. */
  readonly step: number;
}

/** A block of the stream layout ruler. */
export interface RulerBlock {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly offset: number;
  readonly length: number;
  readonly step: number;
  /** Position and width in the ruler's 0..1000 coordinates. */
  readonly x: number;
  readonly w: number;
}

/** One write or read drawn on the timeline. */
export interface TimelineChunk {
  /** Its op step; null for a segment where the op steps are the sides' operations. */
  readonly step: number | null;
  readonly offset: number;
  readonly length: number;
  readonly x: number;
  readonly w: number;
  /** For a segment: the names of its {@link SEGMENT_FLAGS} (retransmission, outOfOrder…). */
  readonly flags: readonly string[];
}

/** A program that made one side's calls, ready to show. */
export interface ProgramView {
  readonly side: Side;
  /** `client.py`, `wirestep send`. */
  readonly name: string;
  /** How it was recorded, in words. */
  readonly via: string;
  /** The traced command line, words joined by spaces; null for wirestep's own. */
  readonly command: string | null;
  /** `CPython 3.11.7`, pid 4242, where known. */
  readonly runtime: string | null;
  readonly pid: number | null;
}

/** The programs of `meta.programs`, sender first, in `lang`. */
export function programViews(meta: CaptureMeta, lang: Lang): ProgramView[] {
  return SIDES.flatMap((side) => {
    const p = meta.programs?.[side];
    if (!p) return [];
    return [{ side, name: p.name, via: t(lang, `capture.programVia.${p.via}`), command: p.argv ? p.argv.join(' ') : null, runtime: p.runtime ?? null, pid: p.pid ?? null }];
  });
}

/** Everything the capture overview shows. */
export interface OverviewView {
  /** The capture's id in the store: its folder name, which links use. */
  readonly id: string;
  readonly meta: CaptureMeta;
  readonly streamLength: number;
  readonly duration: string;
  /** Why the transfer ended so, in the page's language (the stored kind is in `meta.outcome.reason`). */
  readonly outcomeMessage: string | null;
  /** When it was recorded, in words, UTC. */
  readonly recordedAt: string;
  /** The timeline shows the whole stream. */
  readonly wholeTimeline: boolean;
  readonly files: readonly FileRow[];
  /** Files not listed in the table. */
  readonly filesMore: number;
  readonly ruler: readonly RulerBlock[];
  readonly rulerMore: number;
  readonly timeline: {
    /** Stream bytes the 0..1000 scale spans. */
    readonly scale: number;
    readonly lanes: readonly { readonly side: Lane; readonly chunks: readonly TimelineChunk[]; readonly total: number }[];
    /** Field boundaries on the same scale. */
    readonly fields: readonly { readonly kind: string; readonly x: number; readonly w: number; readonly id: string }[];
  };
  /** The first problems ({@link PROBLEMS_KEPT} at most), and how many more there are. */
  readonly problems: readonly ProblemView[];
  readonly problemsMore: number;
  readonly fieldSteps: number;
  readonly opSteps: number;
  /** Sender options that shaped the stream (staged faults), as `wirestep send` flags. */
  readonly faults: readonly string[];
  /** The stream was written raw by a script, not by wirestep's sender. */
  readonly raw: boolean;
  /** Which program made each side's calls (`programs` in capture.json); empty for older captures. */
  readonly programs: readonly ProgramView[];
  /** Where wirestep's own sender recorded: that Node may join its writes into one system call. */
  readonly joinedNote: string | null;
  /** For a capture imported from a packet capture: what was wrong on the wire, in words. */
  readonly wireProblems: readonly { readonly kind: WireProblem['kind']; readonly message: string }[];
  /** Payload files that are not as recorded: their ranges are shown as damaged. */
  readonly payloadProblems: readonly { readonly kind: string; readonly message: string }[];
}

/** Files listed in the overview's table at most; the rest are in the field steps. */
const FILES_LISTED = 500;
/**
 * The op step (0-based) of `e`, counting the other side's earlier events among the records
 * already loaded; only when they all came earlier (more may lie beyond) does it ask the reader.
 */
async function stepOfEvent(reader: CaptureReader, loaded: ReadonlyMap<Lane, CaptureEvent[]>, e: CaptureEvent): Promise<number> {
  // An imported packet capture is stepped through by segment.
  if (e.side === 'wire') return e.index;
  const other: Lane = e.side === 'sender' ? 'receiver' : 'sender';
  const records = loaded.get(other) ?? [];
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (opBefore(records[mid]!, e)) lo = mid + 1;
    else hi = mid;
  }
  if (lo === records.length && records.length < reader.eventCount(other)) return reader.opIndex(e);
  return e.index + lo;
}

/** Fields drawn in the ruler at most. */
const RULER_MAX = 240;
/** Field boundaries drawn under the timeline at most. */
const TIMELINE_FIELDS = 2000;
/** Writes or reads drawn per side at most. */
const TIMELINE_MAX = 600;

/** The overview of a capture: files, layout ruler, both sides' chunks on one scale, problems. */
export async function loadOverview(id: string, reader: CaptureReader, d: Dissection, lang: Lang): Promise<OverviewView> {
  const meta = reader.meta;
  const outcomes = new Map(meta.files.map((f) => [f.file, f]));
  // Files 1 to `named` have a name field; the receiver may note files past those.
  const noted = meta.files.map((f) => f.file).filter((n) => n > d.named);
  const fileCount = d.named + new Set(noted).size;
  const listed = [...Array.from({ length: Math.min(d.named, FILES_LISTED) }, (_, i) => i + 1), ...[...new Set(noted)].sort((a, b) => a - b)].slice(0, FILES_LISTED);
  // Only the headers of the files listed are dissected again: name and size are steps 2 and 3 of each file.
  const header = new Map<number, Field>();
  if (listed.length > 0 && listed[0]! <= d.named) {
    for (const { field } of await d.fields(1, 3 * Math.min(d.named, FILES_LISTED))) if (field.kind !== 'payload') header.set(field.kind === 'name' ? -field.file! : field.file!, field);
  }
  const files: FileRow[] = listed.map((n) => {
    const outcome = outcomes.get(n);
    const size = header.get(n)?.value;
    const nameValue = header.get(-n)?.value;
    return {
      n,
      name: nameValue?.kind === 'name' ? nameValue.name.text : outcome?.name ?? null,
      size: size?.kind === 'size' ? formatInteger(size.size, lang) : null,
      status: outcome?.status ?? null,
      savedAs: outcome?.savedAs ?? null,
      reason: outcome?.reason ? describeReason(outcome.reason, lang) : null,
      step: n <= d.named ? 3 * n - 1 : 1,
    };
  });

  // Widths grow with the log of a field's length, so a 4-byte count and a 1 GiB payload both show.
  const shown = (await d.fields(0, RULER_MAX)).filter((e) => e.field.length > 0);
  const weights = shown.map((e) => 1 + Math.log2(1 + e.field.length));
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  let x = 0;
  const ruler = shown.map(({ field: f, index }, i): RulerBlock => {
    const w = (weights[i]! / sum) * 1000;
    const block = { id: f.id, kind: f.kind, title: fieldTitle(f, lang), offset: f.offset, length: f.length, step: index + 1, x, w };
    x += w;
    return block;
  });

  const lanes = [];
  let scale = 0;
  const laneEvents: { side: Lane; events: CaptureEvent[]; total: number }[] = [];
  // The first records of each lane, data or not: op steps are counted from them in memory.
  const loaded = new Map<Lane, CaptureEvent[]>();
  const reach = (events: readonly CaptureEvent[]): number => events.reduce((m, e) => Math.max(m, e.offset + e.length), 0);
  for (const side of dataLanes(reader)) {
    const records = await reader.events(side, 0, TIMELINE_MAX + 8);
    loaded.set(side, records);
    const all = records.filter((e) => isData(e) && e.length > 0);
    const data = all.slice(0, TIMELINE_MAX);
    const total = reader.eventCount(side) <= TIMELINE_MAX + 8
      ? all.length
      : side === 'wire'
        ? meta.wire?.carrying ?? 0
        : (await reader.eventsCovering(side, 0, reader.streamLength, 0)).total;
    laneEvents.push({ side, events: data, total });
    scale = Math.max(scale, reach(data));
  }
  // When a lane was cut to TIMELINE_MAX chunks, the scale stops where the shortest lane stops
  // (segments come in capture order: a lane reaches as far as its farthest segment).
  const cut = laneEvents.filter((l) => l.total > l.events.length).map((l) => reach(l.events));
  if (cut.length > 0) scale = Math.min(...cut);
  // Segments after a hole in a packet capture reach past the stream, which stops at the hole.
  scale = Math.max(Math.min(scale, reader.streamLength), 1);
  for (const lane of laneEvents) {
    const chunks: TimelineChunk[] = [];
    for (const e of lane.events) {
      if (e.offset >= scale) {
        if (lane.side === 'wire') continue;
        break;
      }
      chunks.push({
        step: e.side === 'wire' && meta.sides.length > 0 ? null : (await stepOfEvent(reader, loaded, e)) + 1,
        offset: e.offset,
        length: e.length,
        x: (e.offset / scale) * 1000,
        w: (Math.min(e.length, scale - e.offset) / scale) * 1000,
        flags: segmentFlags(e.flags),
      });
    }
    lanes.push({ side: lane.side, chunks, total: lane.total });
  }
  const timelineFields = (await d.fieldsIn(0, scale, TIMELINE_FIELDS))
    .map(({ field: f }) => ({ kind: f.kind, id: f.id, x: (f.offset / scale) * 1000, w: (Math.min(f.length, scale - f.offset) / scale) * 1000 }));

  return {
    id,
    meta,
    streamLength: reader.streamLength,
    duration: formatMs(await reader.durationUs(), lang),
    recordedAt: formatDate(meta.createdAt, lang),
    outcomeMessage: meta.outcome.reason ? describeReason(meta.outcome.reason, lang) : null,
    wholeTimeline: scale >= reader.streamLength,
    files,
    filesMore: Math.max(0, fileCount - files.length),
    ruler,
    rulerMore: d.fieldCount - Math.min(d.fieldCount, RULER_MAX),
    timeline: { scale, lanes, fields: timelineFields },
    problems: d.problems.map((p) => problemView(p, lang)),
    problemsMore: d.problemCount - d.problems.length,
    fieldSteps: d.fieldCount,
    opSteps: reader.opCount,
    faults: senderFlags(meta.options),
    raw: meta.options.raw === true,
    programs: programViews(meta, lang),
    joinedNote: meta.programs?.sender?.via === 'wirestep' && meta.calls?.includes('sender') ? t(lang, 'capture.joined') : null,
    wireProblems: (meta.wire?.problems ?? []).map((p) => ({ kind: p.kind, message: describeWireProblem(p, lang) })),
    payloadProblems: reader.payloadProblems.map((p) => ({ kind: p.kind, message: protocolText(lang, `payloadProblem.${p.kind}`, { offset: formatInteger(p.offset, lang), length: formatInteger(p.length, lang) }) })),
  };
}

/** A problem found on the wire, in `lang`, with its numbers. */
export function describeWireProblem(p: WireProblem, lang: Lang): string {
  const n = (v: number): string => formatInteger(v, lang);
  switch (p.kind) {
    case 'gap':
      return protocolText(lang, 'wireProblem.gap', { offset: n(p.offset), missing: n(p.missing), held: n(p.held) });
    case 'mid-stream':
      return protocolText(lang, 'wireProblem.mid-stream', { frame: n(p.frame) });
    case 'conflict':
      return protocolText(lang, 'wireProblem.conflict', { offset: n(p.offset), length: n(p.length), frame: n(p.frame) });
    case 'cut':
      return protocolText(lang, 'wireProblem.cut', { offset: n(p.offset), length: n(p.length), frame: n(p.frame) });
    case 'held-limit':
      return protocolText(lang, 'wireProblem.held-limit', { offset: n(p.offset), frame: n(p.frame) });
    case 'server-data':
      return protocolText(lang, 'wireProblem.server-data', { bytes: n(p.bytes) });
  }
}
