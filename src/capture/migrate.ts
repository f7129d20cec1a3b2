import type { Reason, UnsafeReason } from '../protocol/index.js';
import { CAPTURE_VERSION, type CaptureMeta } from './format.js';

type Migration = (meta: Record<string, unknown>) => Record<string, unknown>;

/** `1,200` as version 2 wrote numbers (en-US), as a decimal string. */
const digits = (s: string): string => s.replace(/,/g, '');
const NUM = '([\\d,]+)';

/** The English templates version 2 wrote, each with the kind it meant. */
const OLD_TEMPLATES: readonly [RegExp, (m: RegExpExecArray) => Reason][] = [
  [/^no bytes for ([\d.]+) s: the receiver cut the connection$/, (m) => ({ kind: 'idle-timeout', seconds: Number(m[1]) })],
  [/^the receiver was shut down during the transfer$/, () => ({ kind: 'shutdown' })],
  [new RegExp(`^The count announces ${NUM} files, above the receiver’s limit of ${NUM} files\\.$`), (m) => ({ kind: 'count-over-limit', count: Number(digits(m[1]!)), limit: Number(digits(m[2]!)) })],
  [new RegExp(`^At offset ${NUM} the size of file (\\d+) says ${NUM} bytes, above the receiver’s limit of ${NUM} bytes\\.$`), (m) => ({ kind: 'size-over-limit', file: Number(m[2]), size: digits(m[3]!), limit: digits(m[4]!) })],
  [new RegExp(`^the files announced so far add up to ${NUM} bytes, above the limit of ${NUM} for one connection \\(--max-total-bytes\\)$`), (m) => ({ kind: 'total-over-limit', total: digits(m[1]!), limit: digits(m[2]!) })],
  [/^The name of file \d+, at offset [\d,]+, is not valid UTF-8/, () => ({ kind: 'name-invalid-utf8' })],
  [/^The name “[^]*” is refused \(([^]*)\): written as given/, (m) => ({ kind: 'name-unsafe', reasons: unsafeReasons(m[1]!) })],
  [new RegExp(`^the stream ended at byte ${NUM}, before the whole file came$`), (m) => ({ kind: 'stream-ended', offset: Number(digits(m[1]!)) })],
  [/^cannot write: no free name to save it under$/, () => ({ kind: 'no-free-name' })],
  [/^cannot write: (\d+) of (\d+) bytes reached the disk$/, (m) => ({ kind: 'short-write', written: m[1]!, size: m[2]! })],
  [/^cannot write: .*?\b(E[A-Z0-9]+)\b/, (m) => ({ kind: 'write-failed', code: m[1]! })],
  [/^socket error: .*?\b(E[A-Z0-9]+)\b/, (m) => ({ kind: 'socket-error', code: m[1]! })],
  // The sender stored Node's own error messages.
  [/^(?:read|write|connect) (E[A-Z0-9]+)\b/, (m) => ({ kind: 'socket-error', code: m[1]! })],
  [/^the receiver closed the connection$/, () => ({ kind: 'peer-closed' })],
  [/^stopped on purpose after (\d+) bytes \(--stop-after\)$/, (m) => ({ kind: 'stopped-after', bytes: Number(m[1]) })],
];

/** The phrases version 2 wrote for each unsafe-name reason: frozen here, whatever the tables say now. */
const OLD_REASON_PHRASES: readonly [UnsafeReason, string][] = [
  ['empty', 'it is empty'],
  ['nul', 'it holds a NUL byte'],
  ['control', 'it holds control characters'],
  ['separator', 'it holds a path separator'],
  ['absolute', 'it is an absolute path'],
  ['dot-dot', 'it climbs up with ..'],
  ['dot', 'it names the folder itself'],
  ['drive', 'it starts with a drive letter'],
  ['reserved', 'it is a device name reserved on Windows'],
  ['bidi', 'it holds text-direction controls that make it display as another name'],
];

/** The unsafe-name reasons an English list names ("it holds a NUL byte and it is empty"). */
function unsafeReasons(list: string): UnsafeReason[] {
  // Longest first: "it holds control characters" must not match inside a longer phrase.
  const phrases = [...OLD_REASON_PHRASES].sort((a, b) => b[1].length - a[1].length);
  const found: { at: number; reason: UnsafeReason }[] = [];
  let rest = list;
  for (const [reason, phrase] of phrases) {
    const at = rest.indexOf(phrase);
    if (at < 0) continue;
    found.push({ at, reason });
    rest = rest.slice(0, at) + ' '.repeat(phrase.length) + rest.slice(at + phrase.length);
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.reason);
}

/**
 * The kind an English message of version 2 or earlier meant, with its numbers; a message that
 * matches no template is kept whole as `{ kind: 'text' }`, so nothing is lost.
 */
export function reasonOfOldMessage(message: string): Reason {
  for (const [template, reason] of OLD_TEMPLATES) {
    const m = template.exec(message);
    if (m) return reason(m);
  }
  return { kind: 'text', text: message };
}

/** Version 3 stores reasons as kinds: `outcome.message`, `errors[].message` and `files[].reason` were English. */
function reasonsAsKinds(meta: Record<string, unknown>): Record<string, unknown> {
  const out = { ...meta };
  const outcome = meta.outcome as Record<string, unknown> | undefined;
  if (outcome && typeof outcome === 'object') {
    const { message, ...rest } = outcome;
    out.outcome = typeof message === 'string' ? { ...rest, reason: reasonOfOldMessage(message) } : rest;
  }
  if (Array.isArray(meta.errors)) {
    out.errors = meta.errors.map((e: unknown) => {
      if (!e || typeof e !== 'object') return e;
      const { message, ...rest } = e as Record<string, unknown>;
      return typeof message === 'string' ? { ...rest, reason: reasonOfOldMessage(message) } : e;
    });
  }
  if (Array.isArray(meta.files)) {
    out.files = meta.files.map((f: unknown) => {
      if (!f || typeof f !== 'object') return f;
      const file = f as Record<string, unknown>;
      return typeof file.reason === 'string' ? { ...file, reason: reasonOfOldMessage(file.reason) } : f;
    });
  }
  return out;
}

/**
 * Steps from each older version to the next, keyed by the version they upgrade from
 * (mitmproxy's io/compat.py).
 */
const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // Version 2 added the optional wire lane and segment flags in a byte that was zero.
  1: (meta) => meta,
  2: reasonsAsKinds,
  // Version 4 added calls files and programs, both optional: an older capture has none.
  3: (meta) => meta,
  // Version 5 added payload files; an older capture keeps every byte in stream.bin.
  4: (meta) => meta,
};

/**
 * Brings a parsed `capture.json` of version 1..CAPTURE_VERSION up to the current version.
 * The caller has checked the version is not newer than this code.
 */
export function migrate(raw: Record<string, unknown>): CaptureMeta {
  let meta = raw;
  for (let v = meta.version as number; v < CAPTURE_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`no migration from capture version ${v}`);
    meta = { ...step(meta), version: v + 1 };
  }
  return meta as unknown as CaptureMeta;
}
