import { spawnSync } from 'node:child_process';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { REPORT_FORMATS, renderReport } from '../../src/check/report/index.js';
import type { CheckReport } from '../../src/check/types.js';
import { HOSTILE_NAME } from './report-fixture.js';
import { PYTHON } from '../../scripts/lib/harness.js';

/** A report built by hand, as a checker returns it (no captures needed: these formats only name them). */
function handReport(): CheckReport {
  return {
    target: 'server',
    command: ['python3', 'server.py'],
    lang: 'en',
    startedAt: '2026-11-30T14:05:00.000Z',
    durationMs: 2_501,
    score: 3,
    maxScore: 7,
    checks: [
      { id: 'correct.ten-files', group: 'correct', status: 'pass', points: 2, maxPoints: 2, durationMs: 300 },
      { id: 'correct.empty-file', group: 'correct', status: 'pass', points: 1, maxPoints: 1, durationMs: 120 },
      {
        id: 'bad-input.cut-in-payload',
        group: 'bad-input',
        status: 'fail',
        points: 2,
        maxPoints: 2,
        finding: { kind: 'partial-file-saved', values: { name: 'truncado.txt', saved: 400, size: 1000 } },
        place: { capture: 'captures/bad-input.cut-in-payload', field: 'file[1].payload', offset: 540 },
        output: 'Recebido: truncado.txt\n',
        durationMs: 450,
      },
      {
        id: 'security.html-name',
        group: 'security',
        status: 'fail',
        points: 1,
        maxPoints: 1,
        finding: { kind: 'unsafe-name-saved', values: { name: HOSTILE_NAME } },
        output: `saved ${HOSTILE_NAME}\r\n\u0000\ud800 lone surrogate \uffff`,
        durationMs: 200,
      },
      {
        id: 'robustness.stall',
        group: 'robustness',
        status: 'error',
        points: 1,
        maxPoints: 1,
        finding: { kind: 'grader-error', values: { message: 'connect ECONNREFUSED <127.0.0.1>' } },
        durationMs: 1_431,
      },
    ],
  };
}

/**
 * Gradescope's results.json as its "Autograder Specifications" page documents it: a top-level
 * score (required when the tests carry none), optional execution_time in seconds, output,
 * visibility and stdout_visibility from a fixed set, and tests with numeric score and max_score,
 * status passed or failed, and text fields.
 */
const VISIBILITY = { enum: ['hidden', 'after_due_date', 'after_published', 'visible'] };
const OUTPUT_FORMAT = { enum: ['text', 'html', 'simple_format', 'md', 'ansi'] };
const GRADESCOPE_SCHEMA = {
  type: 'object',
  required: ['score', 'tests'],
  additionalProperties: false,
  properties: {
    score: { type: 'number' },
    execution_time: { type: 'number', minimum: 0 },
    output: { type: 'string' },
    output_format: OUTPUT_FORMAT,
    test_output_format: OUTPUT_FORMAT,
    test_name_format: OUTPUT_FORMAT,
    visibility: VISIBILITY,
    stdout_visibility: VISIBILITY,
    extra_data: { type: 'object' },
    tests: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'score', 'max_score'],
        additionalProperties: false,
        properties: {
          score: { type: 'number' },
          max_score: { type: 'number' },
          status: { enum: ['passed', 'failed'] },
          name: { type: 'string' },
          name_format: OUTPUT_FORMAT,
          number: { type: 'string' },
          output: { type: 'string' },
          output_format: OUTPUT_FORMAT,
          tags: { type: 'array', items: { type: 'string' } },
          visibility: VISIBILITY,
          extra_data: { type: 'object' },
        },
      },
    },
  },
};

describe('the Gradescope results.json', () => {
  it('follows the autograder specification: score, and a test per check with name, score, max_score, status and output', () => {
    const text = renderReport(handReport(), 'gradescope', 'en');
    const results = JSON.parse(text) as { score: number; execution_time: number; tests: { name: string; score: number; max_score: number; status: string; output: string; number: string; tags: string[] }[] };
    const validate = new Ajv({ allErrors: true }).compile(GRADESCOPE_SCHEMA);
    expect(validate(results), JSON.stringify(validate.errors)).toBe(true);
    expect(results.score).toBe(3);
    expect(results.execution_time).toBe(3);
    expect(results.tests.map((t) => [t.tags[1], t.number, t.score, t.max_score, t.status])).toEqual([
      ['correct.ten-files', '1.1', 2, 2, 'passed'],
      ['correct.empty-file', '1.2', 1, 1, 'passed'],
      ['bad-input.cut-in-payload', '3.1', 0, 2, 'failed'],
      ['security.html-name', '4.1', 0, 1, 'failed'],
      ['robustness.stall', '5.1', 0, 1, 'failed'],
    ]);
    const cut = results.tests[2]!;
    expect(cut.name).toBe('Bad input › The stream ends inside a file’s contents');
    expect(cut.output).toContain('Where: capture captures/bad-input.cut-in-payload, field file[1].payload, byte 540 of the stream.');
    expect(cut.output).toContain('Recebido: truncado.txt');
    // The test scores add up to the score Gradescope shows.
    expect(results.tests.reduce((s, t) => s + t.score, 0)).toBe(results.score);
  });

  it('is worded in Portuguese when asked, and a schema violation is caught', () => {
    const results = JSON.parse(renderReport(handReport(), 'gradescope', 'pt')) as { output: string; tests: { name: string; score: unknown }[] };
    expect(results.output).toBe('3 de 7 pontos: 3 de 5 verificações falharam.');
    expect(results.tests[4]!.name).toBe('Robustez › robustness.stall');
    const validate = new Ajv().compile(GRADESCOPE_SCHEMA);
    results.tests[0]!.score = '2';
    expect(validate(results)).toBe(false);
  });
});

