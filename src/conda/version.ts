/**
 * Conda package versions, ordered exactly like conda's `VersionOrder`.
 *
 * A version string is `[epoch!]public[+local]`:
 * - the text is compared case-insensitively (it is lower-cased before parsing);
 * - `-` is accepted as a separator when the string has no `_` (it is then read as `_`);
 * - `public` and `local` split into segments on `.` and `_`; a trailing `_` stays attached to the
 *   last segment (openssl-style `1.0.1_`, which sorts before `1.0.1a`);
 * - each segment splits into runs of digits (numbers), runs of `*`, and runs of other characters
 *   (strings); a segment that starts with a string gets an implicit leading `0`;
 * - `dev` sorts below every other string, `post` above every number and string, `*` below `dev`;
 *   other strings sort lexicographically and below any number;
 * - missing segments and atoms count as `0`, so trailing zeros are insignificant (`1 == 1.0 == 1.0.0`).
 *
 * `Version.parse` caches parsed instances; versions are immutable.
 */
import { InvalidVersionError } from '../errors.js';

/** One atom of a segment: a number, `Infinity` for `post`, or a lower-case string (`DEV` for `dev`). */
export type VersionAtom = number | bigint | string;
/** A segment: a run of atoms, always starting with a number. */
export type VersionSegment = readonly VersionAtom[];

const VALID = /^[*.+!_0-9a-z]+$/;
const ATOMS = /[0-9]+|\*+|[^0-9*]+/g;
/** Largest digit run that is exactly representable as a JS number. */
const MAX_SAFE_DIGITS = 15;
const CACHE_LIMIT = 50_000;

function fail(text: string, why: string): never {
  throw new InvalidVersionError(`invalid version '${text}': ${why}`);
}

function parseSegment(text: string, seg: string): VersionAtom[] {
  const runs = seg.match(ATOMS);
  if (!runs) fail(text, 'empty version component (two separators in a row, or a separator at an end)');
  const atoms: VersionAtom[] = [];
  const first = seg.charCodeAt(0);
  if (!(first >= 48 && first <= 57)) atoms.push(0);
  for (const run of runs) {
    const c = run.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      const digits = run.replace(/^0+(?=\d)/, '');
      atoms.push(digits.length > MAX_SAFE_DIGITS ? BigInt(digits) : Number(digits));
    } else if (run === 'post') atoms.push(Infinity);
    else if (run === 'dev') atoms.push('DEV');
    else atoms.push(run);
  }
  return atoms;
}

function splitSegments(text: string, part: string, keepTrailingUnderscore: boolean): string[] {
  if (keepTrailingUnderscore && part.endsWith('_')) {
    const segs = part.slice(0, -1).replace(/_/g, '.').split('.');
    segs[segs.length - 1] += '_';
    return segs;
  }
  return part.replace(/_/g, '.').split('.');
}

const EMPTY_SEGMENT: VersionSegment = [];

/** Are the first `n` atoms of two segments equal (missing atoms count as 0)? */
function segmentsEqual(s1: VersionSegment | undefined, s2: VersionSegment, n: number): boolean {
  const l1 = s1 ? s1.length : 0;
  const m = Math.min(n, Math.max(l1, s2.length));
  for (let j = 0; j < m; j++) {
    const a = j < l1 ? s1![j]! : 0;
    const b = j < s2.length ? s2[j]! : 0;
    if (a !== b) return false;
  }
  return true;
}

function compareAtoms(a: VersionAtom, b: VersionAtom): number {
  if (typeof a === 'string') {
    if (typeof b !== 'string') return -1;
    return a < b ? -1 : 1;
  }
  if (typeof b === 'string') return 1;
  return a < b ? -1 : 1;
}

/** Compare two segment lists with conda's fill rules (missing segment = [], missing atom = 0). */
function compareSegmentLists(x: readonly VersionSegment[], y: readonly VersionSegment[]): number {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const s1 = x[i];
    const s2 = y[i];
    if (s1 === s2) continue;
    const l1 = s1 ? s1.length : 0;
    const l2 = s2 ? s2.length : 0;
    const m = l1 > l2 ? l1 : l2;
    for (let j = 0; j < m; j++) {
      const a = j < l1 ? s1![j]! : 0;
      const b = j < l2 ? s2![j]! : 0;
      if (a === b) continue;
      return compareAtoms(a, b);
    }
  }
  return 0;
}

