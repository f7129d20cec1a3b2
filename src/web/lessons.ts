import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import { parse as parseYaml } from 'yaml';
import type { FieldKind, Lang } from '../protocol/index.js';
import { LANGS } from '../protocol/index.js';

/** One lesson in one language, as written in `lessons/<slug>.<lang>.md`. */
export interface Lesson {
  readonly slug: string;
  readonly lang: Lang;
  readonly title: string;
  readonly order: number;
  /** Capture ids the lesson uses. */
  readonly samples: readonly string[];
  /** Field kinds the lesson explains: step pages showing one link here. */
  readonly fields: readonly FieldKind[];
  /** The socket operations it explains (`connect`, `accept`, `write`, `read`, `end`, `close`, `error`). */
  readonly ops: readonly string[];
  /** Capture ids made for this lesson (front matter `owns`): every step page of theirs links here. */
  readonly owns: readonly string[];
  /** The Markdown body, front matter removed. */
  readonly body: string;
}

/** A live embed of one step: `step: N` (a field), or `write: N` / `read: N` (the Nth of that side). */
export interface EmbedRequest {
  readonly capture: string;
  readonly by: 'field' | 'write' | 'read';
  readonly n: number;
}

/** A rendered lesson: HTML pieces with the embeds between them. */
export type LessonPart = { readonly html: string } | { readonly embed: EmbedRequest };

const FILE = /^([a-z0-9]+(?:-[a-z0-9]+)*)\.(en|pt)\.md$/;
const KINDS: readonly FieldKind[] = ['count', 'name', 'size', 'payload', 'trailing'];
const OPS: readonly string[] = ['connect', 'accept', 'write', 'read', 'end', 'close', 'error'];
/** `{{capture-id.fact}}`: a number computed from a capture. */
export const FACT =
  /\{\{([A-Za-z0-9][A-Za-z0-9._-]*)\.(bytes|files|writes|reads|segments|fields|problems|mss|server-mss|largest-segment|common-segment|zero-windows|window-probes|window-updates|window-fulls|server-acks|server-syn-window|write-wait-ms|error-after-write-ms|sender-done-ms|receiver-done-ms)\}\}/g;
/**
 * The facts a lesson can ask of a capture. From the wire detail (`wire-detail.bin`): `mss` and
 * `server-mss`, the MSS options of the client's and the server's SYN; `largest-segment` and
 * `common-segment`, the largest and the most frequent payload of a client segment; the window
 * marks counted (`window-fulls`: client segments that filled the window); `server-acks`, the
 * server's bare ACKs; `server-syn-window`, the window of its SYN-ACK. From the sender's events: `write-wait-ms`, the longest time between two of its
 * writes; `error-after-write-ms`, from the sender's last write to its socket error;
 * `sender-done-ms` and `receiver-done-ms`, when each side's last event came.
 */
export type Fact =
  | 'bytes' | 'files' | 'writes' | 'reads' | 'segments' | 'fields' | 'problems'
  | 'mss' | 'server-mss' | 'largest-segment' | 'common-segment' | 'zero-windows' | 'window-probes' | 'window-updates' | 'window-fulls'
  | 'server-acks' | 'server-syn-window' | 'write-wait-ms' | 'error-after-write-ms' | 'sender-done-ms' | 'receiver-done-ms';

/** Thrown for a lesson file that does not follow the format; the message names file and key. */
export class LessonError extends Error {
  override readonly name = 'LessonError';
}

function parseLesson(file: string, text: string): Lesson {
  const m = FILE.exec(path.basename(file));
  if (!m) throw new LessonError(`${file}: lesson files are named <slug>.<en|pt>.md`);
  const fm = /^---\n([\s\S]*?)\n---\n/.exec(text.replace(/\r\n/g, '\n'));
  if (!fm) throw new LessonError(`${file}: no front matter between --- lines`);
  const meta = parseYaml(fm[1]!) as Record<string, unknown> | null;
  const bad = (what: string): never => {
    throw new LessonError(`${file}: ${what}`);
  };
  if (!meta || typeof meta !== 'object') return bad('front matter is not a mapping');
  if (typeof meta.title !== 'string' || meta.title.trim() === '') bad('"title" is missing');
  if (typeof meta.order !== 'number' || !Number.isInteger(meta.order)) bad('"order" is not a whole number');
  if (meta.lang !== m[2]) bad(`"lang" is not "${m[2]}" as the file name says`);
  const list = (key: string): string[] => {
    const v = meta[key] ?? [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return bad(`"${key}" is not a list of names`);
    return v as string[];
  };
  const fields = list('fields');
  const ops = meta.ops === true ? [...OPS] : meta.ops === false || meta.ops === undefined ? [] : list('ops');
  for (const o of ops) if (!OPS.includes(o)) bad(`"ops" has ${JSON.stringify(o)}, not a socket operation`);
  for (const f of fields) if (!KINDS.includes(f as FieldKind)) bad(`"fields" has ${JSON.stringify(f)}, not a field kind`);
  return {
    slug: m[1]!,
    lang: m[2] as Lang,
    title: (meta.title as string).trim(),
    order: meta.order as number,
    samples: list('samples'),
    fields: fields as FieldKind[],
    ops,
    owns: list('owns'),
    body: text.replace(/\r\n/g, '\n').slice(fm[0].length),
  };
}

/** Every lesson in `dir`, by order. Throws LessonError for a file that breaks the format. */
export function loadLessons(dir: string): Lesson[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.md'));
  } catch {
    return [];
  }
  return names
    .map((n) => parseLesson(n, readFileSync(path.join(dir, n), 'utf8')))
    .sort((a, b) => a.order - b.order || a.slug.localeCompare(b.slug));
}

