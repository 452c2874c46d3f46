/**
 * Conda version specs: `>=1.2,<2|==3.1.*`, `~=1.4.5`, `!=1.2.*`, `=1.2` (fuzzy), `1.2.*`, `1.2*`,
 * `1.2` (exact), `*`, parentheses, and conda's `^regex$` / inner-glob (`1.*.1`) forms.
 *
 * Grammar (`,` binds tighter than `|`; whitespace around operators and separators is ignored):
 *   or      := and ('|' and)*
 *   and     := primary (',' primary)*
 *   primary := '(' or ')' | term
 *   term    := [op] version | '*' | '^regex$'
 *
 * A trailing `.*` after `==`, `>=`, `>`, `<`, `<=` is ignored (as conda and rattler do: `==1.2.*` is
 * `==1.2`); after `=` it means "starts with"; after `!=` "does not start with"; after `~=` it is an error.
 * `~=1` (one component) means `>=1`.
 */
import { InvalidSpecError, InvalidVersionError } from '../errors.js';
import { Version } from './version.js';

export type VersionOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=' | '=*' | '!=*';

export type VersionConstraint =
  | { kind: 'any' }
  | { kind: 'op'; op: VersionOperator; version: Version }
  | { kind: 'regex'; source: string; regex: RegExp }
  | { kind: 'and'; items: VersionConstraint[] }
  | { kind: 'or'; items: VersionConstraint[] };

const OPERATOR = /^(~=|==|!=|<=|>=|<|>|=)/;

function specError(spec: string, why: string, cause?: unknown): InvalidSpecError {
  return new InvalidSpecError(`invalid version spec '${spec}': ${why}`, { cause });
}

function versionOf(spec: string, text: string): Version {
  try {
    return Version.parse(text);
  } catch (e) {
    if (e instanceof InvalidVersionError) throw specError(spec, e.message, e);
    throw e;
  }
}

/** Parse one term (no separators) into a constraint. */
function parseTerm(spec: string, term: string): VersionConstraint {
  if (term === '*' || term === '*.*') return { kind: 'any' };
  if (term.startsWith('^') || term.endsWith('$')) {
    if (!term.startsWith('^') || !term.endsWith('$')) throw specError(spec, "a regex spec must start with '^' and end with '$'");
    try {
      return { kind: 'regex', source: term, regex: new RegExp(term) };
    } catch (e) {
      throw specError(spec, `bad regular expression ${term}`, e);
    }
  }
  const m = OPERATOR.exec(term);
  if (m) {
    const op = m[1]!;
    let rest = term.slice(op.length).trim();
    if (rest === '') throw specError(spec, `operator '${op}' without a version`);
    if (/^[=<>!~]/.test(rest)) throw specError(spec, `invalid operator '${op}${rest[0]}'`);
    let glob = false;
    if (rest.endsWith('.*')) {
      // `2.7.*.*` (seen in the wild) means the same as `2.7.*`.
      while (rest.endsWith('.*')) rest = rest.slice(0, -2);
      glob = true;
    } else if ((op === '=' || op === '==' || op === '!=') && rest.endsWith('*')) {
      // `=1.2*`, `==1.2*`, `!=1.2*` read like their `.*` forms. (After `<`, `>`, ... conda keeps the
      // `*` as part of the version, where it sorts below `dev`: `>1.0.0*` matches 1.0.0.)
      rest = rest.replace(/\*+$/, '');
      glob = true;
    }
    if (rest === '' || rest === '*') {
      // `=*`, `>=*`: anything.
      if (op === '!=' || op === '~=' || op === '<' || op === '>') throw specError(spec, `operator '${op}' with '*'`);
      return { kind: 'any' };
    }
    if (glob && op === '~=') throw specError(spec, "'~=' cannot be combined with '.*'");
    const version = versionOf(spec, rest);
    let vop: VersionOperator;
    if (op === '=') vop = '=*';
    else if (op === '!=' && glob) vop = '!=*';
    // `==1.2.*` is `==1.2`: conda and rattler both drop the glob after `==` (and after <, <=, >, >=).
    else vop = op as VersionOperator;
    return { kind: 'op', op: vop, version };
  }
  // ('!' is also the epoch separator, `1!2.0`; the version parser checks it.)
  if (/[=<>~]/.test(term) || term.startsWith('!')) throw specError(spec, `misplaced operator in '${term}'`);
  const stripped = term.replace(/(\.?\*)+$/, '');
  if (stripped !== term && stripped !== '' && !stripped.includes('*')) return { kind: 'op', op: '=*', version: versionOf(spec, stripped) };
  const inner = term.replace(/\*+$/, '');
  if (inner.includes('*')) {
    // conda: a `*` inside the version is a glob over the version text.
    const rx = `^(?:${term.replace(/[.+?()[\]{}\\|^$]/g, '\\$&').replace(/\*/g, '.*')})$`;
    // Validate the literal parts so typos are still reported.
    for (const part of term.split('*')) {
      const p = part.replace(/^[._]+|[._]+$/g, '');
      if (p !== '') versionOf(spec, p);
    }
    return { kind: 'regex', source: term, regex: new RegExp(rx) };
  }
  if (term.endsWith('*')) {
    const base = inner.endsWith('.') ? inner.slice(0, -1) : inner;
    if (base === '') return { kind: 'any' };
    return { kind: 'op', op: '=*', version: versionOf(spec, base) };
  }
  return { kind: 'op', op: '==', version: versionOf(spec, term) };
}