export class Version {
  /** The text as given (whitespace-trimmed); `toString()` returns it. */
  readonly text: string;
  readonly epoch: number;
  /** Segments of the public version (without the epoch). */
  readonly segments: readonly VersionSegment[];
  /** Segments of the local version (after `+`), empty when there is none. */
  readonly local: readonly VersionSegment[];
  /** The raw segment strings of the public version, used to build derived versions. */
  private readonly rawSegments: readonly string[];
  /** Epoch as segment 0, then the public segments: the list conda compares. */
  private readonly full: readonly VersionSegment[];

  private constructor(text: string, epoch: number, rawSegments: string[], segments: VersionSegment[], local: VersionSegment[]) {
    this.text = text;
    this.epoch = epoch;
    this.rawSegments = rawSegments;
    this.segments = segments;
    this.local = local;
    this.full = [[epoch], ...segments];
  }

  private static cache = new Map<string, Version>();

  /** Parse a conda version string; throws InvalidVersionError naming the string. Results are cached. */
  static parse(input: string): Version {
    const hit = Version.cache.get(input);
    if (hit) return hit;
    const v = Version.parseUncached(input);
    const cache = Version.cache;
    if (cache.size >= CACHE_LIMIT) {
      // Drop the oldest tenth in insertion order; cheap and keeps hot entries from a recent sort.
      let drop = CACHE_LIMIT / 10;
      for (const k of cache.keys()) {
        cache.delete(k);
        if (--drop <= 0) break;
      }
    }
    cache.set(input, v);
    return v;
  }

  /** Like parse, but returns undefined instead of throwing. */
  static tryParse(input: string): Version | undefined {
    try {
      return Version.parse(input);
    } catch (e) {
      if (e instanceof InvalidVersionError) return undefined;
      throw e;
    }
  }

  private static parseUncached(input: string): Version {
    if (typeof input !== 'string') throw new InvalidVersionError(`invalid version ${String(input)}: not a string`);
    const text = input.trim();
    if (text === '') fail(input, 'empty version string');
    if (/\s/.test(text)) fail(input, 'whitespace inside a version');
    let norm = text.toLowerCase();
    if (!VALID.test(norm)) {
      // conda: dashes are allowed as separators as long as there are no underscores as well.
      if (norm.includes('-') && !norm.includes('_')) norm = norm.replace(/-/g, '_');
      if (!VALID.test(norm)) fail(input, "invalid character(s) (allowed: letters, digits and . _ - + ! *)");
    }
    const bang = norm.split('!');
    let epoch = 0;
    if (bang.length === 2) {
      if (!/^[0-9]+$/.test(bang[0]!)) fail(input, 'epoch must be an integer');
      epoch = Number(bang[0]);
    } else if (bang.length > 2) fail(input, "duplicated epoch separator '!'");
    const rest = bang[bang.length - 1]!;
    const plus = rest.split('+');
    if (plus.length > 2) fail(input, "duplicated local version separator '+'");
    const pub = plus[0]!;
    if (pub === '') fail(input, plus.length === 2 ? "missing version before local version separator '+'" : 'empty version');
    const rawSegments = splitSegments(input, pub, true);
    const segments = rawSegments.map((s) => parseSegment(input, s));
    const local = plus.length === 2 ? splitSegments(input, plus[1]!, false).map((s) => parseSegment(input, s)) : [];
    return new Version(text, epoch, rawSegments, segments, local);
  }

  /** -1, 0 or 1 in conda's VersionOrder. */
  compare(other: Version): -1 | 0 | 1 {
    if (this === other) return 0;
    const c = compareSegmentLists(this.full, other.full) || compareSegmentLists(this.local, other.local);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }

  equals(other: Version): boolean {
    return this.compare(other) === 0;
  }

  lessThan(other: Version): boolean {
    return this.compare(other) < 0;
  }

