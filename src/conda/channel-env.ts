/**
 * Environment variables in channel URLs (conda-lock's convention): `https://host/t/${MY_TOKEN}/chan`,
 * `https://host/t/$MY_TOKEN/chan`, `https://${USER}:${PASSWORD}@host/chan`.
 *
 * A variable may stand for the token segment or for the user / password of the URL, nothing else:
 * those are the parts a lockfile never stores. The lockfile keeps the URL with the variable NAMES
 * (the template, always written `${NAME}`) so `install` can put the credentials back from its own
 * environment. Pure: the environment is passed in.
 */

/** An environment to expand from (process.env or a test's own map). */
export type EnvLike = Readonly<Record<string, string | undefined>>;

/** `$NAME` or `${NAME}`. */
const ENV_VAR_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** A variable name as the lockfile stores it. */
export const ENV_VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `s` mentions an environment variable (`$NAME` / `${NAME}`). */
export function hasEnvVars(s: string): boolean {
  // A fresh regex: test() on the shared global one would leave lastIndex past the first match, and
  // matchAll (envVarNames) copies lastIndex, so it would skip that variable.
  return new RegExp(ENV_VAR_RE.source).test(s);
}

/** The variables `s` mentions, sorted, each once. */
export function envVarNames(s: string): string[] {
  const names = new Set<string>();
  for (const m of s.matchAll(ENV_VAR_RE)) names.add((m[1] ?? m[2])!);
  return [...names].sort();
}

/** Replace every `$NAME` / `${NAME}` with `replace(NAME)`. */
export function replaceEnvVars(s: string, replace: (name: string) => string): string {
  return s.replace(ENV_VAR_RE, (_m, braced: string | undefined, bare: string | undefined) => replace((braced ?? bare)!));
}

/** The canonical template form: every `$NAME` written `${NAME}`. */
export function canonicalTemplate(s: string): string {
  return replaceEnvVars(s, (n) => `\${${n}}`);
}

/** Names among `names` that `env` does not set (an empty value counts as unset: it is no credential). */
export function unsetEnvVars(names: readonly string[], env: EnvLike): string[] {
  return names.filter((n) => env[n] === undefined || env[n] === '');
}

/**
 * Expand a template from `env`; each value is percent-encoded, so a password with `@`, `:` or `/`
 * stays one URL component. Throws when a variable is unset: check with `unsetEnvVars` first.
 */
export function expandEnvVars(template: string, env: EnvLike): string {
  return replaceEnvVars(template, (n) => {
    const v = env[n];
    if (v === undefined || v === '') throw new Error(`environment variable ${n} is not set`);
    return encodeURIComponent(v);
  });
}

/** `A`, `A and B`, `A, B and C`. */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
