/**
 * PEP 440 versions and specifiers (our own code; checked against pypa/packaging's vectors in
 * ../shared/fixtures/pypi/vectors, see test/pypi/pep440.test.ts).
 *
 * Why not @renovatebot/pep440: versions pass every vector, but its specifier matching fails 20 of
 * packaging's 188 `test_specifiers` cases (zero padding in `==2.0.*`, pre-release exclusive
 * ordering `>3.0.0a7`, local versions against `>1.0.dev1`) and accepts 4 invalid specifiers
 * (`==2.0a1.*`, `==2.0.post1.*`); 5.x also requires Node >= 22.11 while we support 20.18.
 * docs/pypi.md records the comparison.
 */
import { InputError } from '../errors.js';

export type PreKind = 'a' | 'b' | 'rc';

const VERSION_RE = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

/** Longest text we parse (packaging refuses absurdly long inputs too). */
const MAX_LEN = 1000;

function num(s: string | undefined): number {
  if (s === undefined) return 0;
  // Segments can exceed 2^53; compare as BigInt only when needed.
  const n = Number(s);
  return n;
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A string that is not a PEP 440 version (exit status 3, code E_PYPI_VERSION). */
export class InvalidVersion extends InputError {
  constructor(text: string) {
    super(`invalid PEP 440 version '${text}'`, { code: 'E_PYPI_VERSION' });
  }
}

interface VersionParts {
  epoch: number;
  release: number[];
  pre?: [PreKind, number];
  post?: number;
  dev?: number;
  local?: Array<string | number>;
}

export class Pep440Version {
  readonly epoch: number;
  readonly release: readonly number[];
  readonly pre?: readonly [PreKind, number];
  readonly post?: number;
  readonly dev?: number;
  /** Local segments (`ubuntu.1` → ['ubuntu', 1]); numbers as numbers. */
  readonly local?: ReadonlyArray<string | number>;
  /** The text as parsed. */
  readonly text: string;
  private normalisedCache?: string;

  private constructor(text: string, parts: VersionParts) {
    this.text = text;
    this.epoch = parts.epoch;
    this.release = parts.release;
    if (parts.pre) this.pre = parts.pre;
    if (parts.post !== undefined) this.post = parts.post;
    if (parts.dev !== undefined) this.dev = parts.dev;
    if (parts.local) this.local = parts.local;
  }

  static parse(text: string): Pep440Version {
    const v = Pep440Version.tryParse(text);
    if (!v) throw new InvalidVersion(text);
    return v;
  }

  static tryParse(text: string): Pep440Version | undefined {
    if (typeof text !== 'string' || text.length > MAX_LEN) return undefined;
    const m = VERSION_RE.exec(text);
    if (!m || !m.groups) return undefined;
    const g = m.groups;
    let pre: [PreKind, number] | undefined;
    if (g.pre_l) {
      const l = g.pre_l.toLowerCase();
      const kind: PreKind = l === 'alpha' || l === 'a' ? 'a' : l === 'beta' || l === 'b' ? 'b' : 'rc';
      pre = [kind, num(g.pre_n)];
    }
    let post: number | undefined;
    if (g.post) post = num(g.post_n1 ?? g.post_n2);
    const dev = g.dev ? num(g.dev_n) : undefined;
    const local = g.local
      ? g.local
          .toLowerCase()
          .split(/[-_.]/)
          .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s))
      : undefined;
    return new Pep440Version(text, {
      epoch: num(g.epoch),
      release: g.release!.split('.').map(Number),
      ...(pre ? { pre } : {}),
      ...(post !== undefined ? { post } : {}),
      ...(dev !== undefined ? { dev } : {}),
      ...(local ? { local } : {}),
    });
  }

  get major(): number {
    return this.release[0] ?? 0;
  }
  get minor(): number {
    return this.release[1] ?? 0;
  }
  get micro(): number {
    return this.release[2] ?? 0;
  }

  isPrerelease(): boolean {
    return this.pre !== undefined || this.dev !== undefined;
  }
  isDevrelease(): boolean {
    return this.dev !== undefined;
  }
  isPostrelease(): boolean {
    return this.post !== undefined;
  }

  /** The normalised form (`1.0.dev0`, `1!2.0rc1.post2+ubuntu.1`). */
  toString(): string {
    if (this.normalisedCache !== undefined) return this.normalisedCache;
    let s = this.public();
    if (this.local) s += `+${this.local.join('.')}`;
    this.normalisedCache = s;
    return s;
  }

  /** Everything but the local label. */
  public(): string {
    let s = this.baseVersion();
    if (this.pre) s += `${this.pre[0]}${this.pre[1]}`;
    if (this.post !== undefined) s += `.post${this.post}`;
    if (this.dev !== undefined) s += `.dev${this.dev}`;
    return s;
  }

  /** Epoch and release only. */
  baseVersion(): string {
    return (this.epoch ? `${this.epoch}!` : '') + this.release.join('.');
  }

  withoutLocal(): Pep440Version {
    if (!this.local) return this;
    return Pep440Version.parse(this.public());
  }

  equals(other: Pep440Version): boolean {
    return this.compare(other) === 0;
  }

  /** PEP 440 ordering (packaging's `_cmpkey`). */
  compare(o: Pep440Version): number {
    return (
      cmpNum(this.epoch, o.epoch) ||
      compareRelease(this.release, o.release) ||
      comparePre(this, o) ||
      cmpNum(this.post ?? -1, o.post ?? -1) ||
      cmpNum(this.dev ?? Infinity, o.dev ?? Infinity) ||
      compareLocal(this.local, o.local)
    );
  }
}

