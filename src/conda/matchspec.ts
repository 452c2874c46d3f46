/**
 * Conda match specs: `[channel[/subdir]::][namespace:]name [version [build]][key=value, ...]`.
 *
 * Positional forms: `name`, `name 1.2`, `name 1.2 build*`, `name=1.2` (fuzzy: `1.2.*`), `name=1.2=build`
 * (exact version when a build is given, as conda does), `name==1.2`, `name>=1.2,<2`, `name 1.2.*`,
 * `name * build`. Bracket keys (`version`, `build`, `build_number`, `channel`, `subdir`, `md5`, `sha256`,
 * `fn`, `url`, `license`, `track_features`, `namespace`) override the positional parts; values may be
 * single-, double- or un-quoted. A URL or path of a `.conda` / `.tar.bz2` file is also a match spec.
 *
 * A bare version in the version position (`name 1.2`) is exact (`==1.2`) like conda; pass
 * `{ exactVersionIsFuzzy: true }` to read it as `1.2.*` instead.
 */
import { InvalidSpecError } from '../errors.js';
import { DEFAULTS_CHANNEL_URLS_WIN } from './channel.js';
import { stripTokenSegment, stripUserinfo } from '../net/redact.js';
import { globMatcher, isGlob } from './glob.js';
import { isCondaSubdir } from './platform.js';
import { featureList, type PackageRecord, type RepoDataRecord } from './record.js';
import { Version } from './version.js';
import { VersionSpec } from './version-spec.js';


const BRACKET_KEYS = new Set([
  'version',
  'build',
  'build_number',
  'channel',
  'subdir',
  'md5',
  'sha256',
  'fn',
  'url',
  'license',
  'license_family',
  'track_features',
  'namespace',
  'name',
]);

function specError(spec: string, why: string, cause?: unknown): InvalidSpecError {
  return new InvalidSpecError(`invalid match spec '${spec}': ${why}`, { cause });
}

// ---------------------------------------------------------------------------------------------
// Build numbers
// ---------------------------------------------------------------------------------------------

type NumberOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** A constraint on an integer (build_number): `3`, `==3`, `>=3`, `>=3,<5`, `1|2`, `*`. */
export class NumberSpec {
  /** OR of ANDs of single comparisons; empty means any. */
  private readonly alternatives: { op: NumberOp; value: number }[][];
  private readonly canonical: string;

  private constructor(alternatives: { op: NumberOp; value: number }[][]) {
    this.alternatives = alternatives;
    this.canonical =
      alternatives.length === 0
        ? '*'
        : alternatives.map((and) => and.map((t) => (t.op === '==' ? String(t.value) : `${t.op}${t.value}`)).join(',')).join('|');
  }

  static parse(input: string | number): NumberSpec {
    if (typeof input === 'number') {
      if (!Number.isInteger(input) || input < 0) throw new InvalidSpecError(`invalid build number spec '${input}': not a non-negative integer`);
      return new NumberSpec([[{ op: '==', value: input }]]);
    }
    const text = input.replace(/\s+/g, '');
    if (text === '*') return new NumberSpec([]);
    if (text === '') throw new InvalidSpecError(`invalid build number spec '${input}': empty`);
    const alternatives = text.split('|').map((alt) =>
      alt.split(',').map((term) => {
        const m = /^(==|!=|<=|>=|<|>|=)?([0-9]+)$/.exec(term);
        if (!m) throw new InvalidSpecError(`invalid build number spec '${input}': '${term}' is not an integer or a comparison with one`);
        const op = (m[1] === undefined || m[1] === '=' ? '==' : m[1]) as NumberOp;
        return { op, value: Number(m[2]) };
      }),
    );
    return new NumberSpec(alternatives);
  }

  get isAny(): boolean {
    return this.alternatives.length === 0;
  }

  matches(n: number): boolean {
    if (this.alternatives.length === 0) return true;
    outer: for (const and of this.alternatives) {
      for (const t of and) {
        const ok =
          t.op === '=='
            ? n === t.value
            : t.op === '!='
              ? n !== t.value
              : t.op === '<'
                ? n < t.value
                : t.op === '<='
                  ? n <= t.value
                  : t.op === '>'
                    ? n > t.value
                    : n >= t.value;
        if (!ok) continue outer;
      }
      return true;
    }
    return false;
  }

