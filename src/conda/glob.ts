/**
 * Glob patterns as conda uses them for build strings, package names and other string fields:
 * `*` matches any run of characters (including none); everything else is literal.
 * A pattern written as `^...$` is a regular expression (conda accepts those for build strings).
 */

const cache = new Map<string, (s: string) => boolean>();
const CACHE_LIMIT = 4096;

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `pattern` is a glob (contains `*`) or a `^...$` regular expression, not a literal. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || (pattern.startsWith('^') && pattern.endsWith('$'));
}

/** Compile a conda glob (`*` wildcard) or `^regex$` into a RegExp anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  if (pattern.length >= 2 && pattern.startsWith('^') && pattern.endsWith('$')) return new RegExp(pattern);
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');
}

/** A matcher function for `pattern`; literal patterns compare with ===. Matchers are cached. */
export function globMatcher(pattern: string): (s: string) => boolean {
  let m = cache.get(pattern);
  if (m) return m;
  if (pattern === '*') m = () => true;
  else if (!isGlob(pattern)) m = (s) => s === pattern;
  else {
    const re = globToRegExp(pattern);
    m = (s) => re.test(s);
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, m);
  return m;
}

/** Does `value` match the conda glob / regex `pattern`? */
export function matchGlob(pattern: string, value: string): boolean {
  return globMatcher(pattern)(value);
}
