import path from 'node:path';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { type CaptureEntry, CaptureError, CaptureStore } from '../capture/index.js';
import { ReaderCache } from './cache.js';
import type { LiveFeed } from './live.js';
import { findLesson, lessonsIn, loadLessons } from './lessons.js';
import { lessonFor, renderLessonParts } from './lesson-view.js';
import { LANGS, type Lang, formatInteger } from '../protocol/index.js';
import { statusText, t, tn } from './i18n.js';
import { groupCaptures, homeOrder, loadOverview, summarize } from './overview.js';
import { packageRoot } from './paths.js';
import { PRESENTER_LIMITS, SCREEN_LIMITS, type StepBy, StepRangeError, loadFieldTree, loadStep, stepCount } from './steps.js';
import { toJson } from './json.js';
import { WirePageError, loadWirePage } from './wire.js';
import { ReportError, renderServedReport } from '../check/report/html.js';
import { Roles, TEACHER_COOKIE, readCookie } from './roles.js';
import { blindStep, quizVerdict } from './quiz.js';

/** What the site is built on. */
export interface AppOptions {
  readonly store: CaptureStore;
  /** Whether the site listens beyond this machine (`--host 0.0.0.0`, say). */
  readonly shared?: boolean;
  /** Addresses others can reach the site at, when known. */
  readonly sharedAt?: readonly string[];
  /** Folder of the lessons; default the package's lessons/. */
  readonly lessonsDir?: string;
  /**
   * The bundled samples, which lessons and their links always open by id, even when the store
   * does not list them; default the package's samples/, `null` none.
   */
  readonly samplesDir?: string | null;
  /** In `wirestep lab`: the receiver's live feed, and where students send to. */
  readonly live?: LiveFeed;
  readonly lab?: { readonly port: number; readonly hosts: readonly string[] };
  /**
   * A grading report's folder (`wirestep check … --report DIR`): served at `/report`, its links
   * opening the steps of its captures, which the store must hold (`DIR/captures`).
   */
  readonly reportDir?: string;
  /**
   * The secret of the teacher's address (`?token=…`, 16 characters or more): the site then has two
   * roles, and only the browser that opened that address sees the lessons' answers and `/report`.
   * Absent, whoever opens the site is the teacher (`wirestep serve` on this machine only).
   * Throws a TypeError for a shorter token.
   */
  readonly teacherToken?: string;
  /**
   * The port the site listens on, which `wirestep serve` and `lab` give: the names of its cookies
   * (language, teacher) carry it, so that two sites on one host keep theirs apart (browsers keep
   * cookies per host, whatever the port). Absent, the names are plain.
   */
  readonly port?: number;
}

