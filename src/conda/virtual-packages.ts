/**
 * Virtual packages: the `__name` records a solver sees as already installed, standing for properties
 * of the target machine (OS, C library, CPU, CUDA driver). We lock for machines we are not running on,
 * so the defaults are fixed per platform (documented in docs/virtual-packages.md) and can be
 * overridden from the environment file, a conda-lock style spec file or the CLI.
 */
import { UsageError } from '../errors.js';
import { KNOWN_PLATFORMS, platformArch, platformOs, type Platform, type PlatformOs } from './platform.js';
import type { PackageRecord } from './record.js';
import { Version } from './version.js';

/** One change to the default set. */
export interface VirtualPackageOverride {
  /** Must start with `__`. */
  name: string;
  /** New version; ignored when `remove` is set. */
  version?: string;
  /** New build string (e.g. the microarchitecture of `__archspec`). Default: keep the default's, else '0'. */
  build?: string;
  /** Drop the package (written `__cuda=` on the CLI, `__cuda: null` / `""` in YAML). */
  remove?: boolean;
  /**
   * Platforms the override applies to. Undefined: every platform the package makes sense on
   * (see `VIRTUAL_PACKAGE_OS`), so `__glibc=2.17` changes linux platforms only.
   */
  platforms?: Platform[];
}

/** Defaults that are not platform-derived (`__archspec`'s build is the platform's arch). */
export const DEFAULT_LINUX_VERSION = '5.10';
export const DEFAULT_GLIBC_VERSION = '2.28';
export const DEFAULT_OSX_VERSION: Readonly<Record<'osx-64' | 'osx-arm64', string>> = {
  'osx-64': '10.15',
  'osx-arm64': '11.0',
};

/**
 * Which operating systems a well-known virtual package exists on. An override without explicit
 * platforms applies to these only; unknown `__names` apply everywhere.
 */
export const VIRTUAL_PACKAGE_OS: Readonly<Record<string, readonly PlatformOs[]>> = {
  __unix: ['linux', 'osx'],
  __linux: ['linux'],
  __glibc: ['linux'],
  __osx: ['osx'],
  __win: ['win'],
  __cuda: ['linux', 'win'],
  __archspec: ['linux', 'osx', 'win'],
};

export function isVirtualPackageName(name: string): boolean {
  return /^__[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);
}

/** A plain installed version (no operators or wildcards); must also parse as a conda `Version`. */
const VERSION_RE = /^(\d+!)?[A-Za-z0-9_]+([.+_][A-Za-z0-9_]+)*$/;
const BUILD_RE = /^[A-Za-z0-9_.+]+$/;

function record(name: string, version: string, build: string, platform: Platform): PackageRecord {
  return { name, version, build, build_number: 0, subdir: platform, depends: [], constrains: [] };
}

function archspecBuild(platform: Platform): string {
  // What conda reports for a generic CPU of that family: `x86_64`, `aarch64`, `ppc64le`, and `arm64`
  // on Apple silicon / Windows on ARM.
  return platformArch(platform);
}

/** Whether an override (with or without explicit platforms) applies to `platform`. */
export function overrideApplies(o: VirtualPackageOverride, platform: Platform): boolean {
  if (o.platforms) return o.platforms.includes(platform);
  const oses = VIRTUAL_PACKAGE_OS[o.name];
  return oses === undefined || oses.includes(platformOs(platform));
}

/**
 * The virtual packages assumed for `platform`, sorted by name, after applying `overrides` in order
 * (later overrides win). Every record has `build_number: 0`, `subdir: platform`, no dependencies.
 */