  toString(): string {
    return this.canonical;
  }

  toJSON(): string {
    return this.canonical;
  }
}

// ---------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------

function stripSlashes(s: string): string {
  return s.replace(/\/+$/, '');
}

/** Drop `/t/<token>` and `user:password@` from a URL-ish string, and a trailing subdir. */
function normaliseChannelUrl(url: string): string {
  let u = stripUserinfo(stripTokenSegment(stripSlashes(url.trim())));
  const last = u.slice(u.lastIndexOf('/') + 1);
  if (isCondaSubdir(last)) u = u.slice(0, u.lastIndexOf('/'));
  return u.toLowerCase();
}

const DEFAULTS_MEMBERS: ReadonlySet<string> = new Set(DEFAULTS_CHANNEL_URLS_WIN.map((u) => u.toLowerCase()));

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
}

/**
 * Does a spec's channel (a name like `conda-forge`, `pytorch/label/nightly`, or a URL) designate the
 * record's channel (normally the canonical URL `https://conda.anaconda.org/conda-forge`, possibly a plain name)?
 * A URL spec compares whole URLs (without token / credentials / trailing subdir); a name compares with the
 * record channel's name, i.e. the trailing path segments of its URL.
 */
export function channelMatches(specChannel: string, recordChannel: string | undefined): boolean {
  if (recordChannel === undefined || recordChannel === '') return false;
  const rec = normaliseChannelUrl(recordChannel);
  const want = normaliseChannelUrl(specChannel);
  if (want === rec) return true;
  // `defaults` is a multichannel: as in conda (ChannelMatch compares canonical names), `defaults::x`
  // matches records of any of its channels (pkgs/main, pkgs/r, pkgs/msys2).
  if (want === 'defaults' && (DEFAULTS_MEMBERS.has(rec) || DEFAULTS_MEMBERS.has(`https://repo.anaconda.com/${rec}`))) return true;
  const pathOf = (u: string) => u.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/, '');
  if (isUrl(want)) return !isUrl(rec) && pathOf(want).endsWith(`/${rec}`);
  if (!isUrl(rec)) return false;
  // A name: the record URL must end with "/<name>".
  const path = pathOf(rec);
  return path === `/${want}` || path.endsWith(`/${want}`);
}

// ---------------------------------------------------------------------------------------------
// MatchSpec
// ---------------------------------------------------------------------------------------------

export interface MatchSpecFields {
  name: string;
  version?: VersionSpec;
  build?: string;
  buildNumber?: NumberSpec;
  channel?: string;
  subdir?: string;
  namespace?: string;
  md5?: string;
  sha256?: string;
  fn?: string;
  url?: string;
  license?: string;
  /** Glob, compared case-insensitively (`*gpl*` matches `LGPL`). */
  licenseFamily?: string;
  trackFeatures?: string[];
}

export interface MatchSpecParseOptions {
  /** Read a bare `name 1.2` as `1.2.*` (conda reads it as `==1.2`). */
  exactVersionIsFuzzy?: boolean;
}

const NAME_RE = /^[a-z0-9_.*+-]+$/;

function quoteValue(v: string): string {
  return v.includes('"') ? `'${v}'` : `"${v}"`;
}

