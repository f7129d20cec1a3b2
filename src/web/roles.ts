import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/** Who is reading a page: the teacher sees the lessons' answers and the grading reports; a student does not. */
export type Role = 'teacher' | 'student';

/** The cookie that marks the teacher's browser once it has opened the teacher's address (its name carries the site's port when known). */
export const TEACHER_COOKIE = 'wirestep-teacher';

/** The query parameter of the teacher's address, as in Jupyter's `?token=`. */
export const TOKEN_PARAM = 'token';

/** A new secret for the teacher's address: 32 random bytes, base64url (43 characters). */
export function newTeacherToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether two secrets are equal, in time that does not depend on where they differ (hashed first: lengths may differ). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header, undefined when absent (the last one wins, as in browsers' order). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  let found: string | undefined;
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    try {
      found = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      found = part.slice(at + 1).trim();
    }
  }
  return found;
}

/** What the role check decided for one request. */
export type RoleDecision =
  | { readonly kind: 'role'; readonly role: Role }
  /** The right token: set the cookie and send the browser to `location`, the same address without it. */
  | { readonly kind: 'sign-in'; readonly location: string }
  /** A wrong token, or a teacher cookie this site never gave: a 403 page. */
  | { readonly kind: 'refuse' };

/**
 * The two roles of a shared site. `token` is the secret of the teacher's address; the cookie
 * holds another secret made here, so the token itself never travels again after the first visit.
 */
export class Roles {
  readonly #token: string;
  readonly #session = randomBytes(32).toString('base64url');
  /** The name of the teacher's cookie on this site. */
  readonly cookie: string;

  /**
   * `cookie` names the teacher's cookie (default {@link TEACHER_COOKIE}): a site on another port
   * of the same host needs another name, since browsers keep cookies per host whatever the port.
   * Throws a TypeError for a token under 16 characters: too easy to guess.
   */
  constructor(token: string, cookie: string = TEACHER_COOKIE) {
    if (token.length < 16) throw new TypeError('a teacher token has at least 16 characters');
    this.#token = token;
    this.cookie = cookie;
  }

  /** Decides who `req` comes from; a token in the address is checked and then taken out of it. */
  decide(req: Request): RoleDecision {
    const given = req.query[TOKEN_PARAM];
    if (given !== undefined) {
      if (typeof given !== 'string' || !sameSecret(given, this.#token)) return { kind: 'refuse' };
      return { kind: 'sign-in', location: withoutToken(req.originalUrl) };
    }
    const cookie = readCookie(req.headers.cookie, this.cookie);
    if (cookie === undefined) return { kind: 'role', role: 'student' };
    return sameSecret(cookie, this.#session) ? { kind: 'role', role: 'teacher' } : { kind: 'refuse' };
  }

  /** Marks the teacher's browser: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), for this session of the browser. */
  signIn(res: Response): void {
    res.cookie(this.cookie, this.#session, { httpOnly: true, sameSite: 'strict', path: '/' });
  }

  /** Drops a cookie this site did not give (one from an earlier run, say), so that the next page is a student's. */
  forget(res: Response): void {
    res.clearCookie(this.cookie, { httpOnly: true, sameSite: 'strict', path: '/' });
  }
}

/** `url` (a path with its query) without the token parameter; always a path on this site, never `//elsewhere`. */
export function withoutToken(url: string): string {
  const q = url.indexOf('?');
  const pathPart = (q < 0 ? url : url.slice(0, q)).replace(/^[/\\]+/, '/');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  params.delete(TOKEN_PARAM);
  const rest = params.toString();
  return `${pathPart.startsWith('/') ? pathPart : `/${pathPart}`}${rest ? `?${rest}` : ''}`;
}
