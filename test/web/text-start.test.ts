import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureStore } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { TEXT_START_CHARACTERS, startOfText } from '../../src/web/steps.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const app = createApp({ store: new CaptureStore([SAMPLES]) });
const te = new TextEncoder();

afterAll(() => app.closeCaptures());

describe('the start of a text payload on its card', () => {
  it('shows a short text payload whole, in quotes, its line break as ↵, in both languages', async () => {
    const en = await request(app).get('/captures/demo-10-files/steps/4?by=field&lang=en').expect(200);
    expect(en.text).toContain('<p class="text-start"><span class="label">Starts with</span> <q>Este é o conteúdo do arquivo 1↵</q></p>');
    const pt = await request(app).get('/captures/demo-10-files/steps/4?by=field&lang=pt').expect(200);
    expect(pt.text).toContain('<span class="label">Começa com</span> <q>Este é o conteúdo do arquivo 1↵</q>');
    // An operation step's cards too: the write of file 1's contents.
    const op = await request(app).get('/captures/demo-10-files/steps/6?by=op').expect(200);
    expect(op.text).toContain('<q>Este é o conteúdo do arquivo 1↵</q>');
  });

  it('shows nothing for binary data', async () => {
    const res = await request(app).get('/captures/binary-3mib/steps/4?by=field').expect(200);
    expect(res.text).not.toContain('class="text-start"');
  });

  it(`cuts long text at ${TEXT_START_CHARACTERS} characters, never inside a UTF-8 sequence, and marks line breaks`, () => {
    const long = te.encode('é'.repeat(1000));
    // 321 bytes end in the first byte of an é.
    expect(startOfText(long.subarray(0, 321), long.length)).toEqual({ text: 'é'.repeat(TEXT_START_CHARACTERS), more: true });
    expect(startOfText(long.subarray(0, 3), long.length)).toEqual({ text: 'é', more: true });
    expect(startOfText(te.encode('a\nb\r\nc'), 6)).toEqual({ text: 'a↵b↵c', more: false });
    expect(startOfText(new Uint8Array([0x00, 0x01, 0x02]), 3)).toBeNull();
    expect(startOfText(new Uint8Array([0xff, 0x41]), 2)).toBeNull();
    // A payload whose head is cut inside its only character has no text to show yet.
    expect(startOfText(new Uint8Array([0xc3]), 2)).toBeNull();
  });
});
