import { REFERENCE_CHUNK } from '../protocol/index.js';
/** What a sender option's value is, for the command line to parse it. */
export type SenderOptionValue =
  | { readonly type: 'integer'; readonly arg: string; readonly min: number; readonly max: number }
  /** A byte count with an optional binary unit (`5000`, `4G`), a bigint. */
  | { readonly type: 'bytes'; readonly arg: string }
  /** A switch: present or not. */
  | { readonly type: 'flag' };

/** One sender option that shapes the stream: how `wirestep send` spells it and `capture.json` stores it. */
export interface SenderOptionSpec {
  /** Its key in the sender's options and in `capture.json` `options`. */
  readonly key: 'chunk' | 'delayMs' | 'jitterMs' | 'writePerField' | 'stopAfter' | 'lieSize' | 'padNameTo' | 'count';
  /** The `wirestep send` flag, which every page and language shows as it is: it is what to type. */
  readonly flag: string;
  readonly value: SenderOptionValue;
  /** The value when not given; a capture holding it shows no option. */
  readonly default?: number;
  /** A staged fault (stored only when set), rather than an ordinary setting (always stored). */
  readonly fault: boolean;
  /** `wirestep send --help` text (the command line speaks English). */
  readonly help: string;
}

/**
 * The sender options that shape the stream, in `--help` order: the sender reads the faults to
 * store, the CLI builds its flags, the overview names the ones a capture used. Adding a fault is
 * one row here (and its effect in the sender).
 */
export const SENDER_OPTIONS: readonly SenderOptionSpec[] = [
  { key: 'chunk', flag: '--chunk', value: { type: 'integer', arg: '<bytes>', min: 1, max: 1 << 26 }, default: 1024, fault: false, help: 'largest write, in bytes; every field is cut into writes of at most this size' },
  { key: 'delayMs', flag: '--delay-ms', value: { type: 'integer', arg: '<ms>', min: 0, max: 600_000 }, default: 0, fault: false, help: 'pause between writes' },
  { key: 'jitterMs', flag: '--jitter-ms', value: { type: 'integer', arg: '<ms>', min: 0, max: 600_000 }, default: 0, fault: true, help: 'a random extra pause of 0 to this many ms before each write' },
  { key: 'writePerField', flag: '--write-per-field', value: { type: 'flag' }, fault: true, help: 'one write per field, payloads whole (up to 64 MiB)' },
  { key: 'stopAfter', flag: '--stop-after', value: { type: 'integer', arg: '<bytes>', min: 0, max: Number.MAX_SAFE_INTEGER }, fault: true, help: 'close the connection after this many bytes' },
  { key: 'lieSize', flag: '--lie-size', value: { type: 'bytes', arg: '<bytes>' }, fault: true, help: 'declare this size for every file' },
  { key: 'padNameTo', flag: '--pad-name-to', value: { type: 'integer', arg: '<bytes>', min: 0, max: 1 << 20 }, fault: true, help: 'pad names to this many bytes instead of 128 (longer names go whole, as the reference sends them)' },
  { key: 'count', flag: '--count', value: { type: 'integer', arg: '<n>', min: 0, max: 0xffff_ffff }, fault: true, help: 'declare this many files' },
];

const BY_KEY = new Map(SENDER_OPTIONS.map((s) => [s.key as string, s]));

/** Whether `value` of option `spec` is set to something other than its default. */
function isSet(spec: SenderOptionSpec, value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== spec.default;
}

/** The staged faults set in `options`, as `capture.json` stores them (bigints as decimal strings). */
export function storedFaults(options: Readonly<Partial<Record<SenderOptionSpec['key'], unknown>>>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const spec of SENDER_OPTIONS) {
    const v = options[spec.key];
    if (!spec.fault || !isSet(spec, v)) continue;
    out[spec.key] = typeof v === 'bigint' ? v.toString() : (v as string | number | boolean);
  }
  return out;
}

/**
 * What `capture.json` stores of a sender's options: the write size and pause it ran with
 * (defaults filled in, as the course's client: 1024-byte writes, no pause) and its staged faults.
 */
export function storedSenderOptions(options: Readonly<Partial<Record<SenderOptionSpec['key'], unknown>>>): Record<string, string | number | boolean> {
  return { chunk: (options.chunk as number | undefined) ?? REFERENCE_CHUNK, delayMs: (options.delayMs as number | undefined) ?? 0, ...storedFaults(options) };
}

/** The options of a capture that shaped its stream, as `wirestep send` flags (`--chunk 7`), in the capture's order. */
export function senderFlags(options: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(options)) {
    const spec = BY_KEY.get(key);
    if (spec && isSet(spec, v)) out.push(v === true ? spec.flag : `${spec.flag} ${String(v)}`);
  }
  return out;
}