function compareRelease(a: readonly number[], b: readonly number[]): number {
  // Trailing zeros are insignificant.
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmpNum(a[i] ?? 0, b[i] ?? 0);
    if (c) return c;
  }
  return 0;
}

const PRE_ORDER: Record<PreKind, number> = { a: 0, b: 1, rc: 2 };

/** Pre-release key: a dev-only release sorts before any pre-release of it; a final release after. */
function preKey(v: Pep440Version): [number, number] {
  if (v.pre) return [PRE_ORDER[v.pre[0]], v.pre[1]];
  if (v.post === undefined && v.dev !== undefined) return [-1, 0];
  return [3, 0];
}

function comparePre(a: Pep440Version, b: Pep440Version): number {
  const ka = preKey(a);
  const kb = preKey(b);
  return cmpNum(ka[0], kb[0]) || cmpNum(ka[1], kb[1]);
}

function compareLocal(a?: ReadonlyArray<string | number>, b?: ReadonlyArray<string | number>): number {
  if (!a && !b) return 0;
  if (!a) return -1;
  if (!b) return 1;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') {
      const c = cmpNum(x, y);
      if (c) return c;
    } else if (typeof x === 'number') {
      return 1; // numeric segments sort after alphanumeric ones
    } else if (typeof y === 'number') {
      return -1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export function compareVersionStrings(a: string, b: string): number {
  return Pep440Version.parse(a).compare(Pep440Version.parse(b));
}

// --------------------------------------------------------------------------------------------
// Specifiers

export type Operator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';

/** A clause that is not a PEP 440 specifier (exit status 3, code E_PYPI_SPECIFIER). */
export class InvalidSpecifier extends InputError {
  constructor(text: string, why?: string) {
    super(`invalid PEP 440 specifier '${text}'${why ? `: ${why}` : ''}`, { code: 'E_PYPI_SPECIFIER' });
  }
}

const SPEC_RE = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;)]*)\s*$/;

/** One clause: `>=1.2`, `==1.2.*`, `~=2.0`, `===foo`. */
export class Specifier {
  readonly operator: Operator;
  /** The version text after the operator (without `.*`). */
  readonly versionText: string;
  readonly wildcard: boolean;
  readonly version?: Pep440Version;

