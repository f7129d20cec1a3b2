import { dissect, encodeCount, encodeName, encodeSize, encodeTransfer } from '../protocol/index.js';
import type { CheckGroup } from './types.js';

const te = new TextEncoder();

/**
 * How the grader writes a connection's bytes. Each write is handed to the system alone (Nagle
 * off, the next write only once the last one was taken), so the server's reads see the cuts
 * unless it is slower than the grader.
 */
export type WritePlan =
  /** All the bytes in one write. */
  | { readonly kind: 'whole' }
  /** Writes of `size` bytes (the last may be shorter). */
  | { readonly kind: 'chunks'; readonly size: number }
  /** Each field cut in two at its middle, with a pause of `pauseMs` ms between the halves. */
  | { readonly kind: 'pause-in-fields'; readonly pauseMs: number }
  /** Every write ends one byte into the next field (each boundary falls inside a write), `pauseMs` ms apart. */
  | { readonly kind: 'across-boundaries'; readonly pauseMs: number };

/**
 * What a case does besides sending: `send` writes its transfers one connection after the other
 * and ends each (FIN, or RST with `reset`); `stall` connects, sends the first bytes and goes
 * silent; `two-clients` holds one connection open mid-payload while a second one sends.
 */
export type CaseBehaviour = 'send' | 'stall' | 'two-clients';

/** What a case's bytes may depend on: paths the grader chose for this run. */
export interface CaseContext {
  /** An absolute path of a file the grader watches, outside the server's folder (for the absolute-name case). */
  readonly absoluteTarget: string;
}

/** One case of the server battery, as data: what to send and how; `server.ts` judges it. */
export interface ServerCase {
  /** `<group>.<name>`: the check's id in reports, tests and words (`check.<id>`). */
  readonly id: string;
  readonly group: CheckGroup;
  readonly points: number;
  /** Lesson slug (a file of lessons/ without its language). */
  readonly lesson: string;
  /** The bytes of each connection, in order. */
  transfers(ctx: CaseContext): Uint8Array[];
  readonly plan: WritePlan;
  readonly behaviour: CaseBehaviour;
  /** End the connection with a reset after `resetAfter` bytes instead of sending everything and a FIN. */
  readonly resetAfter?: number;
  /** After the case, a small correct transfer must still be saved (the server serves the next client). */
  readonly probe: boolean;
  /** Whether judging needs the server's folder (false: `--connect` can run it, judging only how the server ends the connections and serves the next client). */
  readonly needsFolder: boolean;
}

/** 3 MiB holding every byte value, 0x00 to 0xFF, over and over. */
const EVERY_BYTE = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 256);
const text = (s: string): Uint8Array => te.encode(s);
const join = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The reference client's ten files (`arquivo_1.txt` … `arquivo_10.txt`). */
export function referenceTransfer(): Uint8Array {
  return encodeTransfer(Array.from({ length: 10 }, (_, i) => ({ name: `arquivo_${i + 1}.txt`, data: text(`Este é o conteúdo do arquivo ${i + 1}\n`) })));
}

/** A 1000-byte text file's payload, for the cut and lying cases. */
const THOUSAND = text('0123456789'.repeat(100));
/** One whole file `truncado.txt` of 1000 bytes. */
const truncated = (): Uint8Array => encodeTransfer([{ name: 'truncado.txt', data: THOUSAND }]);
/** A name of exactly 128 bytes: no padding at all. */
const NAME_128 = `${'nome_de_exatamente_128_bytes_'.repeat(5).slice(0, 124)}.txt`;
/** A name of 140 bytes: the reference client sends it whole and derails the receiver. */
const NAME_140 = `${'relatorio_final_da_disciplina_de_redes_'.repeat(4).slice(0, 136)}.txt`;

const send = (id: string, group: CheckGroup, lesson: string, transfers: (ctx: CaseContext) => Uint8Array[], more: Partial<ServerCase> = {}): ServerCase => ({
  id,
  group,
  points: 1,
  lesson,
  transfers,
  plan: { kind: 'whole' },
  behaviour: 'send',
  probe: group !== 'correct' && group !== 'stream',
  // Bad input is judged by what the server saved and refused: without its folder, nothing to judge.
  needsFolder: group === 'security' || group === 'bad-input',
  ...more,
});

