/**
 * The JSON Schemas in schemas/ (the contracts for environment files and lockfiles): loading,
 * compiling once with ajv (draft 2020-12 + formats), and turning ajv's JSON-pointer paths into
 * the field names our error messages show.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const documents = new Map<string, Record<string, unknown>>();
const compiled = new Map<string, ValidateFunction>();

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

/** `schemas/<name>` compiled once (allErrors, strict, verbose so errors carry the failing data). */
export function schemaValidator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    v = ajv.compile(loadSchema(name));
    compiled.set(name, v);
  }
  return v;
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
