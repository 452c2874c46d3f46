/**
 * YAML input with source positions: parse once (keeping node ranges), map JSON-pointer-like paths
 * back to file:line:column, validate against a JSON Schema with readable messages, and collect
 * problems so one run reports all of them (sorted by line) in a single `InputError`.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { pathText as sharedPathText, pointerSegments, schemaValidator, type PathSegment } from '../schemas.js';
import { Document, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Node, type Pair } from 'yaml';
import { InputError, type SourceLocation } from '../errors.js';

export type { PathSegment };

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** Plain data; numbers are kept as their source text (`1.20` stays "1.20", not 1.2). */
  data: unknown;
}

/**
 * Parse one YAML document. Syntax errors (and duplicate keys, multiple documents) become an
 * `InputError` with code `E_YAML` and file:line:column.
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // The parser recurses per nesting level: a file nested thousands deep takes it seconds to end in a
  // stack overflow (which it reports as a document error). The obvious shapes are refused at once.
  const tooDeep = quickNestingCheck(text, PRESCAN_DEPTH);
  if (tooDeep) {
    throw new InputError(`invalid YAML: nested too deeply to read (more than ${MAX_DEPTH} levels); flatten it`, {
      code: 'E_YAML',
      location: { file, ...tooDeep },
    });
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    const problems = new Problems(file);
    const overflow = doc.errors.find((e) => /call stack/i.test(e.message));
    for (const e of overflow ? [overflow] : doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      const message = overflow ? `invalid YAML: nested too deeply to read (more than ${MAX_DEPTH} levels); flatten it` : `invalid YAML: ${firstLine(e.message)}`;
      problems.add(message, { line: pos.line, column: pos.col }, 'E_YAML');
    }
    problems.throwIfAny();
  }
  // What the parser read still has to be walked (here, by the schema check, by the readers): a
  // depth no input file needs is refused before any of that recurses.
  const deep = nodeDeeperThan(doc.contents, MAX_DEPTH);
  if (deep) {
    const pos = posOfNode(lineCounter, deep);
    throw new InputError(`invalid YAML: nested more than ${MAX_DEPTH} levels deep; flatten it`, {
      code: 'E_YAML',
      location: { file, ...pos },
    });
  }
  // Numbers are never meant as numbers in these files: keep what the user wrote.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    // The yaml library's guard against alias bombs ("billion laughs"): aliases expanding to more
    // than maxAliasCount nodes. An input error naming the file, not a crash.
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new InputError(
        `invalid YAML: its aliases (*name) expand to more than ${MAX_ALIAS_COUNT} copies (an alias bomb); write the entries out instead`,
        { code: 'E_YAML', location: { file }, cause: err },
      );
    }
    throw err;
  }
  return { file, text, doc, lineCounter, data };
}

/** Deepest nesting of maps/sequences accepted (environment files use 3–5; the parser itself overflows near 1,000). */
export const MAX_DEPTH = 100;
/** Alias expansions accepted per document (yaml's toJS `maxAliasCount`). */
export const MAX_ALIAS_COUNT = 1000;

/** Nesting at which quickNestingCheck stops a file before parsing (the parser itself overflows near 1,000). */
const PRESCAN_DEPTH = 1000;

/**
 * A linear scan for flow collections (`[[[[…`, `{a: {a: …`) or compact block sequences (`- - - …`)
 * nested more than `max` deep, skipping comments and quoted scalars. Returns the line and column where
 * the limit was passed. Not a YAML parser: it only has to catch what would take the parser seconds.
 */
export function quickNestingCheck(text: string, max: number): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  let dashes = 0;
  let prev = '\n';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      dashes = 0;
      prev = c;
      continue;
    }
    if (atLineStart) {
      if (c === ' ' || c === '\t') continue;
      if (c === '-' && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
        if (++dashes > max) return { line, column: i - lineStart + 1 };
        i++;
        continue;
      }
      atLineStart = false;
    }
    if (c === '#' && (prev === ' ' || prev === '\t' || prev === '\n' || i === lineStart)) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
      continue;
    }
    // A quote opens a quoted scalar only where a scalar may start (not in `don't`).
    if ((c === '"' || c === "'") && /[\s[{,:\-?]/.test(prev)) {
      let j = i + 1;
      for (; j < text.length; j++) {
        const d = text[j]!;
        if (c === '"' && d === '\\') j++;
        else if (d === c) {
          if (c === "'" && text[j + 1] === "'") j++;
          else break;
        } else if (d === '\n') {
          line++;
          lineStart = j + 1;
        }
      }
      i = j;
      prev = c;
      continue;
    }
    if (c === '[' || c === '{') {
      if (++depth > max) return { line, column: i - lineStart + 1 };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
    prev = c;
  }
  return undefined;
}

/** The first collection node nested deeper than `max` (walked without recursion), or undefined. */
function nodeDeeperThan(root: unknown, max: number): Node | undefined {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > max) return node;
      for (const it of node.items as unknown[]) {
        if (isPair(it)) {
          stack.push([it.key, depth + 1], [it.value, depth + 1]);
        } else stack.push([it, depth + 1]);
      }
    }
  }
  return undefined;
}

