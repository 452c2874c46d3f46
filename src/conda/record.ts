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
