/**
 * Conda platforms (target subdirs) and the `noarch` subdir.
 *
 * A *platform* is something we can lock and install for (`linux-64`, `osx-arm64`, ...).
 * A *subdir* is a folder of a channel: every platform plus `noarch`, which holds packages usable on
 * every platform but is never a lock target on its own.
 */
import { UsageError } from '../errors.js';

/** Every platform conda-go-lock can lock for, in a stable order (used for sorting and messages). */
export const KNOWN_PLATFORMS = [
  'linux-64',
  'linux-aarch64',
  'linux-ppc64le',
  'osx-64',
  'osx-arm64',
  'win-64',
  'win-arm64',
] as const;

export type Platform = (typeof KNOWN_PLATFORMS)[number];

/** The platform-independent subdir of a channel. */
export const NOARCH = 'noarch' as const;

/** A channel subdir: a platform or `noarch`. */
export type Subdir = Platform | typeof NOARCH;

/** Every subdir, `noarch` last. */
export const KNOWN_SUBDIRS: readonly Subdir[] = [...KNOWN_PLATFORMS, NOARCH];

/**
 * Every subdir conda itself knows (a superset of the lockable ones): recognised at the end of a
 * channel, `conda-forge/linux-64::python` or `https://host/chan/win-32`, even where we cannot lock.
 */
export const CONDA_SUBDIRS: ReadonlySet<string> = new Set([
  NOARCH,
  ...KNOWN_PLATFORMS,
  'linux-32',
  'linux-armv6l',
  'linux-armv7l',
  'linux-ppc64',
  'linux-riscv64',
  'linux-s390x',
  'win-32',
  'emscripten-wasm32',
  'wasi-wasm32',
  'zos-z',
]);

/** Whether conda knows `s` as a subdir (see CONDA_SUBDIRS). */
export function isCondaSubdir(s: string): boolean {
  return CONDA_SUBDIRS.has(s);
}

export type PlatformOs = 'linux' | 'osx' | 'win';

/**
 * Machine architecture of a platform. `arm64` is Apple's / Microsoft's name for 64-bit ARM and is
 * what conda uses for `osx-arm64` and `win-arm64`; Linux calls the same ISA `aarch64`.
 */
export type PlatformArch = 'x86_64' | 'aarch64' | 'arm64' | 'ppc64le';

const INFO: Record<Platform, { os: PlatformOs; arch: PlatformArch }> = {
  'linux-64': { os: 'linux', arch: 'x86_64' },
  'linux-aarch64': { os: 'linux', arch: 'aarch64' },
  'linux-ppc64le': { os: 'linux', arch: 'ppc64le' },
  'osx-64': { os: 'osx', arch: 'x86_64' },
  'osx-arm64': { os: 'osx', arch: 'arm64' },
  'win-64': { os: 'win', arch: 'x86_64' },
  'win-arm64': { os: 'win', arch: 'arm64' },
};

/** Names people commonly type for a platform, mapped to conda's spelling (used for "did you mean"). */
const ALIASES: Record<string, Platform> = {
  'linux-x86_64': 'linux-64',
  'linux-amd64': 'linux-64',
  'linux-x64': 'linux-64',
  'linux-arm64': 'linux-aarch64',
  'linux-ppc64': 'linux-ppc64le',
  'osx-x86_64': 'osx-64',
  'osx-amd64': 'osx-64',
  'osx-aarch64': 'osx-arm64',
  'macos-64': 'osx-64',
  'macos-arm64': 'osx-arm64',
  'darwin-64': 'osx-64',
  'darwin-amd64': 'osx-64',
  'darwin-arm64': 'osx-arm64',
  'win-x86_64': 'win-64',
  'win-amd64': 'win-64',
  'windows-64': 'win-64',
  'windows-amd64': 'win-64',
  'win-aarch64': 'win-arm64',
  'windows-arm64': 'win-arm64',
};

export function isPlatform(s: string): s is Platform {
  return (KNOWN_PLATFORMS as readonly string[]).includes(s);
}

export function isSubdir(s: string): s is Subdir {
  return s === NOARCH || isPlatform(s);
}

/** The platform a commonly-typed name stands for (`linux-arm64` → `linux-aarch64`), or undefined. */
export function suggestPlatform(s: string): Platform | undefined {
  const key = s.trim().toLowerCase();
  if (isPlatform(key)) return key;
  return ALIASES[key];
}

