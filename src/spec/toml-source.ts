/**
 * TOML input with source positions: parse with smol-toml (a syntax error becomes `E_TOML` with
 * file:line:column), and find where a table, a key or a string item was written, so problems
 * found after parsing point at their line like the YAML readers' do.
 *
 * The parser gives no positions for values, so the locator reads the text itself: table headers
 * (`[tool.conda-lock.dependencies]`, `[[...]]`), `key = ...` lines (dotted and quoted keys), and
 * for list items the first line at or after their key that holds the quoted string.
 */
import { createRequire } from 'node:module';
import type * as SmolToml from 'smol-toml';
import { InputError, type SourceLocation } from '../errors.js';

/** smol-toml, loaded when a TOML file is first read (its CommonJS build), not by every command that could read one. */
let toml: typeof SmolToml | undefined;
const smolToml = (): typeof SmolToml => (toml ??= createRequire(import.meta.url)('smol-toml') as typeof SmolToml);

export interface TomlSource {
  file: string;
  text: string;
  data: Record<string, unknown>;
  /** Where `path` (a table, or a key inside one) was written; the file alone when it cannot be found. */
  locate(path: readonly string[]): SourceLocation;
  /** Where a string item of the list at `path` was written (its first occurrence after the key). */
  locateItem(path: readonly string[], item: string): SourceLocation;
}

/** Split `a."b.c".d` into its segments (quotes removed). */
function splitKey(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '"' || text[i] === "'") {
      const q = text[i]!;
      const end = text.indexOf(q, i + 1);
      out.push(text.slice(i + 1, end < 0 ? text.length : end));
      i = end < 0 ? text.length : end + 1;
    } else {
      let j = i;
      while (j < text.length && text[j] !== '.') j++;
      out.push(text.slice(i, j).trim());
      i = j;
    }
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '.') i++;
  }
  return out;
}

/**
 * The table name of a `[table]` / `[[array.of.tables]]` line (a comment may follow), else undefined.
 * Scanned by hand: a regular expression with overlapping space runs took seconds on a `[` followed by
 * thousands of spaces (inside a multi-line string of a valid file).
 */
function tableHeader(line: string): string | undefined {
  const t = line.trim();
  if (!t.startsWith('[')) return undefined;
  const open = t.startsWith('[[') ? 2 : 1;
  const close = t.indexOf(']', open);
  if (close < 0) return undefined;
  const name = t.slice(open, close).trim();
  if (name === '') return undefined;
  let rest = t.slice(close + 1);
  if (open === 2) {
    if (!rest.startsWith(']')) return undefined;
    rest = rest.slice(1);
  }
  rest = rest.trimStart();
  return rest === '' || rest.startsWith('#') ? name : undefined;
}
const KEY_RE = /^(\s*)((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/;

export function parseTomlSource(text: string, file: string): TomlSource {
  let data: Record<string, unknown>;
  try {
    data = smolToml().parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof smolToml().TomlError) {
      const why = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new InputError(`invalid TOML: ${why}`, { code: 'E_TOML', location: { file, line: err.line, column: err.column }, cause: err });
    }
    throw new InputError(`invalid TOML: ${(err as Error).message}`, { code: 'E_TOML', location: { file }, cause: err });
  }
  // Every key/header line: its full path (table + dotted key) → line, column (1-based).
  const lines = text.split(/\r?\n/);
  const where = new Map<string, { line: number; column: number }>();
  let table: string[] = [];
  lines.forEach((l, n) => {
    const h = tableHeader(l);
    if (h !== undefined && !KEY_RE.test(l)) {
      table = splitKey(h);
      const k = table.join('\u0000');
      if (!where.has(k)) where.set(k, { line: n + 1, column: l.indexOf('[') + 1 });
      return;
    }
    const m = KEY_RE.exec(l);
    if (m) {
      const k = [...table, ...splitKey(m[2]!)].join('\u0000');
      if (!where.has(k)) where.set(k, { line: n + 1, column: m[1]!.length + 1 });
    }
  });
  const locate = (path: readonly string[]): SourceLocation => {
    for (let len = path.length; len > 0; len--) {
      const hit = where.get(path.slice(0, len).join('\u0000'));
      if (hit) return { file, ...hit };
    }
    return { file };
  };
  // Items of one list are asked for in order: each search resumes where the previous one of the same
  // list found its item (one pass per list, not one per item).
  const cursor = new Map<string, number>();
  const locateItem = (path: readonly string[], item: string): SourceLocation => {
    const at = locate(path);
    const key = path.join('\u0000');
    const from = Math.max((at.line ?? 1) - 1, cursor.get(key) ?? 0);
    for (const start of from > (at.line ?? 1) - 1 ? [from, (at.line ?? 1) - 1] : [from]) {
      for (let n = start; n < lines.length; n++) {
        for (const q of ['"', "'"]) {
          const i = lines[n]!.indexOf(`${q}${item}${q}`);
          if (i >= 0) {
            cursor.set(key, n);
            return { file, line: n + 1, column: i + 1 };
          }
        }
      }
    }
    return at;
  };
  return { file, text, data, locate, locateItem };
}
