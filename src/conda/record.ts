/**
 * Package records as they appear in repodata (after normalisation by src/repodata).
 */

export type NoArchKind = 'python' | 'generic';

/** One package build, as listed in a channel subdir's repodata. */
export interface PackageRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  /** Subdir the record was listed in (linux-64, noarch, ...). */
  subdir: string;
  depends: string[];
  constrains: string[];
  noarch?: NoArchKind;
  md5?: string;
  sha256?: string;
  size?: number;
  /** Milliseconds since the epoch (repodata values in seconds are normalised to ms). */
  timestamp?: number;
  /** Space/comma separated, as in repodata. */
  track_features?: string;
  features?: string;
  license?: string;
  license_family?: string;
  /** Python version of a noarch: python "python_site_packages_path" (CEP-17) when present. */
  python_site_packages_path?: string;
}

/** A record together with where it lives. */
export interface RepoDataRecord extends PackageRecord {
  /** File name: name-version-build.conda or .tar.bz2 */
  fn: string;
  /** Full download URL (may contain a token; never log it without redaction). */
  url: string;
  /** Channel the record came from, as its canonical URL without token, e.g. https://conda.anaconda.org/conda-forge */
  channel: string;
}

/** `name-version-build`, the conda "dist" string. */
export function distName(r: Pick<PackageRecord, 'name' | 'version' | 'build'>): string {
  return `${r.name}-${r.version}-${r.build}`;
}

/** Normalise a repodata timestamp: values below 1e11 are seconds, otherwise milliseconds. */
export function normaliseTimestamp(ts: number | undefined): number | undefined {
  if (ts === undefined || ts === null || !Number.isFinite(ts)) return undefined;
  return ts < 1e11 ? Math.round(ts * 1000) : Math.round(ts);
}

/** Split a track_features / features string into its feature names. */
export function featureList(s: string | undefined): string[] {
  if (!s) return [];
  return s.split(/[\s,]+/).filter(Boolean);
}

/*
 * Which strings may be a record's name, version, build, subdir and file name.
 *
 * These strings become file names (`conda-meta/<name>-<version>-<build>.json`, `pkgs/<sha256>/<fn>`),
 * so a record from a hostile channel or lockfile could otherwise point them anywhere
 * (`build: 'h0/../../../tmp/x/victim'`). The character sets follow conda and rattler: package names are
 * letters, digits and `_ . + -` (rattler's PackageName; conda-build refuses anything else), versions
 * are conda's version alphabet (letters, digits, `_ . + ! *`; `-` is read as `_` by conda), build
 * strings letters, digits and `_ . +`. None of them may hold path separators, control characters,
 * or be `.`/`..`.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const VERSION_RE = /^[A-Za-z0-9_.+!*-]+$/;
const BUILD_RE = /^[A-Za-z0-9_.+-]*$/;
const SUBDIR_RE = /^[a-z0-9][a-z0-9_-]*$/;
const FN_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+!*-]*\.(conda|tar\.bz2)$/;
/** Longest accepted field: real ones are far shorter; a path component is limited to 255 bytes. */
const MAX_FIELD = 200;

export type RecordField = 'name' | 'version' | 'build' | 'subdir' | 'fn';
const RULES: Record<RecordField, RegExp> = { name: NAME_RE, version: VERSION_RE, build: BUILD_RE, subdir: SUBDIR_RE, fn: FN_RE };

/** Why a record's name/version/build/subdir/fn is unsafe, or undefined when all are acceptable. */
export function unsafeRecordField(
  r: { name?: unknown; version?: unknown; build?: unknown; subdir?: unknown; fn?: unknown },
  fields: readonly RecordField[] = ['name', 'version', 'build', 'subdir', 'fn'],
): string | undefined {
  for (const f of fields) {
    const v = r[f];
    if ((v === undefined && f === 'fn') || (v === '' && f === 'subdir')) continue;
    if (typeof v !== 'string') return `${f} is not a string`;
    if (v.length > MAX_FIELD) return `${f} is longer than ${MAX_FIELD} characters`;
    if (!RULES[f].test(v) || v === '.' || v === '..') {
      return `${f} ${JSON.stringify(v)} has characters conda does not allow there (path separators, '..', spaces or control characters)`;
    }
  }
  return undefined;
}