/**
 * The battery, in the order it runs: issue 15's cases, grouped as a teacher thinks of them.
 * A case's expected outcome is not stored here: the grader learns it by running the case's bytes
 * through the receiver's own session (see `server.ts`).
 */
export const SERVER_CASES: readonly ServerCase[] = [
  send('correct.ten-files', 'correct', 'framing', () => [referenceTransfer()], { points: 2 }),
  send('correct.zero-files', 'correct', 'framing', () => [encodeCount(0)]),
  send('correct.empty-file', 'correct', 'framing', () => [encodeTransfer([{ name: 'vazio.txt', data: new Uint8Array(0) }])]),
  send('correct.accented-name', 'correct', 'text-in-fields', () => [encodeTransfer([{ name: 'relatório_ação.txt', data: text('Relatório da ação de extensão.\n') }])]),
  send('correct.name-of-128-bytes', 'correct', 'text-in-fields', () => [encodeTransfer([{ name: NAME_128, data: text('sem espaço de preenchimento\n') }])]),
  send('correct.inner-spaces', 'correct', 'text-in-fields', () => [encodeTransfer([{ name: 'notas da aula 7.txt', data: text('Aula 7: sockets.\n') }])]),
  send('correct.binary-3mib', 'correct', 'exact-reads', () => [encodeTransfer([{ name: 'todos_os_bytes.bin', data: EVERY_BYTE }])], { points: 2 }),
  send('correct.two-transfers', 'correct', 'sockets', () => [
    encodeTransfer([{ name: 'primeira.txt', data: text('primeira conexão\n') }]),
    encodeTransfer([{ name: 'segunda.txt', data: text('segunda conexão\n') }]),
  ]),

  send('stream.one-byte-writes', 'stream', 'byte-stream', () => [referenceTransfer()], { plan: { kind: 'chunks', size: 1 }, points: 2 }),
  send('stream.seven-byte-writes', 'stream', 'byte-stream', () => [referenceTransfer()], { plan: { kind: 'chunks', size: 7 }, points: 2 }),
  send('stream.pauses-in-fields', 'stream', 'exact-reads', () => [referenceTransfer()], { plan: { kind: 'pause-in-fields', pauseMs: 50 } }),
  send('stream.across-boundaries', 'stream', 'exact-reads', () => [referenceTransfer()], { plan: { kind: 'across-boundaries', pauseMs: 20 } }),

  send('bad-input.cut-in-count', 'bad-input', 'broken-streams', () => [truncated().subarray(0, 2)]),
  send('bad-input.cut-in-name', 'bad-input', 'broken-streams', () => [truncated().subarray(0, 4 + 60)]),
  send('bad-input.cut-in-size', 'bad-input', 'broken-streams', () => [truncated().subarray(0, 4 + 128 + 3)]),
  send('bad-input.cut-in-payload', 'bad-input', 'broken-streams', () => [truncated().subarray(0, 4 + 128 + 8 + 400)], { points: 2 }),
  send('bad-input.count-over-files', 'bad-input', 'broken-streams', () => [
    join(encodeCount(3), encodeName('um.txt'), encodeSize(3), text('um\n'), encodeName('dois.txt'), encodeSize(5), text('dois\n')),
  ]),
  send('bad-input.trailing-bytes', 'bad-input', 'framing', () => [join(encodeTransfer([{ name: 'antes.txt', data: text('antes\n') }]), text('bytes a mais'))]),
  send('bad-input.invalid-utf8', 'bad-input', 'text-in-fields', () => [encodeTransfer([{ name: Uint8Array.from([0x6e, 0xe3, 0x6f, 0x2e, 0x74, 0x78, 0x74]), data: text('latin-1\n') }])]),
  send('bad-input.nul-in-name', 'bad-input', 'trust', () => [encodeTransfer([{ name: 'nulo\0.txt', data: text('nul\n') }])]),
  send('bad-input.name-over-128', 'bad-input', 'text-in-fields', () => [encodeTransfer([{ name: NAME_140, data: text('conteúdo\n') }])], { points: 2 }),
  // The first file says 5 bytes and carries 13: the 8 left over become the start of the next name.
  send('bad-input.lying-size', 'bad-input', 'framing', () => [
    join(encodeCount(2), encodeName('mentira.txt'), encodeSize(5), text('mentira longa'), encodeName('depois.txt'), encodeSize(7), text('depois\n')),
  ]),
  // 2^64-1 announced, 100 bytes sent: a server must not wait for (or save) 16 EiB.
  send('bad-input.size-2-64', 'bad-input', 'trust', () => [join(encodeCount(1), encodeName('enorme.bin'), encodeSize(0xffff_ffff_ffff_ffffn), new Uint8Array(100).fill(0x41))]),

  send('security.relative-traversal', 'security', 'trust', () => [encodeTransfer([{ name: '../../escapou.txt', data: text('fora da pasta\n') }])], { points: 2 }),
  send('security.absolute-name', 'security', 'trust', (ctx) => [encodeTransfer([{ name: ctx.absoluteTarget, data: text('caminho absoluto\n') }])], { points: 2 }),
  send('security.html-name', 'security', 'trust', () => [encodeTransfer([{ name: '<img src=x onerror=alert(1)>.txt', data: text('html\n') }])]),

  // The stall sends half of the count and goes silent: one scenario, judged as two checks.
  { ...send('robustness.stall-serves-next', 'robustness', 'scale', () => [truncated().subarray(0, 2)]), behaviour: 'stall', probe: false },
  { ...send('robustness.stall-times-out', 'robustness', 'scale', () => [truncated().subarray(0, 2)]), behaviour: 'stall', probe: false },
  {
    ...send('robustness.two-clients', 'robustness', 'scale', () => [
      encodeTransfer([{ name: 'lento.txt', data: THOUSAND }]),
      encodeTransfer([{ name: 'rapido.txt', data: text('rápido\n') }]),
    ]),
    behaviour: 'two-clients',
    probe: false,
  },
  send('robustness.reset-mid-payload', 'robustness', 'broken-streams', () => [truncated()], { resetAfter: 4 + 128 + 8 + 400 }),
];