export function defaultVirtualPackages(
  platform: Platform,
  overrides: readonly VirtualPackageOverride[] = [],
): PackageRecord[] {
  const byName = new Map<string, PackageRecord>();
  const add = (name: string, version: string, build = '0'): void => {
    byName.set(name, record(name, version, build, platform));
  };
  switch (platformOs(platform)) {
    case 'linux':
      add('__unix', '0');
      add('__linux', DEFAULT_LINUX_VERSION);
      add('__glibc', DEFAULT_GLIBC_VERSION);
      break;
    case 'osx':
      add('__unix', '0');
      add('__osx', DEFAULT_OSX_VERSION[platform as 'osx-64' | 'osx-arm64']);
      break;
    case 'win':
      add('__win', '0');
      break;
  }
  add('__archspec', '1', archspecBuild(platform));

  for (const o of overrides) {
    if (!overrideApplies(o, platform)) continue;
    if (o.remove) {
      byName.delete(o.name);
      continue;
    }
    const existing = byName.get(o.name);
    const version = o.version ?? existing?.version;
    if (version === undefined) {
      // A build-only override of a package that is not there: nothing to build it on.
      throw new UsageError(`virtual package ${o.name} is not defined for ${platform}; give a version (${o.name}=<version>)`);
    }
    add(o.name, version, o.build ?? existing?.build ?? '0');
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Virtual packages for several platforms at once. */
export function virtualPackagesByPlatform(
  platforms: readonly Platform[] = KNOWN_PLATFORMS,
  overrides: readonly VirtualPackageOverride[] = [],
): Map<Platform, PackageRecord[]> {
  return new Map(platforms.map((p) => [p, defaultVirtualPackages(p, overrides)]));
}

/**
 * Validate one override's fields. Returns an error text (without location), or undefined when fine.
 * Shared by the CLI parser below and the environment-file / spec-file readers in src/spec.
 */
export function checkOverride(o: VirtualPackageOverride): string | undefined {
  if (!isVirtualPackageName(o.name)) {
    return `'${o.name}' is not a virtual package name (virtual packages start with '__', e.g. __glibc)`;
  }
  if (o.remove) return undefined;
  if (o.version !== undefined && (!VERSION_RE.test(o.version) || Version.tryParse(o.version) === undefined)) {
    return `'${o.version}' is not a valid version for ${o.name}`;
  }
  if (o.build !== undefined && !BUILD_RE.test(o.build)) {
    return `'${o.build}' is not a valid build string for ${o.name}`;
  }
  return undefined;
}

/**
 * Split a value as written in a virtual-packages mapping: `"2.17"`, `"1 x86_64_v2"` (version and
 * build, conda-lock's form) or `"1=x86_64_v2"`. Empty / null removes the package.
 */
export function overrideFromValue(name: string, value: string | null | undefined): VirtualPackageOverride {
  const v = (value ?? '').trim();
  if (v === '') return { name, remove: true };
  // Operators mean the user wrote a constraint, not an installed version: keep it whole so
  // checkOverride names it ("'>=2.17' is not a valid version").
  if (/[<>!~*|,]/.test(v)) return { name, version: v };
  const parts = v.split(/\s+|=/).filter(Boolean);
  if (parts.length === 1) return { name, version: parts[0] };
  if (parts.length === 2) return { name, version: parts[0], build: parts[1] };
  return { name, version: v }; // rejected by checkOverride
}

/**
 * Parse CLI overrides: comma-separated `name=version[=build]` items, `name=` removes the package,
 * an item may be prefixed by `platform:` to restrict it (`linux-aarch64:__glibc=2.17`).
 * Several strings (repeated flags) are concatenated. Throws `UsageError` naming the bad item.
 *
 *   `__glibc=2.17,__osx=12.0,__cuda=12.2`  `__archspec=1=x86_64_v3`  `__cuda=`
 */
export function parseVirtualPackageOverrides(
  input: string | readonly string[],
  what = '--virtual-package',
): VirtualPackageOverride[] {
  const out: VirtualPackageOverride[] = [];
  for (const chunk of typeof input === 'string' ? [input] : input) {
    for (const rawItem of chunk.split(',')) {
      const item = rawItem.trim();
      if (item === '') continue;
      let platforms: Platform[] | undefined;
      let rest = item;
      const colon = item.indexOf(':');
      if (colon > 0 && !item.startsWith('__')) {
        const plat = item.slice(0, colon);
        if (!(KNOWN_PLATFORMS as readonly string[]).includes(plat)) {
          throw new UsageError(`${what}: unknown platform '${plat}' in '${item}'. Valid platforms: ${KNOWN_PLATFORMS.join(', ')}`);
        }
        platforms = [plat as Platform];
        rest = item.slice(colon + 1);
      }
      const eq = rest.indexOf('=');
      if (eq < 0) {
        throw new UsageError(`${what}: '${item}' must be name=version (e.g. __glibc=2.17), or name= to remove it`);
      }
      const name = rest.slice(0, eq).trim();
      const value = rest.slice(eq + 1).trim();
      const o = overrideFromValue(name, value);
      if (value.split('=').length > 2) {
        throw new UsageError(`${what}: '${item}' has too many '=' (use name=version or name=version=build)`);
      }
      const problem = checkOverride(o);
      if (problem) throw new UsageError(`${what}: ${problem} (in '${item}')`);
      if (platforms) o.platforms = platforms;
      out.push(o);
    }
  }
  return out;
}

/** `name=version=build,...` (the CLI override syntax), e.g. for messages and `--explain` output. */
export function formatVirtualPackages(records: readonly PackageRecord[]): string {
  return records.map((r) => `${r.name}=${r.version}=${r.build}`).join(',');
}