type Token = { t: '(' | ')' | ',' | '|' } | { t: 'term'; v: string };

function tokenize(spec: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = spec.length;
  while (i < n) {
    const c = spec[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '|') {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === '^') {
      const end = spec.indexOf('$', i);
      if (end < 0) throw specError(spec, "a regex spec must start with '^' and end with '$'");
      out.push({ t: 'term', v: spec.slice(i, end + 1) });
      i = end + 1;
      continue;
    }
    // An operator may be followed by whitespace before its version.
    let j = i;
    const op = OPERATOR.exec(spec.slice(i));
    if (op) {
      j += op[1]!.length;
      while (j < n && /\s/.test(spec[j]!)) j++;
    }
    while (j < n && !/[\s(),|]/.test(spec[j]!)) j++;
    const term = spec.slice(i, j).replace(/\s+/g, '');
    out.push({ t: 'term', v: term });
    i = j;
  }
  return out;
}

function parseTree(spec: string): VersionConstraint {
  const tokens = tokenize(spec);
  if (tokens.length === 0) throw specError(spec, 'empty version spec');
  let pos = 0;
  const peek = () => tokens[pos];

  function parseOr(): VersionConstraint {
    const items = [parseAnd()];
    while (peek()?.t === '|') {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  function parseAnd(): VersionConstraint {
    const items = [parsePrimary()];
    while (peek()?.t === ',') {
      pos++;
      items.push(parsePrimary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }
  function parsePrimary(): VersionConstraint {
    const tok = tokens[pos];
    if (!tok) throw specError(spec, 'unexpected end of spec (dangling operator or separator)');
    if (tok.t === '(') {
      pos++;
      const inner = parseOr();
      if (tokens[pos]?.t !== ')') throw specError(spec, "missing ')'");
      pos++;
      return inner;
    }
    if (tok.t === 'term') {
      pos++;
      return parseTerm(spec, tok.v);
    }
    throw specError(spec, `unexpected '${tok.t}'`);
  }

  const tree = parseOr();
  if (pos < tokens.length) {
    const t = tokens[pos]!;
    throw specError(spec, t.t === 'term' ? `unexpected '${t.v}' (join constraints with ',' or '|')` : `unexpected '${t.t}'`);
  }
  return tree;
}

function simplify(c: VersionConstraint): VersionConstraint {
  if (c.kind === 'and') {
    const items = c.items.map(simplify).filter((x) => x.kind !== 'any');
    if (items.length === 0) return { kind: 'any' };
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }
  if (c.kind === 'or') {
    const items = c.items.map(simplify);
    if (items.some((x) => x.kind === 'any')) return { kind: 'any' };
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  return c;
}

function render(c: VersionConstraint, parent: 'and' | 'or' | 'top'): string {
  switch (c.kind) {
    case 'any':
      return '*';
    case 'regex':
      return c.source;
    case 'op':
      if (c.op === '=*') return `${c.version.text}.*`;
      if (c.op === '!=*') return `!=${c.version.text}.*`;
      return `${c.op}${c.version.text}`;
    case 'and':
      return c.items.map((x) => render(x, 'and')).join(',');
    case 'or': {
      const s = c.items.map((x) => render(x, 'or')).join('|');
      return parent === 'and' ? `(${s})` : s;
    }
  }
}

function test(c: VersionConstraint, v: Version): boolean {
  switch (c.kind) {
    case 'any':
      return true;
    case 'regex':
      return c.regex.test(v.text.toLowerCase());
    case 'op': {
      const w = c.version;
      switch (c.op) {
        case '==':
          return v.compare(w) === 0;
        case '!=':
          return v.compare(w) !== 0;
        case '<':
          return v.compare(w) < 0;
        case '<=':
          return v.compare(w) <= 0;
        case '>':
          return v.compare(w) > 0;
        case '>=':
          return v.compare(w) >= 0;
        case '~=':
          return v.compatibleWith(w);
        case '=*':
          return v.startsWith(w);
        case '!=*':
          return !v.startsWith(w);
      }
      return false;
    }
    case 'and':
      for (const x of c.items) if (!test(x, v)) return false;
      return true;
    case 'or':
      for (const x of c.items) if (test(x, v)) return true;
      return false;
  }
}

const CACHE_LIMIT = 20_000;

export class VersionSpec {
  /** The parsed constraint tree (simplified: `*` inside `,` is dropped, `|` with `*` becomes `*`). */
  readonly constraint: VersionConstraint;
  /** The text as given. */
  readonly source: string;
  private readonly canonical: string;

  private constructor(constraint: VersionConstraint, source: string) {
    this.constraint = constraint;
    this.source = source;
    this.canonical = render(constraint, 'top');
  }

  private static cache = new Map<string, VersionSpec>();

  /** Parse a version spec; throws InvalidSpecError naming the spec. Results are cached (specs are immutable). */
  static parse(input: string): VersionSpec {
    const hit = VersionSpec.cache.get(input);
    if (hit) return hit;
    if (typeof input !== 'string') throw new InvalidSpecError(`invalid version spec ${String(input)}: not a string`);
    const spec = new VersionSpec(simplify(parseTree(input)), input);
    if (VersionSpec.cache.size >= CACHE_LIMIT) VersionSpec.cache.clear();
    VersionSpec.cache.set(input, spec);
    return spec;
  }

  /** Build a spec from a constraint tree. */
  static fromConstraint(c: VersionConstraint): VersionSpec {
    const s = simplify(c);
    return new VersionSpec(s, render(s, 'top'));
  }

  /** A spec matching every version. */
  static readonly any: VersionSpec = VersionSpec.fromConstraint({ kind: 'any' });

  /** `==v` */
  static exact(v: Version | string): VersionSpec {
    const version = typeof v === 'string' ? Version.parse(v) : v;
    return VersionSpec.fromConstraint({ kind: 'op', op: '==', version });
  }

  /** `v.*` (conda's fuzzy `=v`). */
  static startsWith(v: Version | string): VersionSpec {
    const version = typeof v === 'string' ? Version.parse(v) : v;
    return VersionSpec.fromConstraint({ kind: 'op', op: '=*', version });
  }

  get isAny(): boolean {
    return this.constraint.kind === 'any';
  }

  /** The pinned version when the spec is a single `==v`. */
  get exactVersion(): Version | undefined {
    const c = this.constraint;
    return c.kind === 'op' && c.op === '==' ? c.version : undefined;
  }

  /** Does the version satisfy the spec? A string is parsed (InvalidVersionError if it is not a version). */
  matches(v: Version | string): boolean {
    return test(this.constraint, typeof v === 'string' ? Version.parse(v) : v);
  }

  /** Canonical text: `>=1.2,<2|3.1.*`, `==1.2`, `1.2.*`, `!=1.2.*`, `~=1.4`, `*`. Re-parses to an equal spec. */
  toString(): string {
    return this.canonical;
  }

  toJSON(): string {
    return this.canonical;
  }

  equals(other: VersionSpec): boolean {
    return this.canonical === other.canonical;
  }
}

export function parseVersionSpec(s: string): VersionSpec {
  return VersionSpec.parse(s);
}