function posOfNode(lineCounter: LineCounter, node: Node): { line?: number; column?: number } {
  if (!node.range) return {};
  const p = lineCounter.linePos(node.range[0]);
  return { line: p.line, column: p.col };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** The YAML node (and the pair holding it) at a path. */
export function nodeAt(src: YamlSource, path: readonly PathSegment[]): { node?: Node | null; pair?: Pair } {
  let node: unknown = src.doc.contents;
  let pair: Pair | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(src.doc);
    if (isMap(node)) {
      const p = node.items.find((it) => isPair(it) && keyText(it.key) === String(seg));
      if (!p) return { node: undefined, pair };
      pair = p as Pair;
      node = pair.value;
    } else if (isSeq(node)) {
      const idx = typeof seg === 'number' ? seg : Number(seg);
      node = node.items[idx];
      pair = undefined;
      if (node === undefined) return { node: undefined };
    } else {
      return { node: undefined, pair };
    }
  }
  return { node: node as Node | null, pair };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return undefined;
  return String(key);
}

function posOf(src: YamlSource, node: unknown): { line: number; column: number } | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  if (!range) return undefined;
  const p = src.lineCounter.linePos(range[0]);
  return { line: p.line, column: p.col };
}

/**
 * file:line:column of the value at `path`, or of its key with `{ key: true }` (for unknown keys).
 * Falls back to the closest enclosing node that has a position.
 */
export function locate(src: YamlSource, path: readonly PathSegment[], opts: { key?: boolean } = {}): SourceLocation {
  for (let n = path.length; n >= 0; n--) {
    const { node, pair } = nodeAt(src, path.slice(0, n));
    const pos = (opts.key && n === path.length && pair ? posOf(src, pair.key) : undefined) ?? posOf(src, node) ?? (pair ? posOf(src, pair.key) : undefined);
    if (pos) return { file: src.file, ...pos };
  }
  return { file: src.file };
}

/** The text on the same source line after the node at `path` (for `# [selector]` comments). */
export function restOfLine(src: YamlSource, path: readonly PathSegment[]): string {
  const { node } = nodeAt(src, path);
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  if (!range) return '';
  const end = range[1];
  const nl = src.text.indexOf('\n', end);
  return src.text.slice(end, nl < 0 ? undefined : nl);
}

// ---------------------------------------------------------------------------------------------
// Problems

export interface Problem {
  message: string;
  location: SourceLocation;
  code: InputError['code'];
}

/** Collects problems; `throwIfAny` throws one `InputError` for the first (by line) listing the rest. */
export class Problems {
  readonly list: Problem[] = [];
  constructor(readonly file: string) {}

  add(message: string, loc: Partial<SourceLocation> | undefined, code: InputError['code'] = 'E_ENV_INVALID'): void {
    this.list.push({ message, location: { file: this.file, ...loc }, code });
  }

  get size(): number {
    return this.list.length;
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    const sorted = [...this.list].sort(
      (a, b) => (a.location.line ?? 0) - (b.location.line ?? 0) || (a.location.column ?? 0) - (b.location.column ?? 0),
    );
    const seen = new Set<string>();
    const unique = sorted.filter((p) => {
      const k = `${p.location.line}:${p.location.column}:${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const [first, ...rest] = unique;
    let message = first!.message;
    if (rest.length > 0) {
      message += `\n(${rest.length} more problem${rest.length === 1 ? '' : 's'})`;
      for (const p of rest) {
        const l = p.location;
        message += `\n  ${l.file}${l.line !== undefined ? `:${l.line}` : ''}${l.column !== undefined ? `:${l.column}` : ''}: ${p.message}`;
      }
    }
    throw new InputError(message, { code: first!.code, location: first!.location });
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Schema

export { schemaValidator };

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? 'number' : typeof v;
}

function branchTypes(schema: unknown): string[] | undefined {
  const t = (schema as { type?: string | string[] } | undefined)?.type;
  return t === undefined ? undefined : Array.isArray(t) ? t : [t];
}

/**
 * Reduce ajv's output to the errors a person should read: for an `anyOf`, keep the errors of the
 * branch whose `type` matches the data (e.g. the mapping branch for a mapping) and drop the others;
 * when no branch's type matches, keep only the `anyOf` error (described by the schema's description).
 */
export function pruneSchemaErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const a of errors) {
    if (a.keyword !== 'anyOf') continue;
    const branches = (a.schema as unknown[]) ?? [];
    const dt = jsonType(a.data);
    const match = branches.findIndex((b) => {
      const ts = branchTypes(b);
      return ts !== undefined && (ts.includes(dt) || (dt === 'number' && ts.includes('integer')));
    });
    const prefix = `${a.schemaPath}/`;
    for (const e of errors) {
      if (e === a || !e.schemaPath.startsWith(prefix)) continue;
      if (e.instancePath !== a.instancePath && !e.instancePath.startsWith(`${a.instancePath}/`)) continue;
      const idx = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      if (match < 0 || idx !== match) drop.add(e);
    }
    if (match >= 0) drop.add(a);
  }
  return errors.filter((e) => !drop.has(e));
}

/** `/dependencies/3/go` → `['dependencies', 3, 'go']` */
export { pointerSegments };

/** `['dependencies', 3, 'go']` → `dependencies[3].go`; `the file` for the top level. */
export function pathText(segs: readonly PathSegment[]): string {
  return sharedPathText(segs, 'the file');
}

/** Levenshtein distance (small strings only: key names). */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate within distance 2 (or a prefix match), for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD || (d === bestD && best === undefined)) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= 2 ? best : undefined;
}
