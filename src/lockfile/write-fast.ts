/**
 * The lockfile's YAML text without building a `yaml` Document: the same bytes as the generic path in
 * write.ts (`yaml` with lineWidth 0, indentSeq, singleQuote, the quoting rules there), written
 * directly for the shapes a canonical lockfile has — maps of scalars, sequences of scalars or maps,
 * empty `[]` / `{}`. The generic path took 1.6 s for a 1,500-package lockfile (docs/benchmarks.md).
 *
 * Anything this does not know to write exactly as `yaml` would (a string yaml double-quotes or
 * writes on several lines, a float, null, a sequence inside a sequence) makes it answer undefined,
 * and the caller uses the generic path. test/lockfile/write-fast.test.ts compares both on real and
 * generated lockfiles and on random strings.
 */

/**
 * `yaml` 2.x's rule (stringify/stringifyString.js plainString) for a single-line string that cannot be
 * a plain scalar in block context: an indicator first (`,[]{}#&*!|>'"%@` and backquote, or `-`/`?`
 * alone or before a space), `: ` or a trailing `:`/space, ` #`.
 */
const NOT_PLAIN = /^[\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|:[ \t]|[\t ]#|[\t :]$/;
/**
 * What this writer leaves to `yaml`: newlines and the characters yaml writes double-quoted, lone
 * surrogates, and a document marker first (`---`, `...`: yaml's answer depends on the indentation).
 */
const UNSUPPORTED = /[\x00-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]|^(?:---|\.\.\.)/u;

export interface FastWriteRules {
  header: string;
  /** Keys whose string values are always quoted. */
  alwaysQuoted: ReadonlySet<string>;
  isAmbiguous: (s: string) => boolean;
  /** Top-level keys whose sequence items are separated by a blank line. */
  spacedSequences: ReadonlySet<string>;
}

class Unsupported extends Error {}

export function fastSerialize(doc: Record<string, unknown>, rules: FastWriteRules): string | undefined {
  const out: string[] = [];
  const scalar = (v: unknown, quote: boolean): string => {
    if (typeof v === 'string') {
      if (UNSUPPORTED.test(v) || v.length > 1000) throw new Unsupported();
      const single = () => `'${v.replace(/'/g, "''")}'`;
      // Quoted on purpose (write.ts marks these QUOTE_SINGLE): always single quotes.
      if (quote || rules.isAmbiguous(v)) return single();
      if (!NOT_PLAIN.test(v)) return v;
      // yaml quotes it: single quotes, unless it holds a ' and no " (then yaml writes double quotes).
      if (v.includes("'") && !v.includes('"')) throw new Unsupported();
      return single();
    }
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) throw new Unsupported();
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    throw new Unsupported();
  };
  const key = (k: string): string => scalar(k, false);
  const isEmptyContainer = (v: unknown): string | undefined => {
    if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
    if (v !== null && typeof v === 'object') return Object.keys(v).length === 0 ? '{}' : undefined;
    return undefined;
  };
  const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

  /** The pairs of a map, the first one after `first` (the `- ` of a sequence item) when given. */
  const map = (m: Record<string, unknown>, indent: number, first?: string, spaceTop = false): void => {
    const pad = ' '.repeat(indent);
    let i = 0;
    for (const [k, v] of Object.entries(m)) {
      if (v === undefined) continue;
      const lead = i === 0 && first !== undefined ? first : pad;
      if (spaceTop && i > 0) out.push('\n');
      i++;
      const empty = isEmptyContainer(v);
      if (empty !== undefined) {
        out.push(`${lead}${key(k)}: ${empty}\n`);
      } else if (Array.isArray(v)) {
        out.push(`${lead}${key(k)}:\n`);
        seq(v, indent + 2, spaceTop && rules.spacedSequences.has(k));
      } else if (isPlainObject(v)) {
        out.push(`${lead}${key(k)}:\n`);
        map(v, indent + 2);
      } else {
        out.push(`${lead}${key(k)}: ${scalar(v, rules.alwaysQuoted.has(k))}\n`);
      }
    }
  };
  const seq = (a: readonly unknown[], indent: number, spaced: boolean): void => {
    const pad = ' '.repeat(indent);
    a.forEach((item, j) => {
      if (spaced && j > 0 && isPlainObject(item) && Object.keys(item).length > 0) out.push('\n');
      if (Array.isArray(item) || (isPlainObject(item) && Object.keys(item).length === 0)) throw new Unsupported();
      if (isPlainObject(item)) map(item, indent + 2, `${pad}- `);
      else out.push(`${pad}- ${scalar(item, false)}\n`);
    });
  };

  try {
    out.push(`${rules.header}\n\n`);
    map(doc, 0, undefined, true);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  return out.join('');
}