  /**
   * conda's `startswith`: does this version begin with `prefix`, segment by segment, where the last
   * segment of the prefix may be a partial match (`1.2.3` starts with `1.2`, `2013ab` with `2013a`,
   * `1.0` with `1.0.0`, but `1.20` does not start with `1.2`)? With a local part in the prefix, the
   * public versions must be equal and the local parts are compared this way.
   */
  startsWith(prefix: Version): boolean {
    let t1: readonly VersionSegment[];
    let t2: readonly VersionSegment[];
    if (prefix.local.length > 0) {
      if (compareSegmentLists(this.full, prefix.full) !== 0) return false;
      t1 = this.local;
      t2 = prefix.local;
    } else {
      t1 = this.full;
      t2 = prefix.full;
    }
    const nt = t2.length - 1;
    // Segments before the prefix's last one must be equal (missing segments/atoms count as 0).
    for (let i = 0; i < nt; i++) if (!segmentsEqual(t1[i], t2[i]!, Infinity)) return false;
    const v1: VersionSegment = t1.length <= nt ? EMPTY_SEGMENT : t1[nt]!;
    const v2 = t2[nt]!;
    const na = v2.length - 1;
    // Within the last segment, all atoms but the prefix's last must be equal ...
    if (!segmentsEqual(v1, v2, na)) return false;
    // ... and the last one must match exactly (a number) or as a string prefix (`2013a` → `2013ab`).
    const c1 = v1.length <= na ? 0 : v1[na]!;
    const c2 = v2[na]!;
    if (typeof c2 === 'string') return typeof c1 === 'string' && c1.startsWith(c2);
    return c1 === c2;
  }

  /**
   * Does this version satisfy `~=base` (compatible release)? True when this >= base and this starts
   * with base minus its last segment (`~=1.4.5` is `>=1.4.5, 1.4.*`; `~=2.2` is `>=2.2, 2.*`).
   */
  compatibleWith(base: Version): boolean {
    if (this.compare(base) < 0) return false;
    const prefix = base.dropLast();
    // `~=2` is `>=2` within the same epoch.
    return prefix === undefined ? this.epoch === base.epoch : this.startsWith(prefix);
  }

  /** This version without its local part and its last public segment (undefined for a one-segment version). */
  private dropLast(): Version | undefined {
    if (this.rawSegments.length < 2) return undefined;
    const ep = this.epoch !== 0 || this.text.includes('!') ? `${this.epoch}!` : '';
    return Version.parse(ep + this.rawSegments.slice(0, -1).join('.'));
  }

  /**
   * A version with the leading number of the last public segment incremented and the rest of that
   * segment and any local part dropped: `1.2.3` → `1.2.4`, `1.1.1w` → `1.1.2`, `2!1.9rc1` → `2!1.10`.
   * Useful as an exclusive upper bound (`>=1.2.3,<1.2.4`).
   */
  bumpLast(): Version {
    const last = this.segments[this.segments.length - 1]!;
    const head = last[0]!;
    if (typeof head !== 'number' && typeof head !== 'bigint') throw new InvalidVersionError(`cannot bump version '${this.text}'`);
    const bumped = typeof head === 'bigint' ? (head + 1n).toString() : String(head + 1);
    const ep = this.epoch !== 0 || this.text.includes('!') ? `${this.epoch}!` : '';
    return Version.parse(ep + [...this.rawSegments.slice(0, -1), bumped].join('.'));
  }

  private _key?: string;

  /**
   * A string that is equal for two versions exactly when they compare equal (`1.0`, `1`, `1.0.0` and
   * `0!1_0` share one key), for use as a Map key.
   */
  get key(): string {
    if (this._key !== undefined) return this._key;
    const norm = (segs: readonly VersionSegment[]) => {
      const out = segs.map((seg) => {
        let n = seg.length;
        while (n > 0 && seg[n - 1] === 0) n--;
        return seg.slice(0, n).map((a) => (a === Infinity ? '~post' : String(a))).join(',');
      });
      while (out.length > 0 && out[out.length - 1] === '') out.pop();
      return out.join('.');
    };
    this._key = `${this.epoch}!${norm(this.segments)}+${norm(this.local)}`;
    return this._key;
  }

  /** True when a public segment contains `dev` (a development build). */
  get isDev(): boolean {
    for (const seg of this.segments) for (const a of seg) if (a === 'DEV') return true;
    return false;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }

  /** Comparator for Array.prototype.sort (ascending). */
  static compare(a: Version, b: Version): number {
    return a.compare(b);
  }
}

/** Compare two version strings in conda's order; throws InvalidVersionError for an invalid one. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return Version.parse(a).compare(Version.parse(b));
}

export function parseVersion(s: string): Version {
  return Version.parse(s);
}