/** Parse the inside of `[...]`: `key=value` pairs separated by commas or spaces; values optionally quoted. */
function parseBrackets(spec: string, inner: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = inner.length;
  const skipSep = () => {
    while (i < n && /[\s,]/.test(inner[i]!)) i++;
  };
  skipSep();
  while (i < n) {
    const km = /^([A-Za-z0-9_-]+)\s*=\s*/.exec(inner.slice(i));
    if (!km) throw specError(spec, `expected key=value in brackets at '${inner.slice(i)}'`);
    const key = km[1]!.toLowerCase();
    i += km[0].length;
    let value: string;
    const q = inner[i];
    if (q === '"' || q === "'") {
      const end = inner.indexOf(q, i + 1);
      if (end < 0) throw specError(spec, `unterminated quote in value of '${key}'`);
      value = inner.slice(i + 1, end);
      i = end + 1;
      if (i < n && !/[\s,]/.test(inner[i]!)) throw specError(spec, `unexpected text after quoted value of '${key}'`);
    } else {
      let j = i;
      while (j < n && inner[j] !== ',' && !/\s/.test(inner[j]!)) j++;
      value = inner.slice(i, j);
      i = j;
    }
    if (!BRACKET_KEYS.has(key)) throw specError(spec, `unknown bracket key '${key}' (known: ${[...BRACKET_KEYS].join(', ')})`);
    if (out.has(key)) throw specError(spec, `duplicate bracket key '${key}'`);
    out.set(key, value.trim());
    skipSep();
  }
  return out;
}

/** Index of the `]` closing the `[` at `open` (quotes respected), or -1. */
function closingBracket(s: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') return -1;
    else if (c === ']') return i;
  }
  return -1;
}

/** Index of a `#` that starts a comment (not inside `[...]` or quotes), or -1. */
function commentStart(s: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (depth > 0 && (c === '"' || c === "'")) quote = c;
    else if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === '#' && depth === 0) return i;
  }
  return -1;
}

