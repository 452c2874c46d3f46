/**
 * Canonical form of a Lockfile: fixed key order, sorted lists, optional fields dropped when unset.
 *
 * The writer serialises the canonical form, so the same lock always produces the same bytes
 * whatever order the solver or resolver returned things in.
 */
import type {
  LockfileChannel,
  LockedCondaPackage,
  LockedGoToolchain,
  Lockfile,
  LockfileGoInput,
  LockfileMetadata,
  LockfilePypiInput,
  LockedPypiPackage,
} from './model.js';

/** Plain code-unit comparison: locale-independent, total. */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Field order of a conda package block, as in model.ts. */
export const PACKAGE_KEYS = [
  'platform',
  'name',
  'version',
  'build',
  'build_number',
  'subdir',
  'channel',
  'url',
  'fn',
  'md5',
  'sha256',
  'size',
  'depends',
  'constrains',
  'noarch',
  'timestamp',
  'license',
  'license_family',
  'features',
  'track_features',
  'sha256_computed',
  'categories',
] as const satisfies ReadonlyArray<keyof LockedCondaPackage>;

export const GO_KEYS = [
  'platform',
  'version',
  'os',
  'arch',
  'filename',
  'url',
  'sha256',
  'size',
] as const satisfies ReadonlyArray<keyof LockedGoToolchain>;

export const METADATA_KEYS = [
  'tool_version',
  'platforms',
  'channels',
  'sources',
  'content_hash',
  'specs',
  'virtual_packages',
  'channel_priority',
  'go',
  'pypi',
  'categories',
] as const satisfies ReadonlyArray<keyof LockfileMetadata>;

export const PYPI_KEYS = [
  'platform',
  'name',
  'version',
  'filename',
  'url',
  'sha256',
  'size',
  'requires_python',
  'requires_dist',
  'requested_by',
  'index',
  'categories',
] as const satisfies ReadonlyArray<keyof LockedPypiPackage>;

export const PYPI_INPUT_KEYS = [
  'requirements',
  'index_url',
  'extra_index_urls',
  'index_templates',
  'mapping',
] as const satisfies ReadonlyArray<keyof LockfilePypiInput>;

export const CHANNEL_KEYS = ['url', 'used_env_vars', 'url_template'] as const satisfies ReadonlyArray<keyof LockfileChannel>;

export const GO_INPUT_KEYS = ['spec', 'source', 'releases_url', 'download_base_url', 'cgo'] as const satisfies ReadonlyArray<keyof LockfileGoInput>;

export function comparePackages(a: LockedCondaPackage, b: LockedCondaPackage): number {
  return (
    cmpStr(a.platform, b.platform) ||
    cmpStr(a.name, b.name) ||
    cmpStr(a.version, b.version) ||
    cmpStr(a.build, b.build) ||
    cmpStr(a.subdir, b.subdir) ||
    cmpStr(a.url, b.url)
  );
}

export function comparePypi(a: LockedPypiPackage, b: LockedPypiPackage): number {
  return cmpStr(a.platform, b.platform) || cmpStr(a.name, b.name) || cmpStr(a.filename, b.filename);
}

export function normalisePypi(p: LockedPypiPackage): LockedPypiPackage {
  const out = pick(p, PYPI_KEYS);
  out.requires_dist = [...p.requires_dist].sort(cmpStr);
  out.requested_by = [...new Set(p.requested_by)].sort(cmpStr);
  if (p.categories) out.categories = [...new Set(p.categories)].sort(cmpStr);
  return out;
}

export function compareGo(a: LockedGoToolchain, b: LockedGoToolchain): number {
  return cmpStr(a.platform, b.platform) || cmpStr(a.version, b.version) || cmpStr(a.filename, b.filename);
}

function pick<T extends object>(obj: T, keys: ReadonlyArray<keyof T>): T {
  const out: Partial<T> = {};
  for (const k of keys) {
    const v = obj[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

function sortedRecord<V>(rec: Record<string, V>, mapValue: (v: V) => V = (v) => v): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(rec).sort(cmpStr)) out[k] = mapValue(rec[k]!);
  return out;
}

export function normalisePackage(p: LockedCondaPackage): LockedCondaPackage {
  const out = pick(p, PACKAGE_KEYS);
  out.depends = [...p.depends].sort(cmpStr);
  out.constrains = [...p.constrains].sort(cmpStr);
  // `[main]` is the default: written only when it says more, so lockfiles without categories keep their bytes.
  if (p.categories) {
    const cats = [...new Set(p.categories)].sort(cmpStr);
    if (cats.length === 1 && cats[0] === 'main') delete out.categories;
    else out.categories = cats;
  }
  return out;
}

export function normaliseGo(g: LockedGoToolchain): LockedGoToolchain {
  return pick(g, GO_KEYS);
}

export function normaliseMetadata(m: LockfileMetadata): LockfileMetadata {
  const out = pick(m, METADATA_KEYS);
  out.platforms = [...m.platforms].sort(cmpStr);
  // Channel order is priority order and spec order is the user's: both are kept as given.
  out.channels = m.channels.map((c) => {
    const ch = pick(c, CHANNEL_KEYS);
    if (ch.used_env_vars) ch.used_env_vars = [...new Set(ch.used_env_vars)].sort(cmpStr);
    return ch;
  });
  out.sources = [...m.sources];
  out.specs = [...m.specs];
  out.content_hash = sortedRecord(m.content_hash);
  out.virtual_packages = sortedRecord(m.virtual_packages, (v) => [...v].sort(cmpStr));
  if (m.go) out.go = pick(m.go, GO_INPUT_KEYS);
  if (m.pypi) {
    const py = pick(m.pypi, PYPI_INPUT_KEYS);
    // Requirement and index order is the user's (index order is search order): kept as given.
    py.requirements = [...m.pypi.requirements];
    py.extra_index_urls = [...m.pypi.extra_index_urls];
    if (m.pypi.index_templates) {
      py.index_templates = m.pypi.index_templates.map((c) => {
        const ch = pick(c, CHANNEL_KEYS);
        if (ch.used_env_vars) ch.used_env_vars = [...new Set(ch.used_env_vars)].sort(cmpStr);
        return ch;
      });
    }
    out.pypi = py;
  }
  if (m.categories) {
    const cats = sortedRecord(m.categories, (v) => [...v]);
    delete cats.main;
    if (Object.keys(cats).length) out.categories = cats;
    else delete out.categories;
  }
  return out;
}

/** The canonical form: what `serializeLockfile` writes and `parseLockfile(serializeLockfile(x))` returns. */
export function normaliseLockfile(lf: Lockfile): Lockfile {
  const out: Lockfile = {
    version: lf.version,
    metadata: normaliseMetadata(lf.metadata),
    packages: lf.packages.map(normalisePackage).sort(comparePackages),
    go: lf.go.map(normaliseGo).sort(compareGo),
  };
  // Only written when there is a pip: section, so lockfiles without one keep their bytes.
  if (lf.pypi && (lf.pypi.length > 0 || lf.metadata.pypi)) out.pypi = lf.pypi.map(normalisePypi).sort(comparePypi);
  return out;
}
