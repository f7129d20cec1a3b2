import { type Field, type Lang, escapeControls } from '../protocol/index.js';
import { t, tn } from '../web/i18n.js';
import type { CaptureMeta } from '../capture/index.js';
import { programViews } from '../web/overview.js';
import type { StepView } from '../web/steps.js';

const COLORS: Readonly<Record<Field['kind'], string>> = {
  count: '\x1b[35m',
  name: '\x1b[36m',
  size: '\x1b[33m',
  payload: '\x1b[32m',
  trailing: '\x1b[31m',
};

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const SPACE_MARK = '·';

/**
 * A step as terminal text: the hex rows (laid out by hexy, bytes outside the step left blank),
 * then each field with its offset, value and explanation. `color` adds ANSI colours per field.
 */
export function renderStepText(step: StepView, color: boolean, lang: Lang): string {
  const paint = (kind: Field['kind'] | null, s: string): string => (color && kind ? `${COLORS[kind]}${s}${RESET}` : s);
  const out: string[] = [];
  const safe = escapeControls;
  out.push(`── ${t(lang, 'step.position', { n: step.n, total: step.total })} (${t(lang, `step.by.${step.by === 'op' && step.segments ? 'segment' : step.by}`)}): ${safe(step.title)}`);
  if (step.event) {
    out.push(`   ${step.event.time}  ${t(lang, `side.${step.event.side}`)}: ${t(lang, `event.kind.${step.event.type}`)}`);
    const call = step.event.call;
    if (call) {
      const marks = [...(call.partial ? [t(lang, 'call.partialMark')] : []), ...(call.short ? [t(lang, 'call.shortMark')] : [])];
      out.push(`   ${safe(call.text)}${marks.length > 0 ? ` [${marks.join(', ')}]` : ''}`);
      for (const note of call.notes) out.push(`   ${note}`);
    }
  }
  for (const block of step.blocks) {
    for (const row of block.rows) {
      let hex = '';
      let text = '';
      for (let i = 0; i < 16; i++) {
        const c = row.cells[i];
        if (!c || !c.inFocus) {
          hex += '   ';
          text += ' ';
          continue;
        }
        hex += `${paint(c.kind, c.hex)} `;
        text += paint(c.kind, c.padding ? SPACE_MARK : c.char);
      }
      out.push(`${row.address}: ${hex}  ${text}`);
    }
    if (block.gapAfter > 0) {
      const gap = `   ${t(lang, 'step.gap', { n: block.gapAfter })}`;
      out.push(color ? `${DIM}${gap}${RESET}` : gap);
    }
  }
  for (const f of step.fields) {
    const value = f.value === null ? '' : ` = ${safe(f.value)}`;
    out.push(`${paint(f.kind, f.id)} ${tn(lang, 'dump.field', Number(f.expected), { offset: f.offset, length: f.length, expected: f.expected })}${value}`);
    if (f.portion) {
      const key = step.event?.side === 'sender' ? 'field.portionWrite' : 'field.portionRead';
      out.push(`   ${t(lang, key, { n: f.portion.length, of: f.length, from: f.portion.from, to: f.portion.to })}`);
    }
    out.push(`   ${safe(f.explanation)}`);
    if (f.littleEndian !== null) out.push(`   ${t(lang, 'dump.littleEndian', { value: f.littleEndian })}`);
    if (f.referenceName !== null) out.push(`   ${t(lang, 'field.reference')} ${safe(JSON.stringify(f.referenceName))}`);
    for (const p of f.problems) out.push(`   ${p.severity === 'error' ? '✗' : '!'} ${p.kind}: ${safe(p.message)}`);
  }
  if (step.fieldsMore) out.push(t(lang, 'step.fieldsMore', { n: step.fields.length }));
  for (const c of step.carriers) {
    if (c.total === 0) continue;
    // An operation is named by the option that shows it, never as a bare "step": in field mode that would read as a field.
    const list = c.events
      .map((e) => (e.step === null ? tn(lang, 'step.segmentChip', e.length, { n: e.length, offset: e.offset, time: e.time }) : `${tn(lang, 'dump.chip', e.length, { step: e.step, n: e.length, offset: e.offset })}${e.call ? ` ${safe(e.call.label)}` : ''}`))
      .join(', ');
    const more = c.moreCount > 0 ? `, ${t(lang, 'step.more', { n: c.moreCount })}` : '';
    out.push(`   ${tn(lang, `step.carriedBy.${c.side}`, c.total, { n: c.total })}: ${list}${more}`);
  }
  if (step.stateAfter) out.push(`   ${safe(step.stateAfter.description)}`);
  if (step.beyondStream) out.push(`   ${step.beyondStream}`);
  for (const note of step.damaged) out.push(`   ${note}`);
  for (const p of step.problems) out.push(`   ${p.severity === 'error' ? '✗' : '!'} ${p.kind}: ${safe(p.message)}`);
  return `${out.join('\n')}\n`;
}

/**
 * The programs that made a capture's calls (`programs`), one line each, and where wirestep's own
 * sender recorded, that Node may join its writes; empty for captures that name no program.
 */
export function renderProgramsText(meta: CaptureMeta, lang: Lang): string {
  const lines = programViews(meta, lang).map((p) => {
    const details = [p.via, ...(p.runtime ? [p.runtime] : []), ...(p.pid !== null ? [`pid ${p.pid}`] : [])].join(', ');
    return `${t(lang, 'capture.programs')}: ${t(lang, `side.${p.side}`)}: ${escapeControls(p.name)} (${details})${p.command ? ` ${escapeControls(p.command)}` : ''}`;
  });
  if (meta.programs?.sender?.via === 'wirestep' && meta.calls?.includes('sender')) lines.push(t(lang, 'capture.joined'));
  return lines.map((l) => `${l}\n`).join('');
}
