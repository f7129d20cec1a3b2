/** A command line or port map that cannot be read; the message says where. */
export class TraceArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceArgumentError';
  }
}

/**
 * Splits a command line into arguments the way a POSIX shell splits words, and nothing more:
 * blanks separate words; 'single quotes' keep everything; "double quotes" keep everything but
 * `\"`, `\\`, `\$` and `` \` ``, which lose their backslash; outside quotes a backslash keeps
 * the next character. No variables, globs, `~`, pipes or redirections: `$HOME` stays `$HOME`.
 * Throws {@link TraceArgumentError} on an unclosed quote or a trailing backslash.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new TraceArgumentError(`unclosed ' in: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) throw new TraceArgumentError(`unclosed " in: ${line}`);
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new TraceArgumentError(`a backslash ends: ${line}`);
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Reads `--port-map` values (`8181=9000`, several allowed, also comma-separated) into a map from
 * the port a program asks for to the one it gets. Throws {@link TraceArgumentError} on anything
 * else, or on a port given twice.
 */
export function parsePortMap(values: readonly string[]): Map<number, number> {
  const map = new Map<number, number>();
  const port = (s: string, whole: string): number => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new TraceArgumentError(`--port-map ${whole}: ${s} is not a port from 1 to 65535`);
    return n;
  };
  for (const value of values.flatMap((v) => v.split(','))) {
    const m = /^([^=]*)=([^=]*)$/.exec(value.trim());
    if (!m) throw new TraceArgumentError(`--port-map ${value}: expected FROM=TO, such as 8181=9000`);
    const from = port(m[1]!, value);
    if (map.has(from)) throw new TraceArgumentError(`--port-map: port ${from} is mapped twice`);
    map.set(from, port(m[2]!, value));
  }
  return map;
}