  private constructor(op: Operator, versionText: string, wildcard: boolean, version?: Pep440Version) {
    this.operator = op;
    this.versionText = versionText;
    this.wildcard = wildcard;
    if (version) this.version = version;
  }

  static parse(text: string): Specifier {
    const m = SPEC_RE.exec(text);
    if (!m) throw new InvalidSpecifier(text);
    const op = m[1] as Operator;
    let vt = m[2]!;
    if (op === '===') {
      if (!vt) throw new InvalidSpecifier(text, 'no version');
      return new Specifier(op, vt, false);
    }
    let wildcard = false;
    if (vt.endsWith('.*')) {
      if (op !== '==' && op !== '!=') throw new InvalidSpecifier(text, `${op} does not take a .* suffix`);
      wildcard = true;
      vt = vt.slice(0, -2);
    }
    const v = Pep440Version.tryParse(vt);
    if (!v || /^\s|\s$/.test(vt) || vt === '') throw new InvalidSpecifier(text);
    if (wildcard && (v.pre || v.post !== undefined || v.dev !== undefined || v.local)) {
      throw new InvalidSpecifier(text, 'a prefix match takes a release only');
    }
    if (v.local && op !== '==' && op !== '!=') throw new InvalidSpecifier(text, `${op} does not take a local version`);
    if (op === '~=' && v.release.length < 2) throw new InvalidSpecifier(text, '~= needs at least two release segments');
    return new Specifier(op, vt, wildcard, v);
  }

  toString(): string {
    return `${this.operator}${this.versionText}${this.wildcard ? '.*' : ''}`;
  }

  /** Whether this clause on its own asks for pre-releases (`>=1.0rc1`). */
  allowsPrereleases(): boolean {
    if (this.operator === '!=' || !this.version) return false;
    if (this.operator === '===' ) return Pep440Version.tryParse(this.versionText)?.isPrerelease() ?? false;
    return this.version.isPrerelease();
  }

  /** Does `v` satisfy the clause (pre-release policy is the caller's: see SpecifierSet). */
  contains(v: Pep440Version | string): boolean {
    if (this.operator === '===') {
      const text = typeof v === 'string' ? v : v.text;
      return text.trim().toLowerCase() === this.versionText.toLowerCase();
    }
    const ver = typeof v === 'string' ? Pep440Version.tryParse(v) : v;
    if (!ver) return false;
    const spec = this.version!;
    switch (this.operator) {
      case '==':
        return this.wildcard ? prefixMatch(ver, spec) : exactMatch(ver, spec);
      case '!=':
        return this.wildcard ? !prefixMatch(ver, spec) : !exactMatch(ver, spec);
      case '~=': {
        const prefix = Pep440Version.parse((spec.epoch ? `${spec.epoch}!` : '') + spec.release.slice(0, -1).join('.'));
        return ver.withoutLocal().compare(spec) >= 0 && prefixMatch(ver, prefix);
      }
      case '<=':
        return ver.withoutLocal().compare(spec) <= 0;
      case '>=':
        return ver.withoutLocal().compare(spec) >= 0;
      case '<': {
        const w = ver.withoutLocal();
        if (w.compare(spec) >= 0) return false;
        // <V excludes pre-releases of V itself unless V is one.
        if (!spec.isPrerelease() && w.isPrerelease() && sameRelease(w, spec)) return false;
        return true;
      }
      case '>': {
        const w = ver.withoutLocal();
        if (w.compare(spec) <= 0) return false;
        // >V excludes post-releases of V unless V is one, and local versions of V.
        if (!spec.isPostrelease() && w.isPostrelease() && sameRelease(w, spec)) return false;
        if (ver.local && ver.withoutLocal().compare(spec) === 0) return false;
        return true;
      }
    }
    return false;
  }
}

function sameRelease(a: Pep440Version, b: Pep440Version): boolean {
  return a.epoch === b.epoch && compareRelease(a.release, b.release) === 0;
}

