/**
 * Secrets in URLs, in one place: hide them before they reach a log line, an error message or a
 * cache file, find and cut out the anaconda.org `/t/<token>` segment of a channel URL
 * (src/conda/channel.ts), and strip it for comparing channels (src/conda/matchspec.ts, the conda
 * solver). Pure string functions with no imports, so every layer may use them.
 *
 * Covered: anaconda.org style `/t/<token>/` path segments, `user:password@` userinfo, and
 * credential-like query parameters (`token`, `access_token`, `password`, ...).
 */

/** What a token or password is replaced with, everywhere. */
export const REDACTED = '********';

/** The value of a `/t/<token>` segment: up to the next `/`, query, fragment or whitespace. */
const TOKEN_VALUE = '[^/?#\\s]+';
const TOKEN_SEGMENT = new RegExp(`/t/${TOKEN_VALUE}`, 'g');
const FIRST_TOKEN_SEGMENT = new RegExp(`/t/(${TOKEN_VALUE})`);
const SECRET_QUERY = /([?&;](?:token|access_token|auth_token|api_key|apikey|key|password|passwd|secret|sig|signature)=)[^&#\s]*/gi;
/** `scheme://userinfo@` — userinfo may be `user` or `user:password`. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i;
/** Any URL inside free text. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** A credential that is only an environment variable reference (`${MY_TOKEN}`, `$USER:$PASS`): no secret. */
const VARIABLE_TOKEN = /^\/t\/\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;
const VARIABLE_USERINFO = /^[a-z][a-z0-9+.-]*:\/\/\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)(:\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*))?@$/i;

/**
 * The URL with its credentials replaced by `********`. Works on strings that are not valid URLs too.
 * A credential written as an environment variable (`/t/${MY_TOKEN}/`) names no secret and is kept.
 */
export function redactUrl(url: string | URL): string {
  let s = typeof url === 'string' ? url : url.href;
  s = s.replace(USERINFO, (m, scheme: string) => (VARIABLE_USERINFO.test(m) ? m : `${scheme}${REDACTED}@`));
  s = s.replace(TOKEN_SEGMENT, (m) => (VARIABLE_TOKEN.test(m) ? m : `/t/${REDACTED}`));
  s = s.replace(SECRET_QUERY, `$1${REDACTED}`);
  return s;
}

/** Redact every URL inside a free-form text (e.g. an error message from a lower layer). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** The first `/t/<token>` segment of a URL or path: where it starts, its length and the token. */
export function findTokenSegment(s: string): { index: number; length: number; token: string } | undefined {
  const m = FIRST_TOKEN_SEGMENT.exec(s);
  return m ? { index: m.index, length: m[0].length, token: m[1]! } : undefined;
}

/** The string without its `/t/<token>` segment(s) (`all`: every one, else the first). */
export function stripTokenSegment(s: string, all = false): string {
  return all ? s.replace(TOKEN_SEGMENT, '') : s.replace(FIRST_TOKEN_SEGMENT, '');
}

/** `scheme://user:password@host/...` → `scheme://host/...`. */
export function stripUserinfo(s: string): string {
  return s.replace(USERINFO, '$1');
}

/**
 * Every token segment and the userinfo masked, variables included — for echoing input that failed
 * to parse (it may not even be a URL).
 */
export function maskCredentials(s: string): string {
  return s.replace(TOKEN_SEGMENT, `/t/${REDACTED}`).replace(/\/\/[^/@\s]*@/, `//${REDACTED}@`);
}

/** Whether the URL carries credentials that `redactUrl` would hide. */
export function hasCredentials(url: string): boolean {
  return redactUrl(url) !== url;
}

/** The URL without any credentials at all (token segment, userinfo and secret query parameters removed). */
export function stripCredentials(url: string): string {
  let s = stripUserinfo(url);
  s = stripTokenSegment(s, true);
  s = s.replace(SECRET_QUERY, (_m, p: string) => (p.startsWith('?') ? '?' : ''));
  s = s.replace(/\?(&|$)/, (_m, rest: string) => (rest === '&' ? '?' : ''));
  return s;
}
