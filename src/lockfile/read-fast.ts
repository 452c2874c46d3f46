/**
 * Fast path for reading our own lockfiles: a strict parser for exactly the YAML subset that
 * serializeLockfile (write.ts: `yaml` with lineWidth 0, indentSeq, singleQuote) emits.
 *
 * Accepted: full-line comments and blank lines; block mappings and block sequences indented by two
 * spaces per level (`- ` items, a mapping item's first key on the dash line); single-line scalars:
 * plain, single-quoted (`''`), double-quoted (the escapes `yaml` writes); the empty flows `[]`, `{}`.
 * Plain scalars resolve as YAML 1.2 core does, limited to the forms the writer produces: decimal
 * safe integers, `true`/`false`, and strings that no YAML 1.1/1.2 reader could take for anything
 * else. Everything else (anchors, tags, block scalars, other flows, trailing comments, tabs, CR,
 * duplicate keys, odd indentation, floats, nulls, a document marker, ...) returns undefined, and the
 * caller reads the text with the generic `yaml` parser instead, which gives file:line messages for
 * hand-edited files. The fast path therefore either returns what `yaml` would return, or nothing.
 */
import { isAmbiguousPlainScalar } from './write.js';

class Fallback extends Error {}

const fallback = (): never => {
  throw new Fallback();
};

/** The document's data as `yaml`'s `toJS()` would give it, or undefined when the text is not in our layout. */
export function parseCanonicalLockfile(text: string): unknown {
  try {
    return new FastReader(text).document();
  } catch (err) {
    if (err instanceof Fallback) return undefined;
    throw err;
  }
}

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
/** Characters a plain scalar may not start with, and sequences it may not contain, in our subset. */
/** YAML 1.2 core schema: the plain scalars that are not strings. */
const CORE_SPECIAL = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^[-+]?[0-9]+$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?\.(?:inf|Inf|INF)$/,
  /^\.(?:nan|NaN|NAN)$/,
];
const PLAIN_START_BAD = /^[\s\-?:,[\]{}#&*!|>'"%@`]/;

class FastReader {
  /** Content lines as they are in the text (comments and blank lines dropped). */
  private readonly lines: string[];
  /** Where each line's content starts; for a mapping item's first key, after the `- `. */
  private readonly offs: number[] = [];
  /** The column the parser treats the content as starting at (= offs, kept apart for clarity). */
  private readonly indents: number[] = [];
  private i = 0;

  constructor(text: string) {
    if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) fallback();
    const raw = text.split('\n');
    const lines: string[] = [];
    for (const l of raw) {
      if (l.length === 0) continue;
      let n = 0;
      while (n < l.length && l.charCodeAt(n) === 32) n++;
      if (n === l.length) continue; // spaces only
      if (l.charCodeAt(n) === 35 /* # */) continue; // a full-line comment
      if (n === 0 && (l.startsWith('---') || l.startsWith('...') || l.startsWith('%'))) fallback();
      lines.push(l);
      this.offs.push(n);
      this.indents.push(n);
    }
    this.lines = lines;
  }

  document(): unknown {
    if (this.lines.length === 0 || this.indents[0] !== 0) fallback();
    const v = this.block(0);
    if (this.i !== this.lines.length) fallback();
    return v;
  }

  /** A block node whose lines start at `indent`. */
  /** The content of line `i` (from its current offset). */
  private text(i: number): string {
    const o = this.offs[i]!;
    return o === 0 ? this.lines[i]! : this.lines[i]!.slice(o);
  }

  private block(indent: number): unknown {
    const t = this.text(this.i);
    return t.startsWith('- ') || t === '-' ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.i < this.lines.length && this.indents[this.i] === indent) {
      const t = this.text(this.i);
      if (!t.startsWith('- ')) {
        if (t === '-') fallback();
        break;
      }
      const rest = t.slice(2);
      if (rest.startsWith(' ') || rest.startsWith('- ') || rest === '-') fallback();
      if (this.keyEnd(rest) >= 0) {
        // A mapping item: its first key sits on the dash line, the others two columns in.
        this.offs[this.i] = this.offs[this.i]! + 2;
        this.indents[this.i] = indent + 2;
        out.push(this.mapping(indent + 2));
      } else {
        out.push(this.inline(rest));
        this.i++;
      }
    }
    if (this.i < this.lines.length && this.indents[this.i]! > indent) fallback();
    return out;
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.i < this.lines.length && this.indents[this.i] === indent) {
      const t = this.text(this.i);
      if (t.startsWith('- ') || t === '-') fallback();
      const end = this.keyEnd(t);
      if (end < 0) fallback();
      const key = this.key(t.slice(0, end));
      if (Object.prototype.hasOwnProperty.call(out, key) || key === '__proto__') fallback();
      const rest = t.slice(end + 1);
      this.i++;
      if (rest.length === 0) {
        // The value is a nested block, indented further (a key with nothing under it is null: not ours).
        if (this.i >= this.lines.length) fallback();
        const next = this.indents[this.i]!;
        if (next !== indent + 2) fallback();
        out[key] = this.block(next);
      } else {
        if (rest.charCodeAt(0) !== 32 || rest.charCodeAt(1) === 32) fallback();
        out[key] = this.inline(rest.slice(1));
      }
    }
    if (this.i < this.lines.length && this.indents[this.i]! > indent) fallback();
    return out;
  }

  /** Index of the `:` that ends a mapping key on this line, or -1 when the line is not `key:` / `key: ...`. */
  private keyEnd(t: string): number {
    if (t.charCodeAt(0) === 39 /* ' */) {
      const close = singleQuotedEnd(t, 0);
      if (close < 0) fallback();
      if (t.charCodeAt(close + 1) !== 58 /* : */) return -1;
      const after = t.charCodeAt(close + 2);
      return Number.isNaN(after) || after === 32 ? close + 1 : -1;
    }
    if (t.charCodeAt(0) === 34 /* " */) {
      return -1;
    }
    const sp = t.indexOf(': ');
    if (sp >= 0) return sp;
    return t.endsWith(':') ? t.length - 1 : -1;
  }

  /** Plain keys already checked (a lockfile repeats a few dozen keys many times). */
  private readonly plainKeys = new Set<string>();

  private key(k: string): string {
    if (this.plainKeys.has(k)) return k;
    if (k.charCodeAt(0) === 39) return unquoteSingle(k);
    if (!PLAIN_KEY.test(k) || isAmbiguousPlainScalar(k)) fallback();
    this.plainKeys.add(k);
    return k;
  }

  /** A scalar or empty flow collection on one line. */
  private inline(s: string): unknown {
    const c = s.charCodeAt(0);
    if (c === 39) return unquoteSingle(s);
    if (c === 34) return unquoteDouble(s);
    if (s === '[]') return [];
    if (s === '{}') return {};
    if (isLetter(c) && s.length > 5 && !s.includes(': ') && !s.includes(' #') && !s.endsWith(' ') && !s.endsWith(':')) {
      // Starts with a letter and is longer than every YAML 1.1/1.2 bool/null word: a string.
      return s;
    }
    if (((c >= 48 && c <= 57) || c === 45) && DECIMAL.test(s)) {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || s === '-0') fallback();
      return n;
    }
    if (s === 'true') return true;
    if (s === 'false') return false;
    if (
      PLAIN_START_BAD.test(s) ||
      s.endsWith(' ') ||
      s.endsWith(':') ||
      s.includes(': ') ||
      s.includes(' #') ||
      isAmbiguousPlainScalar(s) || // a number, bool, null or date in YAML 1.1 or 1.2
      CORE_SPECIAL.some((re) => re.test(s)) // (the YAML 1.2 core forms, checked on their own too)
    ) {
      fallback();
    }
    return s;
  }
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 47; // a-z A-Z _ /
}

