/** PEP 503 project names: `Typing_Extensions` and `typing.extensions` are both `typing-extensions`. */

/** Lowercase, runs of `-`, `_`, `.` become one `-` (packaging's canonicalize_name). */
export function canonicalName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** A valid PEP 508 name: ASCII letters/digits, inner `-_.`, starting and ending alphanumeric. */
export function isValidName(name: string): boolean {
  return /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i.test(name);
}

/** Already in canonical form. */
export function isNormalizedName(name: string): boolean {
  return /^[a-z0-9]+(-[a-z0-9]+)*$/.test(name);
}