/** The lessons of one language, by order. */
export function lessonsIn(lessons: readonly Lesson[], lang: Lang): Lesson[] {
  return lessons.filter((l) => l.lang === lang);
}

/** The lesson `slug` in `lang`, else in English, else none. */
export function findLesson(lessons: readonly Lesson[], slug: string, lang: Lang): Lesson | undefined {
  return lessons.find((l) => l.slug === slug && l.lang === lang) ?? lessons.find((l) => l.slug === slug && l.lang === LANGS[0]);
}

/** Parses the body of a ```wirestep block. Throws LessonError naming what is wrong. */
export function parseEmbed(source: string, where: string): EmbedRequest {
  const raw = parseYaml(source) as Record<string, unknown> | null;
  const bad = (what: string): never => {
    throw new LessonError(`${where}: wirestep block ${what}`);
  };
  if (!raw || typeof raw !== 'object') return bad('is not "capture: … / step: …"');
  if (typeof raw.capture !== 'string') bad('has no "capture"');
  const keys = (['step', 'write', 'read'] as const).filter((k) => raw[k] !== undefined);
  if (keys.length !== 1) bad('needs exactly one of "step", "write" or "read"');
  const key = keys[0]!;
  const n = raw[key];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) bad(`"${key}" is not a whole number from 1`);
  return { capture: raw.capture as string, by: key === 'step' ? 'field' : key, n: n as number };
}

/** The teacher's answers of a lesson: each `<details class="answers">` block, to its closing tag. */
const ANSWERS = /<details\s+class="answers"\s*>[\s\S]*?<\/details>\s*/g;

/** A lesson's Markdown without the teacher's answers, for a student's page. */
export function withoutAnswers(body: string): string {
  return body.replace(ANSWERS, '');
}

/**
 * Renders a lesson's Markdown to HTML parts, the ```wirestep embeds left for the caller to
 * render with the step view's own code. Facts (`{{id.fact}}`) are filled by `fact`; links to
 * pages of the site carry the language. Lessons are the project's own files: their HTML is trusted.
 * The teacher's answers (`<details class="answers">` blocks) are left out when `options.answers` is false;
 * `options.langInLinks` puts `lang=` in an English lesson's links too.
 */
export function renderLesson(lesson: Lesson, fact: (capture: string, name: Fact) => string, options: { readonly answers?: boolean; readonly langInLinks?: boolean } = {}): LessonPart[] {
  const md = new MarkdownIt({ html: true, linkify: false, typographer: false });
  const langInLinks = options.langInLinks === true;
  const embeds: EmbedRequest[] = [];
  const where = `lessons/${lesson.slug}.${lesson.lang}.md`;
  const fence = md.renderer.rules.fence!;
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    if (token.info.trim() !== 'wirestep') return fence(tokens, idx, options, env, self);
    embeds.push(parseEmbed(token.content, where));
    return `\u0000embed:${embeds.length - 1}\u0000`;
  };
  const linkOpen = md.renderer.rules.link_open;
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const href = String(token.attrGet('href') ?? '');
    if (href?.startsWith('/') && !href.startsWith('//') && (lesson.lang !== LANGS[0] || langInLinks)) {
      const [pathPart, hash] = href.split('#', 2) as [string, string | undefined];
      token.attrSet('href', `${pathPart}${pathPart.includes('?') ? '&' : '?'}lang=${lesson.lang}${hash ? `#${hash}` : ''}`);
    }
    return linkOpen ? linkOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
  };
  const shown = options.answers === false ? withoutAnswers(lesson.body) : lesson.body;
  const body = shown.replace(FACT, (_all, capture: string, name: Fact) => fact(capture, name));
  const html = md.render(body);
  const parts: LessonPart[] = [];
  for (const [i, piece] of html.split('\u0000').entries()) {
    if (i % 2 === 0) {
      if (piece.trim() !== '') parts.push({ html: piece });
    } else {
      parts.push({ embed: embeds[Number(piece.slice('embed:'.length))]! });
    }
  }
  return parts;
}
