/**
 * Hide credentials in URLs before they reach a log line, an error message or a cache file.
 *
 * Covered: anaconda.org style `/t/<token>/` path segments, `user:password@` userinfo, and
 * credential-like query parameters (`token`, `access_token`, `password`, ...).
 */

export const REDACTED = '********';

const TOKEN_SEGMENT = /\/t\/[^/?#\s]+/g;
const SECRET_QUERY = /([?&;](?:token|access_token|auth_token|api_key|apikey|key|password|passwd|secret|sig|signature)=)[^&#\s]*/gi;
/** `scheme://userinfo@` — userinfo may be `user` or `user:password`. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i;
/** Any URL inside free text. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** The URL with its credentials replaced by `********`. Works on strings that are not valid URLs too. */
export function redactUrl(url: string | URL): string {
  let s = typeof url === 'string' ? url : url.href;
  s = s.replace(USERINFO, `$1${REDACTED}@`);
  s = s.replace(TOKEN_SEGMENT, `/t/${REDACTED}`);
  s = s.replace(SECRET_QUERY, `$1${REDACTED}`);
  return s;
}

/** Redact every URL inside a free-form text (e.g. an error message from a lower layer). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** Whether the URL carries credentials that `redactUrl` would hide. */
export function hasCredentials(url: string): boolean {
  return redactUrl(url) !== url;
}

/** The URL without any credentials at all (token segment, userinfo and secret query parameters removed). */
export function stripCredentials(url: string): string {
  let s = url.replace(USERINFO, '$1');
  s = s.replace(TOKEN_SEGMENT, '');
  s = s.replace(SECRET_QUERY, (_m, p: string) => (p.startsWith('?') ? '?' : ''));
  s = s.replace(/\?(&|$)/, (_m, rest: string) => (rest === '&' ? '?' : ''));
  return s;
}
