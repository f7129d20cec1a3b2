const te = new TextEncoder();

/** The bytes of `parts` one after the other; numbers are byte values, strings UTF-8. */
export function concatBytes(...parts: readonly (Uint8Array | readonly number[] | string)[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? te.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
