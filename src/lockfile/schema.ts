/**
 * The lockfile JSON Schema (schemas/lockfile.schema.json): validation with its generated ajv
 * validator (src/validators/, scripts/gen-validators.ts) and the error pruning our messages use.
 *
 * The schema document itself is read at run time from the package's `schemas/` folder, two levels
 * above this module both in the source tree (src/lockfile) and in the build (dist/lockfile).
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { loadSchema, pathText, pointerSegments, schemaValidator } from '../schemas.js';

const SCHEMA = 'lockfile.schema.json';

/** The parsed schema document. */
export function lockfileSchema(): Record<string, unknown> {
  return loadSchema(SCHEMA);
}

/** Validate plain data against the lockfile schema; returns the errors (empty when valid). */
export function schemaErrors(data: unknown): ErrorObject[] {
  const validate = schemaValidator(SCHEMA);
  if (validate(data)) return [];
  return pruneErrors(validate.errors ?? []);
}

/**
 * ajv reports every failing branch of an `anyOf` plus the `anyOf` itself; keep the most specific
 * error per instance path so messages stay short.
 */
function pruneErrors(errors: ErrorObject[]): ErrorObject[] {
  const out: ErrorObject[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.length ? out : errors;
}

/** `/packages/3/sha256` → `['packages', 3, 'sha256']` */
export const instancePathSegments = pointerSegments;

/** `['packages', 3, 'sha256']` → `packages[3].sha256` */
export function fieldName(segments: Array<string | number>): string {
  return pathText(segments);
}

/** What the schema's patterns for a package's name/version/build/fn allow (same rules as src/conda/record.ts). */
const RECORD_FIELD_CHARS: Record<string, string> = {
  name: 'must be letters, digits and _ . + - (not starting with . + -)',
  version: 'must be letters, digits and _ . + ! * -',
  build: 'must be letters, digits and _ . + -',
  fn: 'must be <name>-<version>-<build>.conda or .tar.bz2 in letters, digits and _ . + ! * -',
};

/** A human sentence for one ajv error (without location). */
export function describeSchemaError(e: ErrorObject): { field: string; message: string } {
  const segs = instancePathSegments(e.instancePath);
  const p = e.params as Record<string, unknown>;
  if (segs[segs.length - 1] === 'url_template' && (e.keyword === 'pattern' || e.keyword === 'not')) {
    return {
      field: fieldName(segs),
      message: 'must be an http(s) channel URL with ${NAME} variables for its token (/t/${TOKEN}/) and/or user:password (${USER}:${PASSWORD}@), never a literal token or password',
    };
  }
  switch (e.keyword) {
    case 'required':
      return { field: fieldName([...segs, String(p.missingProperty)]), message: 'is required but missing' };
    case 'additionalProperties':
      return { field: fieldName([...segs, String(p.additionalProperty)]), message: 'is not a known field' };
    case 'enum':
      return {
        field: fieldName(segs),
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { field: fieldName(segs), message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'pattern': {
      const pattern = String(p.pattern);
      let what = `must match ${pattern}`;
      const last = segs[segs.length - 1];
      if (segs[0] === 'packages' && typeof last === 'string' && last in RECORD_FIELD_CHARS) {
        what = `${RECORD_FIELD_CHARS[last]}; no path separators, spaces or control characters (it names files in the prefix)`;
      } else if (pattern === '^[0-9a-f]{64}$') what = 'must be a sha256: 64 lowercase hex digits';
      else if (pattern === '^[0-9a-f]{32}$') what = 'must be an md5: 32 lowercase hex digits';
      return { field: fieldName(segs), message: what };
    }
    case 'propertyNames':
      return { field: fieldName([...segs, String(p.propertyName)]), message: 'is not a known platform' };
    default:
      return { field: fieldName(segs), message: e.message ?? e.keyword };
  }
}
