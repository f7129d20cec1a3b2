import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON } from '../../scripts/lib/harness.js';
import { tracerDir } from '../../src/trace/index.js';

// CI has one python3 (Debian's); the tracer must also load in the oldest Python the course uses.
// Python's own parser, told to accept only an older grammar, rejects any newer syntax.
describe('the tracer on older Pythons', () => {
  it.each([[3, 8], [3, 9], [3, 10], [3, 11], [3, 12], [3, 13]])('is written in the grammar of Python %i.%i', (major, minor) => {
    const file = path.join(tracerDir(), 'sitecustomize.py');
    const script = 'import ast, sys\nsrc = open(sys.argv[1], encoding="utf-8").read()\nast.parse(src, feature_version=(int(sys.argv[2]), int(sys.argv[3])))\nprint("parsed")';
    expect(execFileSync(PYTHON, ['-c', script, file, String(major), String(minor)], { encoding: 'utf8' })).toBe('parsed\n');
  });
});