/** Can a value stand in the positional part of a spec (no spaces, operators, brackets or comments)? */
const POSITIONAL_BUILD = /^[^\s=<>!~,|[\]#'"]+$/;
const POSITIONAL_VERSION = /^[^\s[\]#'"]+$/;

/** Split `version [build]` text (name already removed), following conda's rules. */
function splitVersionBuild(spec: string, rest: string): { version?: string; build?: string } {
  // Whitespace after an operator or around ',' / '|' belongs to the version.
  const t = rest
    .trim()
    .replace(/\s*([,|])\s*/g, '$1')
    .replace(/(~=|==|!=|<=|>=|<|>|=)\s+/g, '$1')
    .replace(/\(\s+/g, '(')
    .replace(/\s+\)/g, ')');
  if (t === '') return {};
  const parts = t.split(/\s+/);
  if (parts.length > 2) throw specError(spec, `too many space-separated parts in '${rest.trim()}' (expected: version [build])`);
  if (parts.length === 2) {
    const build = parts[1]!.replace(/^=/, '');
    if (build === '' || /[=<>!~,|]/.test(build)) throw specError(spec, `invalid build string '${parts[1]}'`);
    return { version: parts[0]!, build };
  }
  const one = parts[0]!;
  // `1.2=build`, `=1.2=build`, `==1.2=build`: the last '=' that is not part of an operator.
  for (let k = one.length - 1; k > 0; k--) {
    if (one[k] !== '=') continue;
    const prev = one[k - 1]!;
    if ('=!<>~|,'.includes(prev)) break;
    const build = one.slice(k + 1);
    if (build === '' || /[-=<>!~,|]/.test(build)) break;
    return { version: one.slice(0, k), build };
  }
  return { version: one };
}

/** conda's translation of the positional version text into a VersionSpec. */
function positionalVersion(spec: string, text: string, hasBuild: boolean, opts: MatchSpecParseOptions): VersionSpec {
  const parse = (s: string) => {
    try {
      return VersionSpec.parse(s);
    } catch (e) {
      throw specError(spec, (e as Error).message, e);
    }
  };
  if (text === '==') throw specError(spec, `operator '${text}' without a version`);
  if (text.startsWith('==') && !/[=,|<>!~()]/.test(text.slice(2))) {
    // `name==1.2` is exact (and so is `==1.2.*`, as in conda and rattler).
    return parse(text);
  }
  if (text.startsWith('=') && !text.startsWith('==') && !/[=,|()]/.test(text.slice(1))) {
    const v = text.slice(1);
    // `name=1.2` is fuzzy (1.2.*); `name=1.2=build` pins the version exactly (conda).
    if (!hasBuild && !v.endsWith('*')) return parse(`${v}.*`);
    return parse(v);
  }
  if (opts.exactVersionIsFuzzy && /^[A-Za-z0-9._+!-]+$/.test(text) && /^[A-Za-z0-9]/.test(text)) return parse(`${text}.*`);
  return parse(text);
}

function parsePackageUrl(spec: string, s: string): MatchSpec {
  let url = s;
  let md5: string | undefined;
  let sha256: string | undefined;
  const hash = url.indexOf('#');
  if (hash >= 0) {
    const frag = url.slice(hash + 1).toLowerCase();
    url = url.slice(0, hash);
    if (/^[0-9a-f]{32}$/.test(frag)) md5 = frag;
    else if (/^(sha256:)?[0-9a-f]{64}$/.test(frag)) sha256 = frag.replace(/^sha256:/, '');
    else if (frag !== '') throw specError(spec, `unrecognised hash fragment '#${frag}' (expected an md5 or sha256)`);
  }
  const slash = url.replace(/\\/g, '/');
  const segs = slash.split('/');
  const fn = segs[segs.length - 1]!;
  const stem = fn.endsWith('.conda') ? fn.slice(0, -'.conda'.length) : fn.slice(0, -'.tar.bz2'.length);
  const b = stem.lastIndexOf('-');
  const v = b > 0 ? stem.lastIndexOf('-', b - 1) : -1;
  if (v <= 0) throw specError(spec, `package file name '${fn}' is not name-version-build`);
  const subdir = segs.length >= 2 ? segs[segs.length - 2] : undefined;
  const channel = segs.length >= 3 && subdir !== undefined && isCondaSubdir(subdir) ? segs.slice(0, -2).join('/') : undefined;
  let version: VersionSpec;
  try {
    version = VersionSpec.exact(stem.slice(v + 1, b));
  } catch (e) {
    throw specError(spec, (e as Error).message, e);
  }
  return new MatchSpec({
    name: stem.slice(0, v).toLowerCase(),
    version,
    build: stem.slice(b + 1),
    channel: channel || undefined,
    subdir: subdir !== undefined && isCondaSubdir(subdir) ? subdir : undefined,
    fn,
    url,
    md5,
    sha256,
  });
}

export class MatchSpec implements MatchSpecFields {
  readonly name: string;
  readonly version?: VersionSpec;
  /** Build string glob (`*` wildcard) or `^regex$`. */
  readonly build?: string;
  readonly buildNumber?: NumberSpec;
  /** Channel name or URL as written (without a trailing subdir, which goes to `subdir`). */
  readonly channel?: string;
  readonly subdir?: string;
  readonly namespace?: string;
  readonly md5?: string;
  readonly sha256?: string;
  readonly fn?: string;
  readonly url?: string;
  readonly license?: string;
  readonly licenseFamily?: string;
  readonly trackFeatures?: string[];

  private _key?: string;
  private readonly nameMatch: (s: string) => boolean;
  private readonly buildMatch?: (s: string) => boolean;
  private readonly licenseMatch?: (s: string) => boolean;
  private readonly licenseFamilyMatch?: (s: string) => boolean;

  constructor(fields: MatchSpecFields) {
    const name = fields.name.toLowerCase();
    if (!NAME_RE.test(name)) throw new InvalidSpecError(`invalid package name '${fields.name}' (allowed: a-z 0-9 _ . - + and * globs)`);
    this.name = name;
    if (fields.version && !fields.version.isAny) this.version = fields.version;
    // A `*` build is no constraint; dropping it keeps keys of equal specs equal.
    if (fields.build !== undefined && fields.build !== '' && fields.build !== '*') this.build = fields.build;
    if (fields.buildNumber && !fields.buildNumber.isAny) this.buildNumber = fields.buildNumber;
    if (fields.channel) this.channel = stripSlashes(fields.channel);
    if (fields.subdir) this.subdir = fields.subdir;
    if (fields.namespace) this.namespace = fields.namespace;
    if (fields.md5) this.md5 = fields.md5.toLowerCase();
    if (fields.sha256) this.sha256 = fields.sha256.toLowerCase();
    if (fields.fn) this.fn = fields.fn;
    if (fields.url) this.url = fields.url;
    if (fields.license) this.license = fields.license;
    if (fields.licenseFamily) this.licenseFamily = fields.licenseFamily;
    if (fields.trackFeatures && fields.trackFeatures.length > 0) this.trackFeatures = [...fields.trackFeatures].sort();
    this.nameMatch = globMatcher(this.name);
    if (this.build !== undefined) this.buildMatch = globMatcher(this.build);
    if (this.license !== undefined) this.licenseMatch = globMatcher(this.license);
    if (this.licenseFamily !== undefined) this.licenseFamilyMatch = globMatcher(this.licenseFamily.toLowerCase());
  }

  /** Parse a match spec; throws InvalidSpecError naming the spec. */
  static parse(input: string, opts: MatchSpecParseOptions = {}): MatchSpec {
    if (typeof input !== 'string') throw new InvalidSpecError(`invalid match spec ${String(input)}: not a string`);
    const spec = input;
    let s = input.trim();
    // A package file URL or path.
    const noFrag = s.replace(/#.*$/, '');
    if (/\.(conda|tar\.bz2)$/.test(noFrag) && !s.includes('[') && (isUrl(s) || /^(\/|\.{1,2}[\\/]|~\/|[A-Za-z]:[\\/])/.test(s)))
      return parsePackageUrl(spec, s);
    // Comments: a '#' outside a bracket section.
    const hash = commentStart(s);
    if (hash >= 0) s = s.slice(0, hash).trim();
    if (s === '') throw specError(spec, 'empty match spec');

    // Bracket section.
    let brackets = new Map<string, string>();
    const open = s.indexOf('[');
    if (open >= 0) {
      const close = closingBracket(s, open);
      if (close < 0) throw specError(spec, "unbalanced '[' (a bracket section needs a closing ']')");
      if (close !== s.length - 1) {
        throw specError(spec, s.slice(close + 1).includes('[') ? 'multiple or nested bracket sections' : 'a bracket section must come last');
      }
      brackets = parseBrackets(spec, s.slice(open + 1, close));
      s = s.slice(0, open).trim();
    } else if (s.includes(']')) {
      throw specError(spec, "unbalanced ']'");
    }

    // Channel (and subdir) before '::'.
    let channel: string | undefined;
    let subdir: string | undefined;
    const dc = s.lastIndexOf('::');
    if (dc >= 0) {
      const ch = stripSlashes(s.slice(0, dc).trim());
      s = s.slice(dc + 2).trim();
      if (ch !== '' && ch !== '*') {
        const slash = ch.lastIndexOf('/');
        const last = ch.slice(slash + 1);
        if (slash > 0 && isCondaSubdir(last)) {
          channel = ch.slice(0, slash);
          subdir = last;
        } else channel = ch;
        // `*/linux-64::name` constrains only the subdir.
        if (channel === '*') channel = undefined;
        if (channel !== undefined && /\s/.test(channel)) throw specError(spec, `channel '${ch}' contains whitespace`);
      }
    }

    // Name (and optional namespace) up to the first space or operator.
    const nm = /^([^\s=<>!~]+)(.*)$/s.exec(s);
    if (!nm) throw specError(spec, 'no package name found');
    let name = nm[1]!;
    const rest = nm[2]!;
    let namespace: string | undefined;
    if (name.includes(':')) {
      // `namespace:name`, or conda's `channel:namespace:name`.
      const parts = name.split(':');
      if (parts.length === 3 && channel === undefined && parts[0] !== '') channel = parts.shift();
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw specError(spec, `bad namespace:name '${nm[1]}'`);
      namespace = parts[0];
      name = parts[1]!;
    }
    if (name === '') throw specError(spec, 'no package name found');
    if (!NAME_RE.test(name.toLowerCase())) throw specError(spec, `invalid package name '${name}' (allowed: a-z 0-9 _ . - + and * globs)`);

    const { version: vtext, build: btext } = splitVersionBuild(spec, rest);
    let version: VersionSpec | undefined;
    let build = btext;
    // conda reads `name=` as just `name`.
    if (vtext !== undefined && vtext !== '=') version = positionalVersion(spec, vtext, btext !== undefined, opts);

    // Bracket keys override positional parts.
    const parseVs = (v: string) => {
      try {
        return VersionSpec.parse(v);
      } catch (e) {
        throw specError(spec, (e as Error).message, e);
      }
    };
    let buildNumber: NumberSpec | undefined;
    let md5: string | undefined;
    let sha256: string | undefined;
    let fn: string | undefined;
    let url: string | undefined;
    let license: string | undefined;
    let licenseFamily: string | undefined;
    let trackFeatures: string[] | undefined;
    for (const [key, value] of brackets) {
      switch (key) {
        case 'version':
          version = parseVs(value);
          break;
        case 'build':
          build = value;
          break;
        case 'build_number':
          try {
            buildNumber = NumberSpec.parse(value);
          } catch (e) {
            throw specError(spec, (e as Error).message, e);
          }
          break;
        case 'channel': {
          const ch = stripSlashes(value);
          const slash = ch.lastIndexOf('/');
          if (slash > 0 && isCondaSubdir(ch.slice(slash + 1))) {
            channel = ch.slice(0, slash);
            subdir ??= ch.slice(slash + 1);
          } else channel = ch || undefined;
          break;
        }
        case 'subdir':
          subdir = value;
          break;
        case 'md5':
          if (!/^[0-9a-fA-F]+$/.test(value)) throw specError(spec, `md5 '${value}' is not hexadecimal`);
          md5 = value;
          break;
        case 'sha256':
          if (!/^[0-9a-fA-F]+$/.test(value)) throw specError(spec, `sha256 '${value}' is not hexadecimal`);
          sha256 = value;
          break;
        case 'fn':
          fn = value;
          break;
        case 'url':
          url = value;
          break;
        case 'license':
          license = value;
          break;
        case 'license_family':
          licenseFamily = value;
          break;
        case 'track_features':
          trackFeatures = featureList(value);
          break;
        case 'namespace':
          namespace = value;
          break;
        case 'name':
          // As in conda, a bracket name never overrides a positional one; it only fills in `*`.
          if (name === '*' && value !== '') name = value;
          break;
      }
    }
    try {
      return new MatchSpec({ name, version, build, buildNumber, channel, subdir, namespace, md5, sha256, fn, url, license, licenseFamily, trackFeatures });
    } catch (e) {
      throw specError(spec, (e as Error).message, e);
    }
  }

  /** Is the spec just a name (any version/build of the package)? */
  get isNameOnly(): boolean {
    return (
      (this.version === undefined || this.version.isAny) &&
      this.build === undefined &&
      this.buildNumber === undefined &&
      this.channel === undefined &&
      this.subdir === undefined &&
      this.md5 === undefined &&
      this.sha256 === undefined &&
      this.fn === undefined &&
      this.url === undefined &&
      this.license === undefined &&
      this.licenseFamily === undefined &&
      this.trackFeatures === undefined
    );
  }

  /** Does the name contain a `*` glob? */
  get hasNameGlob(): boolean {
    return isGlob(this.name);
  }

  /**
   * Does `record` satisfy every field of the spec? A channel spec never matches a record without a channel
   * (virtual packages). Pass the record's already-parsed version to skip the version cache lookup.
   */
  matches(record: PackageRecord | RepoDataRecord, version?: Version): boolean {
    if (!this.nameMatch(record.name)) return false;
    if (this.version !== undefined) {
      const v = version ?? Version.tryParse(record.version);
      if (v === undefined || !this.version.matches(v)) return false;
    }
    if (this.buildMatch !== undefined && !this.buildMatch(record.build)) return false;
    if (this.buildNumber !== undefined && !this.buildNumber.matches(record.build_number)) return false;
    if (this.subdir !== undefined && record.subdir !== this.subdir) return false;
    if (this.md5 !== undefined && record.md5?.toLowerCase() !== this.md5) return false;
    if (this.sha256 !== undefined && record.sha256?.toLowerCase() !== this.sha256) return false;
    if (this.licenseMatch !== undefined && (record.license === undefined || !this.licenseMatch(record.license))) return false;
    if (this.licenseFamilyMatch !== undefined && (record.license_family === undefined || !this.licenseFamilyMatch(record.license_family.toLowerCase())))
      return false;
    if (this.trackFeatures !== undefined) {
      const have = new Set(featureList(record.track_features));
      if (have.size !== this.trackFeatures.length || this.trackFeatures.some((f) => !have.has(f))) return false;
    }
    const r = record as Partial<RepoDataRecord>;
    if (this.fn !== undefined && r.fn !== this.fn) return false;
    if (this.url !== undefined && (r.url === undefined || normaliseChannelUrl(r.url) !== normaliseChannelUrl(this.url))) return false;
    if (this.channel !== undefined && !channelMatches(this.channel, r.channel)) return false;
    return true;
  }

  /** Canonical text (re-parses to an equal spec): `conda-forge/linux-64::python >=3.9,<3.10 *_cpython[md5="..."]`. */
  toString(): string {
    if (this._key !== undefined) return this._key;
    let s = '';
    const subdirInPrefix = this.channel !== undefined && this.subdir !== undefined;
    if (this.channel !== undefined) s += `${this.channel}${subdirInPrefix ? `/${this.subdir}` : ''}::`;
    if (this.namespace !== undefined) s += `${this.namespace}:`;
    s += this.name;
    const br: string[] = [];
    const vtext = this.version?.toString();
    const versionInline = vtext === undefined || POSITIONAL_VERSION.test(vtext);
    const buildInline = this.build !== undefined && versionInline && POSITIONAL_BUILD.test(this.build);
    if (vtext !== undefined && versionInline) s += ` ${vtext}`;
    else if (buildInline) s += ' *';
    if (buildInline) s += ` ${this.build}`;
    if (vtext !== undefined && !versionInline) br.push(`version=${quoteValue(vtext)}`);
    if (this.build !== undefined && !buildInline) br.push(`build=${quoteValue(this.build)}`);
    if (this.buildNumber !== undefined) br.push(`build_number=${quoteValue(this.buildNumber.toString())}`);
    if (this.subdir !== undefined && !subdirInPrefix) br.push(`subdir=${quoteValue(this.subdir)}`);
    if (this.md5 !== undefined) br.push(`md5=${quoteValue(this.md5)}`);
    if (this.sha256 !== undefined) br.push(`sha256=${quoteValue(this.sha256)}`);
    if (this.fn !== undefined) br.push(`fn=${quoteValue(this.fn)}`);
    if (this.url !== undefined) br.push(`url=${quoteValue(this.url)}`);
    if (this.license !== undefined) br.push(`license=${quoteValue(this.license)}`);
    if (this.licenseFamily !== undefined) br.push(`license_family=${quoteValue(this.licenseFamily)}`);
    if (this.trackFeatures !== undefined) br.push(`track_features=${quoteValue(this.trackFeatures.join(' '))}`);
    if (br.length > 0) s += `[${br.join(', ')}]`;
    this._key = s;
    return s;
  }

  /** A cheap interning key: equal keys mean equal specs (the canonical string). */
  get key(): string {
    return this.toString();
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: MatchSpec): boolean {
    return this.key === other.key;
  }

  /** A copy with some fields replaced (`undefined` values clear a field). */
  with(fields: Partial<MatchSpecFields>): MatchSpec {
    return new MatchSpec({ ...this.fields(), ...fields });
  }

  /** The plain fields of this spec. */
  fields(): MatchSpecFields {
    return {
      name: this.name,
      version: this.version,
      build: this.build,
      buildNumber: this.buildNumber,
      channel: this.channel,
      subdir: this.subdir,
      namespace: this.namespace,
      md5: this.md5,
      sha256: this.sha256,
      fn: this.fn,
      url: this.url,
      license: this.license,
      licenseFamily: this.licenseFamily,
      trackFeatures: this.trackFeatures,
    };
  }
}

export const parseMatchSpec = MatchSpec.parse;