/** Index of the closing quote of a single-quoted scalar starting at `from`, or -1. */
function singleQuotedEnd(t: string, from: number): number {
  let j = from + 1;
  for (;;) {
    const q = t.indexOf("'", j);
    if (q < 0) return -1;
    if (t.charCodeAt(q + 1) === 39) {
      j = q + 2;
      continue;
    }
    return q;
  }
}

function unquoteSingle(s: string): string {
  const close = singleQuotedEnd(s, 0);
  if (close !== s.length - 1) fallback();
  const inner = s.slice(1, -1);
  return inner.includes("'") ? inner.replace(/''/g, "'") : inner;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

function unquoteDouble(s: string): string {
  if (s.length < 2 || s.charCodeAt(s.length - 1) !== 34) fallback();
  let out = '';
  const end = s.length - 1;
  for (let j = 1; j < end; j++) {
    const ch = s[j]!;
    if (ch === '"') fallback();
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = s[++j];
    if (e === undefined || j >= end) fallback();
    const simple = SIMPLE_ESCAPES[e!];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const len = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (len === 0) fallback();
    const hex = s.slice(j + 1, j + 1 + len);
    if (hex.length !== len || j + len >= end || !/^[0-9a-fA-F]+$/.test(hex)) fallback();
    const code = parseInt(hex, 16);
    if (code > 0x10ffff) fallback();
    out += String.fromCodePoint(code);
    j += len;
  }
  return out;
}
