import type { CaptureReader, Dissection } from '../capture/index.js';
import { type Lang, formatInteger } from '../protocol/index.js';
import { readDetails } from '../capture/wire-detail.js';
import { TCP_FLAGS } from '../wire/types.js';
import type { ReaderCache } from './cache.js';
import { type EmbedRequest, FACT, type Fact, type Lesson, renderLesson } from './lessons.js';
import { type StepView, loadStep } from './steps.js';

/** A lesson part ready for the view: HTML, or a live step with the link to its page. */
export type LessonViewPart = { readonly html: string } | { readonly step: StepView; readonly request: EmbedRequest };

/** A number a lesson asks of a capture, computed from the capture itself. */
async function computeFact(reader: CaptureReader, d: Dissection, fact: Fact): Promise<number> {
  switch (fact) {
    case 'bytes':
      return reader.streamLength;
    case 'files':
      return d.files;
    case 'fields':
      return d.fieldCount;
    case 'problems':
      return d.problemCount;
    case 'writes':
      return (await reader.eventsCovering('sender', 0, reader.streamLength, 0)).total;
    case 'reads':
      return (await reader.eventsCovering('receiver', 0, reader.streamLength, 0)).total;
    case 'segments':
      return reader.meta.wire?.carrying ?? 0;
    default:
      return wireFact(reader, fact);
  }
}

/** A fact of the wire detail or of the sides' timing; throws when the capture cannot say it (a lesson bug). */
async function wireFact(reader: CaptureReader, fact: Fact): Promise<number> {
  const detail = reader.meta.wire?.detail;
  const need = <T>(v: T | null | undefined): T => {
    if (v === null || v === undefined) throw new RangeError(`capture ${reader.meta.id} cannot say ${fact}`);
    return v;
  };
  switch (fact) {
    case 'mss':
      return need(detail?.mss.client);
    case 'server-mss':
      return need(detail?.mss.server);
    case 'largest-segment':
      return need(detail).largest.client;
    case 'zero-windows':
      return need(detail).marks.zeroWindow;
    case 'window-probes':
      return need(detail).marks.windowProbe;
    case 'window-updates':
      return need(detail).marks.windowUpdate;
    case 'window-fulls':
      return need(detail).marks.windowFull;
    case 'server-acks':
      return need(detail).bareAcks.server;
    case 'server-syn-window': {
      // The SYN-ACK comes among the first records.
      const first = await readDetails(reader.dir, 0, Math.min(need(detail).records, 16));
      return need(first.find((r) => !r.fromClient && r.flags & TCP_FLAGS.syn)).window;
    }
    case 'common-segment': {
      const counts = new Map<number, number>();
      for await (const e of reader.eachEvent('wire')) if (e.length > 0) counts.set(e.length, (counts.get(e.length) ?? 0) + 1);
      return need([...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0])[0];
    }
    case 'write-wait-ms': {
      let last: number | null = null;
      let longest = 0;
      for await (const e of reader.eachEvent('sender')) {
        if (e.type !== 'write') continue;
        if (last !== null) longest = Math.max(longest, e.timeUs - last);
        last = e.timeUs;
      }
      return Math.round(longest / 1000);
    }
    case 'error-after-write-ms': {
      // The write that failed is no event: the error is, after the last write that went through.
      let lastWrite: number | null = null;
      for await (const e of reader.eachEvent('sender')) if (e.type === 'write') lastWrite = e.timeUs;
      const error = reader.meta.errors.find((x) => x.side === 'sender');
      return Math.round((need(error).timeUs - need(lastWrite)) / 1000);
    }
    case 'sender-done-ms':
    case 'receiver-done-ms': {
      const side = fact === 'sender-done-ms' ? 'sender' : 'receiver';
      const n = reader.eventCount(side);
      return Math.round(need((await reader.events(side, n - 1, 1))[0]).timeUs / 1000);
    }
    default:
      throw new RangeError(`unknown fact ${fact}`);
  }
}

/** The step an embed asks for: a field step, or the op step of a side's Nth write or read. */
async function embedStep(reader: CaptureReader, d: Dissection, request: EmbedRequest, lang: Lang): Promise<StepView> {
  if (request.by === 'field') return loadStep(request.capture, reader, d, 'field', request.n, lang);
  const side = request.by === 'write' ? 'sender' : 'receiver';
  // The Nth data event: connect/accept come first, so look a little past N.
  const events = (await reader.events(side, 0, request.n + 4)).filter((e) => e.type === request.by && e.length > 0);
  const e = events[request.n - 1];
  if (!e) throw new RangeError(`${request.capture} has no ${request.by} ${request.n}`);
  return loadStep(request.capture, reader, d, 'op', (await reader.opIndex(e)) + 1, lang);
}

/**
 * Renders a lesson with its facts filled and its embeds loaded from the captures; the teacher's
 * answers only when `answers` (default true); `langInLinks` puts `lang=` even in an English lesson's links.
 */
export async function renderLessonParts(cache: ReaderCache, lesson: Lesson, lang: Lang, answers = true, langInLinks = false): Promise<LessonViewPart[]> {
  const facts = new Map<string, string>();
  for (const [, capture, name] of lesson.body.matchAll(FACT)) {
    const key = `${capture}.${name}`;
    if (facts.has(key)) continue;
    const n = await cache.use(capture!, ({ reader, dissection }) => computeFact(reader, dissection, name as Fact));
    facts.set(key, formatInteger(n, lang));
  }
  const parts = renderLesson(lesson, (capture, name) => facts.get(`${capture}.${name}`)!, { answers, langInLinks });
  const out: LessonViewPart[] = [];
  for (const part of parts) {
    if ('html' in part) {
      out.push(part);
      continue;
    }
    const request = part.embed;
    out.push({ request, step: await cache.use(request.capture, ({ reader, dissection }) => embedStep(reader, dissection, request, lang)) });
  }
  return out;
}

/**
 * The lesson that explains what a step shows: the one whose captures (`owns`) include the step's;
 * else the one claiming its field's kind, or its socket operation. Where several claim it, the most
 * specific (claiming the fewest), then the first in order.
 */
export function lessonFor(lessons: readonly Lesson[], step: StepView, lang: Lang): { slug: string; title: string } | null {
  const owner = lessons.find((l) => l.lang === lang && l.owns.includes(step.captureId));
  if (owner) return { slug: owner.slug, title: owner.title };
  const kind = step.fields[0]?.kind;
  const claims = (l: Lesson): readonly string[] => (step.by === 'op' ? l.ops : l.fields);
  const wanted = step.by === 'op' ? step.event?.type : kind;
  const lesson = lessons
    .filter((l) => l.lang === lang && wanted !== undefined && claims(l).includes(wanted))
    .sort((a, b) => claims(a).length - claims(b).length || a.order - b.order)[0];
  return lesson ? { slug: lesson.slug, title: lesson.title } : null;
}