interface Parsed {
  tag: string;
  attrib: Record<string, string>;
  text: string;
  children: Parsed[];
}

/** Parses XML with Python's expat-based ElementTree (a strict, conforming parser) into a tree of tags, attributes and text. */
function parseXml(xml: string): Parsed {
  const script = [
    'import sys, json, xml.etree.ElementTree as ET',
    'def walk(e): return {"tag": e.tag, "attrib": e.attrib, "text": e.text or "", "children": [walk(c) for c in e]}',
    'print(json.dumps(walk(ET.fromstring(sys.stdin.buffer.read()))))',
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script], { input: Buffer.from(xml, 'utf8'), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`not well-formed XML: ${run.stderr}`);
  return JSON.parse(run.stdout) as Parsed;
}

const DECIMAL = /^\d+(\.\d+)?$/;

describe('the JUnit XML', () => {
  it('parses back with a real XML parser into testsuites, a testsuite per group and a testcase per check, with the common schema’s counts and times', () => {
    const root = parseXml(renderReport(handReport(), 'junit', 'en'));
    expect(root.tag).toBe('testsuites');
    expect(root.attrib).toMatchObject({ name: 'wirestep check server', tests: '5', failures: '2', errors: '1', skipped: '0', time: '2.501' });
    expect(root.children.map((s) => [s.tag, s.attrib.id, s.attrib.name, s.attrib.tests, s.attrib.failures, s.attrib.errors])).toEqual([
      ['testsuite', 'correct', 'Correct transfers', '2', '0', '0'],
      ['testsuite', 'bad-input', 'Bad input', '1', '1', '0'],
      ['testsuite', 'security', 'Security', '1', '1', '0'],
      ['testsuite', 'robustness', 'Robustness', '1', '0', '1'],
    ]);
    for (const suite of root.children) {
      expect(suite.attrib.time).toMatch(DECIMAL);
      expect(suite.attrib.skipped).toBe('0');
      expect(suite.attrib.timestamp).toBe('2026-11-30T14:05:00');
      expect(Number(suite.attrib.tests)).toBe(suite.children.length);
      for (const c of suite.children) {
        expect(c.tag).toBe('testcase');
        expect(c.attrib.classname).toBe(suite.attrib.id);
        expect(c.attrib.time).toMatch(DECIMAL);
      }
    }
    const cut = root.children[1]!.children[0]!;
    expect(cut.attrib).toMatchObject({ name: 'bad-input.cut-in-payload', time: '0.450' });
    expect(cut.children.map((c) => [c.tag, c.attrib.type])).toEqual([['failure', 'partial-file-saved']]);
    expect(cut.children[0]!.text).toContain('Where: capture captures/bad-input.cut-in-payload');
    const stall = root.children[3]!.children[0]!;
    expect(stall.children[0]!.tag).toBe('error');
    expect(stall.children[0]!.attrib.message).toBe('The grader could not run this check: connect ECONNREFUSED <127.0.0.1>');
    expect(root.children[0]!.children.every((c) => c.children.length === 0)).toBe(true);
  });

  it('escapes markup, ampersands, quotes and line breaks, and shows the control bytes and lone surrogates XML cannot hold', () => {
    const xml = renderReport(handReport(), 'junit', 'en');
    expect(xml).not.toContain('<script>');
    // eslint-disable-next-line no-control-regex -- no byte XML 1.0 forbids may be in the document
    expect(xml).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    const failure = parseXml(xml).children[2]!.children[0]!.children[0]!;
    // The finding's kind has no words here, so it is shown as its kind and values, quotes and all.
    expect(failure.attrib.message).toContain('<script>alert(\\"x\\") & \'y\'</script>');
    expect(failure.text).toContain('saved <script>alert("x") & \'y\'</script>\\x01\\x1b[2J\r\n\\x00\\ud800 lone surrogate \\uffff');
  });

  it('is one of the formats a check prints in', () => {
    expect(REPORT_FORMATS).toEqual(['text', 'json', 'gradescope', 'junit']);
  });
});