function exactMatch(v: Pep440Version, spec: Pep440Version): boolean {
  // A spec without a local label ignores the candidate's local label.
  const cand = spec.local ? v : v.withoutLocal();
  return cand.compare(spec) === 0;
}

/** `==1.2.*`: the candidate's public version, zero-padded, starts with the spec's release. */
function prefixMatch(v: Pep440Version, prefix: Pep440Version): boolean {
  if (v.epoch !== prefix.epoch) return false;
  const n = prefix.release.length;
  for (let i = 0; i < n; i++) {
    if ((v.release[i] ?? 0) !== prefix.release[i]) return false;
  }
  return true;
}

/** A comma-separated list of clauses (`>=1.0,!=1.3.*,<2`); empty means any version. */
export class SpecifierSet {
  readonly specifiers: readonly Specifier[];
  /** Explicit pre-release policy (undefined: allowed only when a clause names one). */
  readonly prereleases?: boolean;

  constructor(specifiers: readonly Specifier[], prereleases?: boolean) {
    this.specifiers = specifiers;
    if (prereleases !== undefined) this.prereleases = prereleases;
  }

  static parse(text: string, prereleases?: boolean): SpecifierSet {
    const t = text.trim();
    if (t === '') return new SpecifierSet([], prereleases);
    const parts = t.split(',');
    return new SpecifierSet(
      parts.map((p) => {
        if (p.trim() === '') throw new InvalidSpecifier(text, 'empty clause');
        return Specifier.parse(p);
      }),
      prereleases,
    );
  }

  get isAny(): boolean {
    return this.specifiers.length === 0;
  }

  /** Canonical text: clauses sorted, as packaging prints a SpecifierSet. */
  toString(): string {
    return this.specifiers
      .map((s) => s.toString())
      .sort()
      .join(',');
  }

  /** Whether the set lets pre-releases through: explicit policy, else any clause naming one. */
  allowsPrereleases(): boolean {
    if (this.prereleases !== undefined) return this.prereleases;
    return this.specifiers.some((s) => s.allowsPrereleases());
  }

  /** All clauses match (ignoring pre-release policy). */
  matchesIgnoringPrereleasePolicy(v: Pep440Version | string): boolean {
    return this.specifiers.every((s) => s.contains(v));
  }

  /**
   * packaging's `SpecifierSet.contains(v, prereleases)`: a pre-release matches only when allowed
   * (by argument, by the set's policy, or by a clause that names a pre-release).
   */
  contains(v: Pep440Version | string, prereleases?: boolean): boolean {
    const ver = typeof v === 'string' ? Pep440Version.tryParse(v) : v;
    if (!ver) return this.specifiers.length > 0 && this.specifiers.every((s) => s.operator === '===' && s.contains(v));
    const allow = prereleases ?? this.allowsPrereleases();
    if (!allow && ver.isPrerelease()) return false;
    return this.matchesIgnoringPrereleasePolicy(ver);
  }

  /**
   * packaging's `filter`: the matching versions; pre-releases only when allowed, or when nothing
   * but pre-releases matches (PEP 440's "accept pre-releases if they are the only candidates").
   */
  filter<T>(items: readonly T[], key: (t: T) => Pep440Version | string, prereleases?: boolean): T[] {
    const allow = prereleases ?? (this.prereleases !== undefined ? this.prereleases : this.specifiers.some((s) => s.allowsPrereleases()) ? true : undefined);
    const finals: T[] = [];
    const pres: T[] = [];
    for (const it of items) {
      const k = key(it);
      const ver = typeof k === 'string' ? Pep440Version.tryParse(k) : k;
      if (!ver) {
        if (this.specifiers.length === 0 || this.specifiers.every((s) => s.contains(k))) finals.push(it);
        continue;
      }
      if (!this.matchesIgnoringPrereleasePolicy(ver)) continue;
      if (ver.isPrerelease() && allow !== true) {
        if (allow === undefined) pres.push(it);
        continue;
      }
      finals.push(it);
    }
    return finals.length === 0 && allow === undefined ? pres : finals;
  }
}
