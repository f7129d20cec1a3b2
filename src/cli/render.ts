import type { Field } from '../protocol/index.js';
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
export function renderStepText(step: StepView, color: boolean): string {
  const paint = (kind: Field['kind'] | null, s: string): string => (color && kind ? `${COLORS[kind]}${s}${RESET}` : s);
  const out: string[] = [];
  const by = step.by === 'field' ? 'by field' : 'by operation';
  out.push(`── step ${step.n}/${step.total} (${by}): ${step.title}`);
  if (step.event) {
    out.push(`   ${step.event.time}  ${step.event.side} ${step.event.type}`);
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
    if (block.gapAfter > 0) out.push(color ? `${DIM}   … ${block.gapAfter} bytes not shown …${RESET}` : `   … ${block.gapAfter} bytes not shown …`);
  }
  for (const f of step.fields) {
    const value = f.value === null ? '' : ` = ${f.value}`;
    out.push(paint(f.kind, `${f.id}`) + ` at offset ${f.offset}, ${f.length} of ${f.expected} bytes${value}`);
    if (f.littleEndian !== null) out.push(`   (read little-endian it would be ${f.littleEndian})`);
    if (f.referenceName !== null) out.push(`   (the reference server.py would save it as ${JSON.stringify(f.referenceName)})`);
    out.push(`   ${f.explanation}`);
  }
  for (const c of step.carriers) {
    if (c.total === 0) continue;
    const list = c.events.map((e) => `#${e.step} (${e.length} bytes at ${e.offset})`).join(', ');
    const more = c.total > c.events.length ? `, and ${c.total - c.events.length} more` : '';
    out.push(`   carried by ${c.total} ${c.side === 'sender' ? 'write' : 'read'}${c.total === 1 ? '' : 's'}: ${list}${more}`);
  }
  if (step.stateAfter) out.push(`   ${step.stateAfter.description}`);
  for (const p of step.problems) out.push(`   ${p.severity === 'error' ? '✗' : '!'} ${p.kind}: ${p.message}`);
  return `${out.join('\n')}\n`;
}
