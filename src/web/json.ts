/**
 * JSON for the API: bigints (64-bit sizes) become decimal strings, Uint8Arrays are left out,
 * and `<`, `>`, `&` are escaped so no network string can close a tag if the JSON lands in HTML.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return undefined;
    return v;
  })
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}