/**
 * Parse a target platform name. Throws `UsageError` naming the valid values; `noarch` is rejected
 * with its own explanation because it is a subdir, not something to lock for.
 *
 * @param what how to call the value in the message (e.g. `--platform`, `platforms[2]`)
 */
export function parsePlatform(s: string, what = 'platform'): Platform {
  const trimmed = s.trim();
  if (isPlatform(trimmed)) return trimmed;
  const lower = trimmed.toLowerCase();
  if (isPlatform(lower)) return lower;
  const valid = KNOWN_PLATFORMS.join(', ');
  if (lower === NOARCH) {
    throw new UsageError(
      `${what} 'noarch' is a channel subdir, not a platform to lock for; noarch packages are included for every platform automatically. Valid platforms: ${valid}`,
    );
  }
  const alias = ALIASES[lower];
  const hint = alias ? ` (did you mean '${alias}'?)` : '';
  throw new UsageError(`unknown ${what} '${s}'${hint}. Valid platforms: ${valid}`);
}

/** Parse a channel subdir name (a platform or `noarch`). Throws `UsageError`. */
export function parseSubdir(s: string): Subdir {
  const lower = s.trim().toLowerCase();
  if (isSubdir(lower)) return lower;
  throw new UsageError(`unknown subdir '${s}'. Valid subdirs: ${KNOWN_SUBDIRS.join(', ')}`);
}

/**
 * Parse a list of platforms (CLI `--platform a --platform b` or `a,b`), dropping duplicates and
 * returning them in `KNOWN_PLATFORMS` order so the result does not depend on how the user wrote it.
 */
export function parsePlatforms(values: Iterable<string>, what = 'platform'): Platform[] {
  const seen = new Set<Platform>();
  for (const v of values) {
    for (const part of v.split(',')) {
      if (part.trim() === '') continue;
      seen.add(parsePlatform(part, what));
    }
  }
  return sortPlatforms(seen);
}

/** Sort platforms into `KNOWN_PLATFORMS` order (stable, deterministic output). */
export function sortPlatforms(platforms: Iterable<Platform>): Platform[] {
  return [...new Set(platforms)].sort((a, b) => KNOWN_PLATFORMS.indexOf(a) - KNOWN_PLATFORMS.indexOf(b));
}

export function platformOs(p: Platform): PlatformOs {
  return INFO[p].os;
}

export function platformArch(p: Platform): PlatformArch {
  return INFO[p].arch;
}

export function isWindows(p: Platform): boolean {
  return INFO[p].os === 'win';
}

export function isLinux(p: Platform): boolean {
  return INFO[p].os === 'linux';
}

export function isOsx(p: Platform): boolean {
  return INFO[p].os === 'osx';
}

/** Unix-like (linux and osx): gets the `__unix` virtual package, shell activation scripts, symlinks. */
export function isUnix(p: Platform): boolean {
  return INFO[p].os !== 'win';
}

/**
 * The conda platform of the machine we run on, from Node's `process.platform` / `process.arch`
 * (parameters exist for tests). Throws `UsageError` on a combination conda-forge does not build for,
 * telling the user to pass `--platform` explicitly.
 */
export function hostPlatform(
  nodePlatform: string = process.platform,
  nodeArch: string = process.arch,
): Platform {
  const os: PlatformOs | undefined =
    nodePlatform === 'linux' ? 'linux' : nodePlatform === 'darwin' ? 'osx' : nodePlatform === 'win32' ? 'win' : undefined;
  let suffix: string | undefined;
  switch (nodeArch) {
    case 'x64':
      suffix = '64';
      break;
    case 'arm64':
      suffix = os === 'linux' ? 'aarch64' : 'arm64';
      break;
    case 'ppc64':
      // Node reports little-endian POWER as 'ppc64' (os.endianness() tells them apart); conda only has ppc64le.
      suffix = os === 'linux' ? 'ppc64le' : undefined;
      break;
    default:
      suffix = undefined;
  }
  const candidate = os && suffix ? `${os}-${suffix}` : undefined;
  if (candidate && isPlatform(candidate)) return candidate;
  throw new UsageError(
    `cannot map this machine (${nodePlatform}/${nodeArch}) to a conda platform; pass --platform with one of: ${KNOWN_PLATFORMS.join(', ')}`,
  );
}