/** The two checks the stall scenario gives, judged from one run. */
export const STALL_CHECKS = ['robustness.stall-serves-next', 'robustness.stall-times-out'] as const;

/** Where each field of `bytes` starts, as the dissector reads it: offsets of every field boundary, ascending, without 0. */
export function fieldBoundaries(bytes: Uint8Array): number[] {
  const ends = new Set<number>();
  for (const e of dissect(bytes)) if (e.type === 'field') ends.add(e.field.offset + e.field.length);
  return [...ends].filter((n) => n > 0 && n < bytes.length).sort((a, b) => a - b);
}

/** The field (`file[2].size`) holding stream offset `offset` of `bytes`, as the dissector reads them; undefined past the end. */
export function fieldAt(bytes: Uint8Array, offset: number): string | undefined {
  for (const e of dissect(bytes)) {
    if (e.type !== 'field') continue;
    const f = e.field;
    if (offset >= f.offset && (offset < f.offset + f.length || (f.length === 0 && offset === f.offset))) return f.id;
  }
  return undefined;
}

/**
 * The writes `plan` cuts `bytes` into, and the pause in ms before each (0: none). Pure: the
 * grader writes them.
 */
export function cutForPlan(bytes: Uint8Array, plan: WritePlan): { piece: Uint8Array; pauseMs: number }[] {
  const cuts: number[] = [];
  let pause = 0;
  if (plan.kind === 'chunks') {
    for (let at = plan.size; at < bytes.length; at += plan.size) cuts.push(at);
  } else if (plan.kind === 'pause-in-fields' || plan.kind === 'across-boundaries') {
    const bounds = [0, ...fieldBoundaries(bytes), bytes.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [start, end] = [bounds[i]!, bounds[i + 1]!];
      // The middle of each field, or one byte past its start.
      const at = plan.kind === 'pause-in-fields' ? start + Math.floor((end - start) / 2) : start + 1;
      if (at > 0 && at < bytes.length && at < end) cuts.push(at);
    }
    pause = plan.pauseMs;
  }
  const out: { piece: Uint8Array; pauseMs: number }[] = [];
  let from = 0;
  for (const at of [...new Set(cuts)].sort((a, b) => a - b)) {
    out.push({ piece: bytes.subarray(from, at), pauseMs: out.length === 0 ? 0 : pause });
    from = at;
  }
  out.push({ piece: bytes.subarray(from), pauseMs: out.length === 0 ? 0 : pause });
  return out.filter((w) => w.piece.length > 0);
}
