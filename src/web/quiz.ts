import type { ByteRun, ByteView, DumpRow, StepView } from './steps.js';

/** A byte of a quiz's dump: its value only, nothing of the field that holds it. */
function blindCell(cell: ByteView): ByteView {
  return { ...cell, field: null, kind: null, fieldOffset: 0, padding: false, inFocus: true, problem: false };
}

/** A row of a quiz's dump as one run: where fields start and end is the question, so the markup says nothing of it. */
function blindRow(row: DumpRow): DumpRow {
  const cells = row.cells.map(blindCell);
  const run: ByteRun = { field: null, title: null, label: '', kind: null, step: null, inFocus: true, offset: row.offset, fieldOffset: 0, cells };
  return { ...row, cells, runs: cells.length > 0 ? [run] : [] };
}

/**
 * A field step as a quiz shows it: the bytes and the question's field title, and nothing that
 * gives away where the field starts (no field marks, cards, carriers, problems or state). The
 * answer stays on the server until asked ({@link quizVerdict}).
 */
export function blindStep(step: StepView): StepView {
  return {
    ...step,
    focus: { offset: step.blocks[0]?.rows[0]?.offset ?? 0, length: 0 },
    blocks: step.blocks.map((b) => ({ ...b, rows: b.rows.map(blindRow) })),
    fields: [],
    fieldsMore: false,
    carriers: [],
    stateAfter: null,
    beyondStream: null,
    damaged: [],
    problems: [],
  };
}

/** The answer to a quiz: whether the byte at stream offset `chosen` is where the field starts, and where that is. */
export interface QuizVerdict {
  readonly chosen: number;
  readonly answer: number;
  readonly right: boolean;
}

/** Judges a quiz's answer: `chosen` against the first byte of the step's field (`step.fields[0]`). Throws a RangeError for a step without a field. */
export function quizVerdict(step: StepView, chosen: number): QuizVerdict {
  const field = step.fields[0];
  if (!field) throw new RangeError(`step ${step.n} has no field to ask about`);
  return { chosen, answer: field.offset, right: chosen === field.offset };
}
