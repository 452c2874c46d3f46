/**
 * The JSON Schemas in schemas/ (the contracts for environment files and lockfiles): loading, their
 * validators (generated ahead of time with ajv, draft 2020-12), and turning ajv's JSON-pointer paths into
 * the field names our error messages show.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import validateEnvironment from './validators/environment.generated.js';
import validateLockfile from './validators/lockfile.generated.js';

const documents = new Map<string, Record<string, unknown>>();
const GENERATED = { 'environment.schema.json': validateEnvironment, 'lockfile.schema.json': validateLockfile } as const;

/** The parsed `schemas/<name>`: one level above src/ in the source tree and above dist/ in a build. */
export function loadSchema(name: string): Record<string, unknown> {
  const cached = documents.get(name);
  if (cached) return cached;
  let lastErr: unknown;
  for (const rel of [`../schemas/${name}`, `../../schemas/${name}`]) {
    try {
      const doc = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as Record<string, unknown>;
      documents.set(name, doc);
      return doc;
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error(`conda-go-lock: cannot load schemas/${name} (installation broken?)`, { cause: lastErr });
}

/**
 * The validator of `schemas/<name>`: ajv's code for it generated ahead of time (scripts/gen-validators.ts,
 * src/validators/; allErrors, strict, verbose so errors carry the failing data), so no command pays for
 * compiling a schema.
 */
export function schemaValidator(name: keyof typeof GENERATED): ValidateFunction {
  return GENERATED[name] as unknown as ValidateFunction;
}

export type PathSegment = string | number;

/** `/packages/3/sha256` → `['packages', 3, 'sha256']` */
export function pointerSegments(instancePath: string): PathSegment[] {
  if (!instancePath) return [];
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `['packages', 3, 'sha256']` → `packages[3].sha256`; `empty` when there are no segments. */
export function pathText(segs: readonly PathSegment[], empty = '(top level)'): string {
  let s = '';
  for (const seg of segs) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg;
  return s || empty;
}