/** An error Express or its router raised for a bad request (status 4xx), such as a URIError. */
function isClientError(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

// A site on the loopback answers only to loopback names: a web page elsewhere cannot point a
// DNS name at 127.0.0.1 and read the captures through the visitor's browser (DNS rebinding).
const LOOPBACK_HOSTS = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?$/i;

/** Captures per page of the home page's list and of `/api/captures`. */
export const CAPTURES_PER_PAGE = 100;

/** Bytes shown before the field in a quiz, so that where it starts is a real question. */
const QUIZ_CONTEXT = 40;

/** Fields one answer of the capture API lists at most; `?fields=FROM,LIMIT` pages through them. */
const API_FIELDS_MAX = 1000;

/** An error with the HTTP status it should produce, worded from the message tables. */
class HttpError extends Error {
  constructor(readonly status: number, readonly key: string, readonly values: Record<string, string | number> = {}) {
    super(t('en', key, values));
  }
}

/** The cookie that keeps the language a reader chose with `?lang=` or the language links (its name carries the site's port when known). */
export const LANG_COOKIE = 'wirestep-lang';

const isLang = (v: unknown): v is Lang => typeof v === 'string' && (LANGS as readonly string[]).includes(v);

/** The name of cookie `base` on a site listening on `port`: `wirestep-lang-3000`; `base` itself when the port is not known. */
export function cookieName(base: string, port: number | undefined): string {
  return port === undefined ? base : `${base}-${port}`;
}

/** The language the reader chose before (cookie `langCookie`), else the browser's (Accept-Language), else null. */
function readerLangOf(req: Request, langCookie: string): Lang | null {
  const chosen = readCookie(req.headers.cookie, langCookie);
  if (isLang(chosen)) return chosen;
  const accepted = req.acceptsLanguages(...LANGS);
  return isLang(accepted) && req.headers['accept-language'] !== undefined ? accepted : null;
}

function byOf(req: Request): StepBy {
  const by = req.query.by ?? 'field';
  if (by !== 'field' && by !== 'op') throw new HttpError(400, 'error.by', { given: String(by) });
  return by;
}

/** A step or page number from the URL: a safe whole number from 1, else a 404 quoting it as given. */
function positiveInt(value: unknown, what: 'step' | 'page'): number {
  if (typeof value !== 'string' || !/^[1-9][0-9]*$/.test(value)) throw new HttpError(404, `error.${what}Number`, { given: String(value) });
  // 9999999999999999 would round to 10000000000000000: no capture has that many steps anyway.
  if (!Number.isSafeInteger(Number(value))) throw new HttpError(404, `error.no-${what}-n`, { n: value });
  return Number(value);
}

/** The page of fields `?fields=FROM,LIMIT` asks for (FROM from 0), LIMIT capped. */
function fieldPage(value: unknown): { from: number; limit: number } {
  if (value === undefined) return { from: 0, limit: API_FIELDS_MAX };
  const m = typeof value === 'string' ? /^([0-9]{1,15}),([0-9]{1,15})$/.exec(value) : null;
  if (!m) throw new HttpError(400, 'error.fieldsPage', { max: API_FIELDS_MAX });
  return { from: Number(m[1]), limit: Math.min(Number(m[2]), API_FIELDS_MAX) };
}

/** Keys of the errors that say a step does not exist. */
const STEP_ERRORS: readonly string[] = ['error.stepNumber', 'error.no-step-n', 'error.stepOf'];

/** Throws a 404 naming the step when capture `total` has no step `n`. */
function checkStep(n: number, total: number): void {
  if (n > total) throw new HttpError(404, 'error.stepOf', { n, total });
}

/**
 * Links that keep the language, and presenter mode (`present=1`), from page to page. A link says
 * `lang=` unless the language is English and the reader's default (`base`) is English too.
 */
function urls(lang: Lang, present = false, quiz = false, base: Lang = 'en') {
  const langParam = (to: Lang): { lang?: Lang } => (to === 'en' && base === 'en' ? {} : { lang: to });
  const langQuery = langParam(lang).lang === undefined ? '' : `&lang=${lang}`;
  const q = (params: Record<string, string | number | undefined>): string => {
    // A quiz goes on from field step to field step.
    const keepQuiz = quiz && params.by === 'field' && params.page === undefined;
    const all = { ...params, ...langParam(lang), ...(present ? { present: 1 } : {}), ...(keepQuiz ? { quiz: 1 } : {}) };
    const s = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
      .join('&');
    return s ? `?${s}` : '';
  };
  return {
    home: () => `/${q({})}`,
    homePage: (page: number) => `/${q(page === 1 ? {} : { page })}`,
    capture: (id: string) => `/captures/${encodeURIComponent(id)}${q({})}`,
    wire: (id: string, page = 1) => `/captures/${encodeURIComponent(id)}/wire${q(page === 1 ? {} : { page })}`,
    lessons: () => `/lessons${q({})}`,
    live: () => `/live${q({})}`,
    lesson: (slug: string) => `/lessons/${encodeURIComponent(slug)}${q({})}`,
    step: (id: string, n: number, by: StepBy, page?: number) => `/captures/${encodeURIComponent(id)}/steps/${n}${q({ by, page })}`,
    quiz: (id: string, n: number) => `/captures/${encodeURIComponent(id)}/steps/${n}${q({ by: 'field', quiz: 1 })}`,
    answer: (id: string, n: number) => `/captures/${encodeURIComponent(id)}/steps/${n}?by=field${langQuery}${present ? '&present=1' : ''}`,
    /** `&lang=…` when links must say the language, else empty: for links a script makes. */
    langQuery,
    /** Where the quiz's script asks whether a byte is the answer (`&at=OFFSET` appended). */
    quizAsk: (id: string, n: number) => `/api/captures/${encodeURIComponent(id)}/steps/${n}/quiz?lang=${lang}`,
    presenter: (id: string, n: number, by: StepBy, on: boolean) => {
      const url = `/captures/${encodeURIComponent(id)}/steps/${n}?by=${by}${langQuery}`;
      return on ? `${url}&present=1` : url;
    },
    lang: (path: string, to: Lang, params: Record<string, string | number | undefined> = {}) => {
      const all = { ...params, ...langParam(to) };
      const s = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
      return s ? `${path}?${s}` : path;
    },
  };
}

/**
 * The replay site as an Express app, not listening (Express's examples export the app;
 * `wirestep serve` listens). Every route reads only what its page shows.
 */
export function createApp(options: AppOptions): express.Express & { closeCaptures(): Promise<void> } {
  const root = packageRoot();
  const langCookie = cookieName(LANG_COOKIE, options.port);
  /** The language a request gets when its address does not say: {@link readerLangOf}, else English. */
  const defaultLangOf = (req: Request): Lang => readerLangOf(req, langCookie) ?? 'en';
  /** The language of a page: `?lang=`, else {@link defaultLangOf}. */
  const langOf = (req: Request): Lang => (isLang(req.query.lang) ? req.query.lang : defaultLangOf(req));
  // Pages open captures by id from the store's folders and then the samples; the listings show the store's alone.
  const samples = options.samplesDir === undefined ? path.join(root, 'samples') : options.samplesDir;
  const roots = samples === null || options.store.roots.includes(path.resolve(samples)) ? options.store.roots : [...options.store.roots, samples];
  const cache = new ReaderCache(new CaptureStore(roots));
  // Lessons are read once, at start: a broken lesson file stops the site with its name.
  const lessons = loadLessons(options.lessonsDir ?? path.join(root, 'lessons'));
  const app = express();
  app.set('view engine', 'ejs');
  app.set('views', path.join(root, 'views'));
  // Templates compiled once, not read and compiled again per page (Express does so only in production).
  app.set('view cache', true);
  app.set('x-powered-by', false);
  app.set('query parser', 'simple');
  // Pages and JSON gzip-compressed; an event stream never, since compression would hold its events back.
  app.use(compression({ filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream') && compression.filter(req, res) }));
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'font-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
        },
      },
      // Served over plain HTTP on a classroom network: no HSTS.
      strictTransportSecurity: false,
    }),
  );
  if (!options.shared) {
    app.use((req, res, next) => {
      if (LOOPBACK_HOSTS.test(req.headers.host ?? '')) {
        next();
        return;
      }
      res.status(421).type('text/plain').send('This wirestep site answers only to localhost and 127.0.0.1. Start it with --host to share it.');
    });
  }
  /** What every view is given: language, text and number helpers, links, the site's state. */
  const setLocals = (req: Request, res: Response): void => {
    const lang = langOf(req);
    const base = defaultLangOf(req);
    res.locals.lang = lang;
    res.locals.t = (key: string, values: Record<string, string | number | bigint> = {}) => t(lang, key, values);
    res.locals.fmt = (n: number | bigint) => formatInteger(n, lang);
    res.locals.status = (s: string) => statusText(lang, s);
    res.locals.tn = (key: string, count: number, values: Record<string, string | number | bigint> = {}) => tn(lang, key, count, values);
    res.locals.url = urls(lang, req.query.present === '1', req.query.quiz === '1', base);
    res.locals.path = req.path;
    res.locals.query = req.query;
    res.locals.shared = options.shared === true;
    res.locals.hasLessons = lessons.length > 0;
    res.locals.sharedAt = options.sharedAt ?? [];
    res.locals.hasLive = options.live !== undefined;
    res.locals.present = req.query.present === '1';
    // Until the role check has run (an error page before it), nobody is the teacher.
    res.locals.teacher ??= false;
  };
  const roles = options.teacherToken === undefined ? null : new Roles(options.teacherToken, cookieName(TEACHER_COOKIE, options.port));
  app.use('/static', express.static(path.join(root, 'views', 'static'), { maxAge: '1h', index: false }));
  app.use((req, res, next) => {
    // The site takes no request bodies.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('Only GET and HEAD are served.');
      return;
    }
    // The same address shows another page to the teacher and in another language: caches must not mix them.
    res.vary('Cookie');
    res.vary('Accept-Language');
    // A language chosen in the address sticks: later pages without `?lang=` keep it.
    if (isLang(req.query.lang) && readCookie(req.headers.cookie, langCookie) !== req.query.lang) {
      res.cookie(langCookie, req.query.lang, { sameSite: 'lax', path: '/', maxAge: 365 * 24 * 3600 * 1000 });
    }
    const decision = roles ? roles.decide(req) : ({ kind: 'role', role: 'teacher' } as const);
    if (decision.kind === 'sign-in') {
      roles!.signIn(res);
      res.set('Cache-Control', 'no-store');
      res.redirect(303, decision.location);
      return;
    }
    if (decision.kind === 'refuse') {
      roles!.forget(res);
      setLocals(req, res);
      next(new HttpError(403, 'error.badTeacherPass'));
      return;
    }
    res.locals.teacher = decision.role === 'teacher';
    setLocals(req, res);
    next();
  });
  /** Refuses a student a teacher's page with a 403. */
  const teacherOnly = (_req: Request, res: Response, next: NextFunction): void => {
    next(res.locals.teacher === true ? undefined : new HttpError(403, 'error.teacherOnly'));
  };

  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };

  const homeOrdered = new WeakMap<readonly CaptureEntry[], CaptureEntry[]>();
  /** One page of the captures in the home page's order, from the store's index: only the page is worded. */
  const listCaptures = async (req: Request, lang: Lang) => {
    const all = await options.store.summaries();
    // The store gives the same array until a capture changes: its order is kept until then.
    const ordered = homeOrdered.get(all) ?? homeOrder(all);
    homeOrdered.set(all, ordered);
    const pages = Math.max(1, Math.ceil(ordered.length / CAPTURES_PER_PAGE));
    const page = req.query.page === undefined ? 1 : positiveInt(req.query.page, 'page');
    if (page > pages) throw new HttpError(404, 'home.noPage', { page: String(req.query.page), pages });
    const captures = ordered.slice((page - 1) * CAPTURES_PER_PAGE, page * CAPTURES_PER_PAGE).map((e) => summarize(e, lang));
    return { captures, page, pages, total: ordered.length };
  };

  app.get('/', wrap(async (req, res) => {
    const list = await listCaptures(req, res.locals.lang as Lang);
    res.render('home', { groups: groupCaptures(list.captures), paging: list });
  }));

  app.get('/captures/:id', wrap(async (req, res) => {
    const id = String(req.params.id);
    const view = await cache.use(id, ({ reader, dissection }) => loadOverview(id, reader, dissection, res.locals.lang as Lang));
    res.render('capture', { view });
  }));

  app.get('/captures/:id/wire', wrap(async (req, res) => {
    const id = String(req.params.id);
    const page = req.query.page === undefined ? 1 : positiveInt(req.query.page, 'page');
    let sampleLesson: string | undefined;
    const view = await cache.use(id, ({ reader }) => {
      sampleLesson = reader.meta.sample?.lesson;
      return loadWirePage(id, reader, page, res.locals.lang as Lang);
    }).catch((err: unknown) => {
      if (!(err instanceof WirePageError)) throw err;
      throw err.kind === 'none' ? new HttpError(404, 'error.wireNone', { id }) : new HttpError(404, 'error.wirePage', { page, pages: err.pages });
    });
    const lesson = sampleLesson === undefined ? undefined : findLesson(lessons, sampleLesson, res.locals.lang as Lang);
    res.render('wire', { view, lesson: lesson ? { slug: lesson.slug, title: lesson.title } : null });
  }));

  app.get('/captures/:id/steps/:n', wrap(async (req, res) => {
    const by = byOf(req);
    const n = positiveInt(req.params.n, 'step');
    const page = req.query.page === undefined ? null : positiveInt(req.query.page, 'page');
    const id = String(req.params.id);
    const lang = res.locals.lang as Lang;
    const quiz = req.query.quiz === '1' && by === 'field';
    let sampleLesson: string | undefined;
    const { step, tree } = await cache.use(id, async ({ reader, dissection }) => {
      sampleLesson = reader.meta.sample?.lesson;
      checkStep(n, stepCount(reader, dissection, by));
      // Presenter mode pages long dumps so that a step fits a 1280x720 projector.
      const limits = req.query.present === '1' ? PRESENTER_LIMITS : SCREEN_LIMITS;
      const step = await loadStep(id, reader, dissection, by, n, lang, page, quiz ? QUIZ_CONTEXT : 0, limits);
      // The tree marks the field of a field step, or the first field a write or read carried.
      const current = by === 'field' ? n - 1 : step.fields.length > 0 ? step.switchStep - 1 : null;
      return { step, tree: quiz ? null : await loadFieldTree(dissection, current, lang) };
    });
    // A quiz's page holds the question, not the answer: the field's place stays here until asked.
    if (quiz) res.render('step', { step: blindStep(step), tree, lesson: null, quiz, quizTitle: step.fields[0]?.title ?? step.title });
    else {
      const lesson = lessonFor(lessons, step, lang);
      // The lesson the capture was recorded for, when it is not the one already linked.
      const own = sampleLesson === undefined ? undefined : findLesson(lessons, sampleLesson, lang);
      res.render('step', { step, tree, lesson, sampleLesson: own && own.slug !== lesson?.slug ? { slug: own.slug, title: own.title } : null, quiz });
    }
  }));

  app.get('/api/captures/:id/steps/:n/quiz', wrap(async (req, res) => {
    const n = positiveInt(req.params.n, 'step');
    const at = typeof req.query.at === 'string' && /^[0-9]{1,15}$/.test(req.query.at) ? Number(req.query.at) : null;
    if (at === null) throw new HttpError(400, 'error.quizAt');
    const id = String(req.params.id);
    const step = await cache.use(id, ({ reader, dissection }) => {
      checkStep(n, stepCount(reader, dissection, 'field'));
      return loadStep(id, reader, dissection, 'field', n, res.locals.lang as Lang, null);
    });
    res.type('application/json').send(toJson(quizVerdict(step, at)));
  }));

  app.get('/lessons', (_req, res) => {
    res.render('lessons', { lessons: lessonsIn(lessons, res.locals.lang as Lang) });
  });

  app.get('/lessons/:slug', wrap(async (req, res) => {
    const lang = res.locals.lang as Lang;
    const lesson = findLesson(lessons, String(req.params.slug), lang);
    if (!lesson) throw new HttpError(404, 'error.no-lesson', { slug: String(req.params.slug) });
    // A reader whose default is not English needs `lang=` in every link to keep English.
    const parts = await renderLessonParts(cache, lesson, lang, res.locals.teacher === true, defaultLangOf(req) !== 'en');
    const list = lessonsIn(lessons, lesson.lang);
    const at = list.findIndex((l) => l.slug === lesson.slug);
    res.render('lesson', { lesson, parts, prev: list[at - 1] ?? null, next: list[at + 1] ?? null });
  }));

  const live = options.live;
  if (live) {
    app.get('/live', (_req, res) => {
      res.render('live', { transfers: live.snapshot(res.locals.lang as Lang), lab: options.lab ?? null });
    });
    app.get('/live/events', (req, res) => live.stream(req, res, res.locals.lang as Lang));
  }

  const reportDir = options.reportDir;
  if (reportDir !== undefined) {
    app.get('/report', teacherOnly, wrap(async (req, res) => {
      // The reader's language like every page (address, cookie, Accept-Language); else the report's own.
      const lang = isLang(req.query.lang) ? req.query.lang : readerLangOf(req, langCookie);
      try {
        res.type('html').send(await renderServedReport(reportDir, lang));
      } catch (err) {
        if (err instanceof ReportError) throw new HttpError(422, 'error.report', { message: err.message });
        throw err;
      }
    }));
  }

  app.get('/api/captures', wrap(async (req, res) => {
    res.type('application/json').send(toJson(await listCaptures(req, res.locals.lang as Lang)));
  }));

  app.get('/api/captures/:id', wrap(async (req, res) => {
    const id = String(req.params.id);
    const { from, limit } = fieldPage(req.query.fields);
    const body = await cache.use(id, async ({ reader, dissection }) => ({
      ...(await loadOverview(id, reader, dissection, res.locals.lang as Lang)),
      fields: (await dissection.fields(from, limit)).map((e) => e.field),
      fieldsPage: { from, limit, total: dissection.fieldCount },
    }));
    res.type('application/json').send(toJson(body));
  }));

  app.get('/api/captures/:id/steps/:n', wrap(async (req, res) => {
    const by = byOf(req);
    const n = positiveInt(req.params.n, 'step');
    const page = req.query.page === undefined ? null : positiveInt(req.query.page, 'page');
    const id = String(req.params.id);
    const step = await cache.use(id, ({ reader, dissection }) => {
      checkStep(n, stepCount(reader, dissection, by));
      return loadStep(id, reader, dissection, by, n, res.locals.lang as Lang, page);
    });
    res.type('application/json').send(toJson(step));
  }));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new HttpError(404, 'error.nothing-at', { path: req.path }));
  });

  // Errors become a page (or JSON under /api) with the right status; never a stack trace.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let status = 500;
    let kind = 'internal';
    let message = 'an internal error; the server’s log says more';
    const lang = langOf(req);
    if (err instanceof HttpError) {
      status = err.status;
      kind = STEP_ERRORS.includes(err.key) ? 'no-step' : status === 403 ? 'forbidden' : 'bad-request';
      // Pages speak their language; the API speaks English.
      message = req.path.startsWith('/api/') ? err.message : t(lang, err.key, err.values);
    } else if (isClientError(err)) {
      // The router's own refusals (a malformed %-escape in the path): the visitor's mistake, not ours.
      status = 400;
      message = t(req.path.startsWith('/api/') ? 'en' : lang, 'error.bad-path');
    } else if (err instanceof CaptureError) {
      status = err.code === 'not-found' ? 404 : 422;
      kind = err.code === 'not-found' ? 'not-found' : err.code === 'unsupported-version' ? 'unsupported-version' : 'damaged';
      message = err.message;
    } else if (err instanceof StepRangeError) {
      status = 404;
      kind = 'no-step';
      message = `no such step (${err.message})`;
    } else {
      console.error(err);
    }
    // Paths inside messages would tell a visitor where files live: show names only.
    message = message.replace(/(?:\/[^\s/:]+)+\/([^\s/:]+)/g, '$1');
    res.status(status);
    if (req.path.startsWith('/api/')) {
      res.type('application/json').send(toJson({ error: { status, message } }));
      return;
    }
    // An error before the locals middleware (a bad static request) still gets a whole page.
    if (res.locals.t === undefined) setLocals(req, res);
    res.render('error', { status, message, kind });
  });

  return Object.assign(app, { closeCaptures: () => cache.closeAll() });
}
