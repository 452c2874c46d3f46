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
const DIGIT_WORD = /^[0-9](?![xob])(?=[0-9a-z]*[a-df-z])[0-9a-z]+$/;
const PLAIN_START_BAD = /^[\s\-?:,[\]{}#&*!|>'"%@`]/;

class FastReader {
  private readonly src: string;
  /** Per content line (comments and blank lines dropped): where its content starts in `src` (for a
   * mapping item's first key, after the `- `), where the line ends, and the column the parser treats
   * the content as starting at. Offsets into the one text: no line is copied. */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly indents: Int32Array;
  private readonly count: number;
  private i = 0;

  constructor(text: string) {
    if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) fallback();
    this.src = text;
    let cap = 1024;
    let starts = new Int32Array(cap);
    let ends = new Int32Array(cap);
    let indents = new Int32Array(cap);
    let count = 0;
    const len = text.length;
    let pos = 0;
    while (pos < len) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = len;
      let c = pos;
      while (c < eol && text.charCodeAt(c) === 32) c++;
      // skip empty lines, lines of spaces and full-line comments
      if (c < eol && text.charCodeAt(c) !== 35 /* # */) {
        if (c === pos) {
          const ch = text.charCodeAt(c);
          if ((ch === 45 && text.startsWith('---', c)) || (ch === 46 && text.startsWith('...', c)) || ch === 37 /* % */) fallback();
        }
        if (count === cap) {
          cap *= 2;
          starts = grow(starts, cap);
          ends = grow(ends, cap);
          indents = grow(indents, cap);
        }
        starts[count] = c;
        ends[count] = eol;
        indents[count] = c - pos;
        count++;
      }
      pos = eol + 1;
    }
    this.starts = starts;
    this.ends = ends;
    this.indents = indents;
    this.count = count;
  }

  document(): unknown {
    if (this.count === 0 || this.indents[0] !== 0) fallback();
    const v = this.block(0);
    if (this.i !== this.count) fallback();
    return v;
  }

  /** Does line `i`'s content start with a sequence dash (`- ` or a lone `-`)? */
  private isDash(i: number): boolean {
    const s = this.starts[i]!;
    if (this.src.charCodeAt(s) !== 45 /* - */) return false;
    return s + 1 === this.ends[i]! || this.src.charCodeAt(s + 1) === 32;
  }

  /** A block node whose lines start at `indent`. */
  private block(indent: number): unknown {
    return this.isDash(this.i) ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    const src = this.src;
    while (this.i < this.count && this.indents[this.i] === indent) {
      const s = this.starts[this.i]!;
      const e = this.ends[this.i]!;
      if (!this.isDash(this.i)) break;
      if (s + 1 === e) fallback(); // a lone '-'
      const r = s + 2; // the item's content
      const c = src.charCodeAt(r);
      if (r >= e || c === 32 || (c === 45 && (r + 1 === e || src.charCodeAt(r + 1) === 32))) fallback();
      if (this.keyEnd(r, e) >= 0) {
        // A mapping item: its first key sits on the dash line, the others two columns in.
        this.starts[this.i] = r;
        this.indents[this.i] = indent + 2;
        out.push(this.mapping(indent + 2));
      } else {
        out.push(this.inline(src.slice(r, e)));
        this.i++;
      }
    }
    if (this.i < this.count && this.indents[this.i]! > indent) fallback();
    return out;
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const src = this.src;
    while (this.i < this.count && this.indents[this.i] === indent) {
      if (this.isDash(this.i)) fallback();
      const s = this.starts[this.i]!;
      const e = this.ends[this.i]!;
      const end = this.keyEnd(s, e);
      if (end < 0) fallback();
      const key = this.key(s, end);
      if (Object.prototype.hasOwnProperty.call(out, key) || key === '__proto__') fallback();
      this.i++;
      if (end + 1 === e) {
        // The value is a nested block, indented further (a key with nothing under it is null: not ours).
        if (this.i >= this.count) fallback();
        const next = this.indents[this.i]!;
        if (next !== indent + 2) fallback();
        out[key] = this.block(next);
      } else {
        if (src.charCodeAt(end + 1) !== 32 || end + 2 === e || src.charCodeAt(end + 2) === 32) fallback();
        out[key] = this.inline(src.slice(end + 2, e));
      }
    }
    if (this.i < this.count && this.indents[this.i]! > indent) fallback();
    return out;
  }

  /** Offset of the `:` that ends a mapping key in src[s, e), or -1 when the line is not `key:` / `key: ...`. */
  private keyEnd(s: number, e: number): number {
    const src = this.src;
    const c0 = src.charCodeAt(s);
    if (c0 === 39 /* ' */) {
      const close = singleQuotedEnd(src, s);
      if (close < 0 || close >= e) fallback();
      if (close + 1 >= e || src.charCodeAt(close + 1) !== 58 /* : */) return -1;
      return close + 2 === e || src.charCodeAt(close + 2) === 32 ? close + 1 : -1;
    }
    if (c0 === 34 /* " */) return -1;
    for (let j = s; j < e - 1; j++) {
      if (src.charCodeAt(j) === 58 && src.charCodeAt(j + 1) === 32) return j;
    }
    return src.charCodeAt(e - 1) === 58 ? e - 1 : -1;
  }

  /** Plain keys already checked, by length and first character (a lockfile repeats a few dozen keys many times). */
  private readonly plainKeys = new Map<number, string[]>();

  /** The key in src[s, end). */
  private key(s: number, end: number): string {
    const src = this.src;
    const c0 = src.charCodeAt(s);
    if (c0 === 39) return unquoteSingle(src.slice(s, end));
    const slot = (end - s) * 128 + (c0 & 127);
    const known = this.plainKeys.get(slot);
    if (known !== undefined) {
      for (const k of known) if (src.startsWith(k, s)) return k;
    }
    const k = src.slice(s, end);
    if (!PLAIN_KEY.test(k) || isAmbiguousPlainScalar(k)) fallback();
    if (known !== undefined) known.push(k);
    else this.plainKeys.set(slot, [k]);
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
    if (c >= 48 && c <= 57 && s.length > 5 && DIGIT_WORD.test(s)) {
      // A digest such as an md5 or sha256: digits and lowercase letters with a letter other than e
      // (so not a number in any YAML), not 0x/0o/0b, no indicator characters: a string.
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

function grow(a: Int32Array, cap: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
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
